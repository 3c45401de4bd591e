# Copyright (c) mmamr contributors. All rights reserved.
"""Two attacks compared sample by sample, from the ``per_sample`` record
of a ``robustness.json`` (:mod:`mmamr.evaluation.robustness`).

A robust accuracy is a count; whether one attack is at least as strong as
another is a statement about samples: every sample the stronger attack
leaves correctly classified, the weaker one leaves correct too. AutoAttack
must satisfy it against each of its parts run alone with the same seeds
(each stage sees a sample as the part alone does); APGD-CE need not
against PGD sample by sample, only in the count.
"""
from typing import Dict, List

import numpy as np

from .robustness import COLUMNS

# AutoAttack's stages as tools/test.py names them when run alone, by the
# prefix of their result name (APGD-CE100, APGD-T100, Square5000).
AUTOATTACK_PARTS = ('APGD-CE', 'APGD-T', 'Square')


def hits(results: dict, attack: str, target: str) -> np.ndarray:
    """``[N]`` bool: the top-1 hits of ``attack`` on ``target``
    (``attack='clean'`` for the clean input, target ignored).

    Raises:
        KeyError: The file has no per-sample record of that attack and
            target (written before the record existed, or not run).
    """
    record = results.get('per_sample')
    if record is None:
        raise KeyError(f'{results.get("name")!r}: the result file has no '
                       'per_sample record (written by an older mmamr?).')
    if attack == 'clean':
        bits = record['clean']
    else:
        try:
            bits = record['attacks'][attack][target]
        except KeyError:
            raise KeyError(f'{results.get("name")!r}: no per-sample hits '
                           f'of {attack}/{target}; the file has '
                           f'{sorted(record["attacks"])}.') from None
    return np.frombuffer(bits.encode('ascii'), dtype=np.uint8) == ord('1')


def not_weaker_violations(results: dict, strong: str,
                          weak: str) -> Dict[str, List[str]]:
    """Per target both attacks ran: the samples ``strong`` leaves correct
    although ``weak`` fooled them (none when ``strong`` is at least as
    strong as ``weak`` sample by sample)."""
    record = results['per_sample']
    names = record['samples']
    violations = dict()
    for target in COLUMNS:
        if not all(target in record['attacks'].get(a, {})
                   for a in (strong, weak)):
            continue
        bad = hits(results, strong, target) & ~hits(results, weak, target)
        violations[target] = [
            str(names[i]) if names[i] is not None else str(i)
            for i in np.flatnonzero(bad)
        ]
    return violations


def autoattack_parts(results: dict) -> List[str]:
    """The attacks of the file that are parts of AutoAttack's cascade run
    alone (by name: APGD-CE…, APGD-T…, Square…)."""
    return [a for a in results['attacks'] if a.startswith(AUTOATTACK_PARTS)]
