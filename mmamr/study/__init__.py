# Copyright (c) mmamr contributors. All rights reserved.
"""Studies: train several models and evaluate them under the same attacks
with the project's own tools, resumably, and tabulate them (quickstart,
benchmark suite)."""
from .study_report import (markdown_tables, merged_results, summary_numbers,
                           table_rows)
from .study_run import StudyRun, build_exfmem, evaluate, train
from .tool_process import ToolError, run_tool

__all__ = [
    'StudyRun', 'train', 'build_exfmem', 'evaluate', 'run_tool', 'ToolError',
    'table_rows', 'merged_results', 'markdown_tables', 'summary_numbers'
]
