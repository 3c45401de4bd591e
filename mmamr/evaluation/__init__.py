# Copyright (c) mmamr contributors. All rights reserved.
from .robustness import (COLUMNS, add_relative_improvement, average,
                         dump_results, load_results, markdown_report,
                         markdown_table, relative_improvement, summarize)
from .robustness_metric import RobustnessMetric

__all__ = [
    'COLUMNS', 'RobustnessMetric', 'add_relative_improvement', 'average',
    'dump_results', 'load_results', 'markdown_report', 'markdown_table',
    'relative_improvement', 'summarize'
]
