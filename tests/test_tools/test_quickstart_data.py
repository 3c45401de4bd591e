# Copyright (c) mmamr contributors. All rights reserved.
"""The quickstart's data step (``tools/quickstart.py``) on a rerun: a
finished conversion is skipped, neither redone nor refused as an
overwrite; a pickle of other samples is replaced. And its row order."""
import importlib.util

import mmengine
from conftest import ROOT


def load_quickstart():
    spec = importlib.util.spec_from_file_location(
        'quickstart', ROOT / 'tools' / 'quickstart.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_finished_conversion_is_skipped_an_outdated_one_redone(
        tmp_path, monkeypatch):
    quickstart = load_quickstart()
    real, calls = quickstart.convert_ntu, []
    monkeypatch.setattr(quickstart, 'convert_ntu',
                        lambda *a, **k: calls.append(a) or real(*a, **k))
    root = str(tmp_path / 'data')
    ann_file = quickstart.prepare_data(root, 0, 1, num_per_class=1)
    assert len(calls) == 1
    assert len(mmengine.load(ann_file)['annotations']) == 10
    assert quickstart.prepare_data(root, 0, 1, num_per_class=1) == ann_file
    assert len(calls) == 1  # finished: not converted again
    # A pickle of other samples than the raw folder's (an older dataset's)
    # is outdated and replaced.
    data = mmengine.load(ann_file)
    mmengine.dump(dict(data, annotations=data['annotations'][:3]), ann_file)
    quickstart.prepare_data(root, 0, 1, num_per_class=1)
    assert len(calls) == 2
    assert len(mmengine.load(ann_file)['annotations']) == 10


def test_a_data_folder_made_with_other_options_stops_with_advice(tmp_path):
    quickstart = load_quickstart()
    root = str(tmp_path / 'data')
    quickstart.prepare_data(root, 0, 1, num_per_class=1)
    try:
        quickstart.prepare_data(root, 1, 1, num_per_class=1)
    except SystemExit as stop:
        message = str(stop.code)
    else:
        raise AssertionError('a folder made with seed 0 was reused for 1')
    assert message.startswith('error: ') and root in message
    assert 'seed' in message and '--data-root' in message


def test_a_row_runs_after_the_row_whose_model_it_reuses():
    quickstart = load_quickstart()
    runs = quickstart.study_runs(4)
    assert quickstart.row_order(
        runs, ['minsim_exfmem']) == ['none', 'minsim', 'minsim_exfmem']
    assert quickstart.row_order(runs,
                                ['amr', 'none', 'amr']) == ['none', 'amr']
    assert quickstart.row_order(runs, ['minsim_exfmem', 'minsim']) == [
        'none', 'minsim', 'minsim_exfmem'
    ]
    assert quickstart.row_order(runs, ['exfmem']) == ['none', 'exfmem']
