# Copyright (c) mmamr contributors. All rights reserved.
"""Check that the strong attacks of a model's evaluations are as strong as
they must be, sample by sample.

Give the ``robustness.json`` files of one model on one test set (e.g. the
study's attacks and a ``--attack apgd-ce autoattack`` run); they are
merged (the later files' attacks after the first's) and checked:

- AutoAttack leaves correct no sample that one of its parts run alone
  (APGD-CE, APGD-T, Square, same seeds) fooled, for every target;
- APGD-CE's robust accuracy is at most PGD's, for every target (a count:
  two different algorithms need not agree sample by sample).

Exit status 1 when a check fails, with the samples or numbers::

    python tools/analysis/attack_strength.py \\
        work_dirs/quickstart/amr/robustness/robustness.json \\
        work_dirs/quickstart/amr/autoattack/robustness.json \\
        --out work_dirs/quickstart/amr/all_attacks.json
"""
import argparse
import sys
from typing import List

from mmamr.evaluation.per_sample import autoattack_parts, not_weaker_violations
from mmamr.evaluation.robustness import COLUMNS, HEADERS, dump_results
from mmamr.study import merged_results


def parse_args():
    parser = argparse.ArgumentParser(
        description='Per-sample strength checks of AutoAttack and APGD-CE')
    parser.add_argument(
        'results', nargs='+', help='robustness.json files of one model')
    parser.add_argument('--out', help='write the merged results here')
    return parser.parse_args()


def check(results: dict) -> List[str]:
    """The checks' report lines; a failed one starts with ``FAIL``."""
    lines = []
    attacks = results['attacks']
    if 'AutoAttack' in attacks:
        for part in autoattack_parts(results):
            for target, bad in not_weaker_violations(results, 'AutoAttack',
                                                     part).items():
                verdict = 'FAIL' if bad else 'ok'
                lines.append(f'{verdict}: AutoAttack >= {part} on '
                             f'{HEADERS[target]} sample by sample' +
                             (f' (violated by {bad})' if bad else ''))
    pgds = [a for a in attacks if a.startswith('PGD')]
    apgds = [a for a in attacks if a.startswith('APGD-CE')]
    for apgd in apgds:
        for pgd in pgds:
            for target in COLUMNS:
                if not all(target in attacks[a]['columns']
                           for a in (apgd, pgd)):
                    continue
                strong = attacks[apgd]['columns'][target]['top1']
                weak = attacks[pgd]['columns'][target]['top1']
                verdict = 'ok' if strong <= weak else 'FAIL'
                lines.append(f'{verdict}: {apgd} {strong:.2f} <= {pgd} '
                             f'{weak:.2f} on {HEADERS[target]}')
    return lines


def main():
    args = parse_args()
    results = merged_results(args.results)
    if args.out:
        dump_results(results, args.out)
    lines = check(results)
    if not lines:
        sys.exit('Nothing to check: the files hold no AutoAttack with a part '
                 'run alone, and no APGD-CE beside a PGD.')
    print('\n'.join(lines))
    if any(line.startswith('FAIL') for line in lines):
        sys.exit(1)


if __name__ == '__main__':
    main()
