# Copyright (c) mmamr contributors. All rights reserved.
"""run_tool: full output to the log, a few progress lines to the console,
a clear error with the last lines when the tool fails."""
import pytest

from mmamr.study.tool_process import ToolError, _epoch_end, run_tool

SCRIPT = """
import sys
for i in range(1, 4):
    print(f'x - INFO - Epoch(train)  [1][{{i}}/3]  loss: 1.0')
print('noise that only the log gets')
sys.exit({status})
"""


def write_tool(tmp_path, status):
    tool = tmp_path / 'tool.py'
    tool.write_text(SCRIPT.format(status=status))
    return tool


def test_log_gets_everything_console_gets_progress(tmp_path):
    log = tmp_path / 'logs' / 'tool.log'
    shown = []
    run_tool([write_tool(tmp_path, 0)],
             str(log),
             str(tmp_path),
             echo=shown.append)
    text = log.read_text()
    assert 'noise that only the log gets' in text
    assert text.count('Epoch(train)') == 3
    out = '\n'.join(shown)
    assert 'noise' not in out
    # The epoch's last iteration is always shown, without the log prefix.
    assert 'Epoch(train)  [1][3/3]' in out
    assert ' - INFO - Epoch' not in out


def test_failure_names_the_log_and_shows_its_tail(tmp_path):
    log = tmp_path / 'tool.log'
    with pytest.raises(ToolError, match='exited with 3') as err:
        run_tool([write_tool(tmp_path, 3)], str(log), str(tmp_path))
    assert str(log) in str(err.value)
    assert 'noise that only the log gets' in str(err.value)


def test_rerun_appends_to_the_log(tmp_path):
    log = tmp_path / 'tool.log'
    for _ in range(2):
        run_tool([write_tool(tmp_path, 0)], str(log), str(tmp_path))
    assert log.read_text().count('noise') == 2


@pytest.mark.parametrize('line,end', [
    ('Epoch(train)  [3][50/50]  lr: 1e-3', True),
    ('Epoch(train) [10][ 5/50]  lr: 1e-3', False),
    ('Epoch(train) garbled', False),
])
def test_epoch_end(line, end):
    assert _epoch_end(line) is end
