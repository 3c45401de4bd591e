# Copyright (c) mmamr contributors. All rights reserved.
"""The robustness metrics of the AMR paper and their result files.

Pure Python (no torch, no mmengine) so that analysis tools can reuse it.
Accuracies are percentages, as in the paper's tables.

Eq. 13-14 of the paper (after Tian & Xu, CVPR 2021)::

    Avg = (✗R + ✗S + ✗RS) / 3
    RI  = (✓RS_m + Avg_m) − (✓RS_n + Avg_n)

with ``m`` the evaluated model and ``n`` the baseline (the undefended
model "None"), both under the same attack. A model that is evaluated on
fewer columns (a unimodal model has only its own: ✗R for RGB-only) gets
``Avg`` over the columns it has, and ``RI`` against the baseline's
``Avg`` over *the same* columns, so that both sides face the same
threats; with all three columns this is exactly Eq. 13-14.

Result file (``robustness.json``, ``format`` = :data:`FORMAT`)::

    {"format": "mmamr.robustness/1",
     "name": "amr_i3d_hcn_ntu",          # the row name in tables
     "num_samples": 16487, "topk": [1, 5], "seed": 0,
     "modalities": ["rgb", "skeleton"],
     "clean": {"top1": 81.65, "top5": 96.0},
     "reliance": {"rgb": {"top1": 40.2, ...},       # −R
                  "skeleton": {"top1": 35.7, ...}} | null,  # −S
     "attacks": {
       "PGD20": {"config": {"type": "PGD", "steps": 20, ...},
                 "columns": {"rgb": {"top1": 68.54, ...},
                             "skeleton": {...}, "both": {...}},
                 "avg": {"top1": 71.82, ...},
                 "avg_columns": ["rgb", "skeleton", "both"],
                 "ri": {"top1": 60.69, ...} | null},
       ...},
     "baseline": {"file": "...", "name": "none"} | null,
     "per_sample": {"samples": ["S001C001P001R001A001", ...],
                    "clean": "1101...",
                    "attacks": {"PGD20": {"rgb": "1001...", ...}, ...}}
                   | null}

``columns`` holds only the evaluated targets (``rgb`` = ✗R,
``skeleton`` = ✗S, ``both`` = ✗RS).

``reliance`` is the modality-reliance diagnostic (no attack): the
accuracy with the input of one modality replaced by its dataset mean,
keyed by the modality replaced (``rgb`` = −R, ``skeleton`` = −S), the
other input clean. A model that ignores RGB has −R = ✓RS. It is measured
for models with both modalities only, and is ``null`` otherwise (also
when the run switched it off); files written before it existed lack the
key, which reads as ``null``.

``per_sample`` is the top-1 hit of every test sample (``'1'`` correct,
``'0'`` not; one character per sample, in ``samples``' order), clean and
per attack and target: what compares two attacks sample by sample
(:mod:`mmamr.evaluation.per_sample`). Files written before it existed
lack it (``null``).
"""
import json
import os.path as osp
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from mmamr.common import TARGETS, write_text_atomic

FORMAT = 'mmamr.robustness/1'
# Attack targets in the paper's column order: ✗R, ✗S, ✗RS.
COLUMNS = tuple(TARGETS)
HEADERS = dict(
    clean='✓RS', rgb='✗R', skeleton='✗S', both='✗RS', avg='Avg', ri='RI')
MISSING = '–'
# The modality-reliance columns: the modality replaced by its dataset
# mean, in the tables' order, and their headers.
RELIANCE = ('rgb', 'skeleton')
RELIANCE_HEADERS = dict(rgb='−R', skeleton='−S')
RELIANCE_NOTE = ('−R/−S: no attack, the RGB / skeleton input replaced by '
                 'its dataset mean (−R ≈ ✓RS: RGB is ignored).')

Accuracy = Dict[str, float]  # 'top1' -> percent


def average(columns: Mapping[str, float]) -> float:
    """Eq. 13: the mean of the robust accuracies of the given columns.

    Args:
        columns (Mapping[str, float]): Target (``rgb``, ``skeleton``,
            ``both``) -> robust accuracy. Usually all three.

    Returns:
        float: The mean.
    """
    if not columns:
        raise ValueError('Avg needs at least one robust-accuracy column.')
    unknown = sorted(set(columns) - set(COLUMNS))
    if unknown:
        raise ValueError(f'Unknown columns {unknown}; known: {COLUMNS}.')
    return sum(columns.values()) / len(columns)


def relative_improvement(clean: float, avg: float, base_clean: float,
                         base_avg: float) -> float:
    """Eq. 14: ``(✓RS_m + Avg_m) − (✓RS_n + Avg_n)``."""
    return (clean + avg) - (base_clean + base_avg)


def summarize(name: Optional[str],
              clean: Accuracy,
              columns: Mapping[str, Mapping[str, Accuracy]],
              configs: Mapping[str, dict],
              num_samples: int,
              topk: Sequence[int],
              seed: Optional[int] = None,
              modalities: Optional[Sequence[str]] = None,
              reliance: Optional[Mapping[str, Accuracy]] = None,
              per_sample: Optional[dict] = None) -> dict:
    """Assemble a result dict (the JSON schema above), without RI.

    Args:
        name (str, optional): Row name of the model in tables (None
            until known).
        clean (dict): ``'top1' -> %`` on clean inputs.
        columns (dict): ``attack name -> target -> 'top1' -> %``.
        configs (dict): ``attack name -> config`` (JSON-serialisable).
        num_samples (int): Number of evaluated samples.
        topk (sequence[int]): The ``k`` of the accuracies.
        seed (int, optional): Seed of the attacks' random starts.
        modalities (sequence[str], optional): The model's modalities.
        reliance (dict, optional): ``modality replaced -> 'top1' -> %``
            (−R: ``rgb``, −S: ``skeleton``). Defaults to None (not
            measured).
        per_sample (dict, optional): Per-sample top-1 hits (the schema
            above). Defaults to None.

    Returns:
        dict: The results; call :func:`add_relative_improvement` next.
    """
    if reliance:
        unknown = sorted(set(reliance) - set(RELIANCE))
        if unknown:
            raise ValueError(f'Unknown reliance keys {unknown}; known: '
                             f'{RELIANCE}.')
        reliance = {m: dict(reliance[m]) for m in RELIANCE if m in reliance}
    attacks = dict()
    for attack, cols in columns.items():
        cols = {t: dict(cols[t]) for t in COLUMNS if t in cols}
        if not cols:
            raise ValueError(f'Attack {attack!r} has no evaluated column.')
        keys = clean.keys()
        avg = {k: average({t: c[k] for t, c in cols.items()}) for k in keys}
        attacks[attack] = dict(
            config=dict(configs.get(attack, {})),
            columns=cols,
            avg=avg,
            avg_columns=list(cols),
            ri=None)
    return dict(
        format=FORMAT,
        name=name,
        num_samples=int(num_samples),
        topk=[int(k) for k in topk],
        seed=seed,
        modalities=None if modalities is None else list(modalities),
        clean=dict(clean),
        reliance=reliance or None,
        attacks=attacks,
        baseline=None,
        per_sample=per_sample)


def add_relative_improvement(results: dict,
                             baseline: dict,
                             baseline_file: Optional[str] = None,
                             compare_configs: bool = True) -> List[str]:
    """Fill ``results['attacks'][*]['ri']`` against ``baseline``.

    Each attack is matched with the baseline's attack of the same name;
    ``Avg_n`` is the baseline's mean over the columns the model has.

    Args:
        results (dict): A result dict (modified in place).
        baseline (dict): The baseline's result dict.
        baseline_file (str, optional): Where ``baseline`` came from, for
            ``results['baseline']`` and the messages.
        compare_configs (bool): Also note the attacks configured
            differently in ``baseline`` (see :func:`config_differences`).
            Defaults to True.

    Returns:
        list[str]: Why some RI could not be computed, or where the
        baseline's attack was configured differently (for a warning).
    """
    where = baseline_file or 'the baseline'
    notes = []
    results['baseline'] = dict(file=baseline_file, name=baseline['name'])
    for attack, entry in results['attacks'].items():
        entry['ri'] = None
        base = baseline['attacks'].get(attack)
        if base is None:
            notes.append(f'RI of {attack}: {where} has no attack named '
                         f'{attack!r} (it has {sorted(baseline["attacks"])}).')
            continue
        cols = entry['avg_columns']
        lacking = [c for c in cols if c not in base['columns']]
        if lacking:
            notes.append(f'RI of {attack}: {where} lacks the columns '
                         f'{lacking} of this model.')
            continue
        if compare_configs and base.get('config') != entry.get('config'):
            notes.append(config_note(attack, entry, base, where))
        ri = dict()
        for k in entry['avg']:
            if k not in baseline['clean']:
                continue
            base_avg = average({c: base['columns'][c][k] for c in cols})
            ri[k] = relative_improvement(results['clean'][k], entry['avg'][k],
                                         baseline['clean'][k], base_avg)
        entry['ri'] = ri
    return notes


def config_differences(results: dict,
                       baseline: dict,
                       baseline_file: Optional[str] = None) -> List[str]:
    """Notes on the attacks of ``results`` that ``baseline`` has under the
    same name but configured differently (RI compares them all the same).

    Args:
        results (dict): A result dict.
        baseline (dict): The baseline's result dict.
        baseline_file (str, optional): Where ``baseline`` came from, for
            the messages.

    Returns:
        list[str]: One note per differing attack (for a warning).
    """
    where = baseline_file or 'the baseline'
    notes = []
    for attack, entry in results['attacks'].items():
        base = baseline['attacks'].get(attack)
        if base is not None and base.get('config') != entry.get('config'):
            notes.append(config_note(attack, entry, base, where))
    return notes


def config_note(attack: str, entry: dict, base: dict, where: str) -> str:
    """The note on an attack configured differently in the baseline."""
    return (f'{attack} is configured differently in {where}: '
            f'{base.get("config")} vs {entry.get("config")}.')


def read_json(path: str, kind: str) -> object:
    """Load a JSON file; a missing file or invalid JSON is an error naming
    the file and what it should be (``kind``)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{kind} {path} does not exist.')
    with open(path, encoding='utf-8') as f:
        try:
            return json.load(f)
        except json.JSONDecodeError as err:
            raise ValueError(f'{path}: invalid JSON ({err}).') from None


def check_header(data: object, where: str, fmt: str, kind: str,
                 fields: Sequence[str]) -> None:
    """Check a loaded file's ``format`` tag and top-level fields."""
    if not isinstance(data, dict) or data.get('format') != fmt:
        raise ValueError(f'{where}: not an mmamr {kind} '
                         f'(expected "format": "{fmt}").')
    for key in fields:
        if key not in data:
            raise ValueError(f'{where}: missing field "{key}".')


def check_results(results: object, where: str) -> dict:
    """Validate a result dict loaded from ``where``; return it."""
    check_header(results, where, FORMAT, 'robustness result file',
                 ('name', 'clean', 'attacks'))
    for attack, entry in results['attacks'].items():
        for key in ('columns', 'avg', 'avg_columns'):
            if key not in entry:
                raise ValueError(f'{where}: attacks.{attack} lacks "{key}".')
        unknown = sorted(set(entry['columns']) - set(COLUMNS))
        if unknown:
            raise ValueError(f'{where}: attacks.{attack}.columns has '
                             f'unknown targets {unknown}.')
    reliance = results.get('reliance')
    if reliance is not None:
        if not isinstance(reliance, dict) or not all(
                isinstance(v, dict) for v in reliance.values()):
            raise ValueError(f'{where}: "reliance" must be null or a dict '
                             "modality -> {'top1': %, ...}.")
        unknown = sorted(set(reliance) - set(RELIANCE))
        if unknown:
            raise ValueError(f'{where}: reliance has unknown modalities '
                             f'{unknown}; known: {list(RELIANCE)}.')
    check_per_sample(results, where)
    return results


def check_per_sample(results: dict, where: str) -> None:
    """A per-sample record must have one hit per sample for the clean
    input and for every attack and target of the file."""
    record = results.get('per_sample')
    if record is None:
        return
    num = len(record.get('samples', ()))
    strings = dict(clean=record.get('clean'))
    for attack, targets in (record.get('attacks') or {}).items():
        for target, hits in targets.items():
            strings[f'{attack}/{target}'] = hits
    for key, hits in strings.items():
        if not isinstance(hits,
                          str) or len(hits) != num or set(hits) - {'0', '1'}:
            raise ValueError(f'{where}: per_sample {key} must be a string '
                             f"of {num} '0'/'1' (one per sample).")
    missing = [
        f'{attack}/{target}' for attack, entry in results['attacks'].items()
        if attack in record['attacks'] for target in entry['columns']
        if target not in record['attacks'][attack]
    ]
    if missing:
        raise ValueError(f'{where}: per_sample lacks {missing}.')


def load_results(path: str) -> dict:
    """Read and validate a ``robustness.json`` (one without ``reliance``,
    written before it existed, is valid: it reads as not measured)."""
    return check_results(read_json(path, 'Robustness result file'), path)


def dump_results(results: dict, path: str) -> None:
    """Write a result dict as JSON, atomically."""
    write_text_atomic(
        json.dumps(results, indent=2, ensure_ascii=False) + '\n', path)


def table_values(results: dict,
                 attack: str,
                 k: str = 'top1') -> List[Optional[float]]:
    """✓RS ✗R ✗S ✗RS Avg RI of one model under ``attack`` (None where a
    column was not evaluated, or RI has no baseline)."""
    entry = results['attacks'].get(attack)
    clean = results['clean'].get(k)
    if entry is None:
        return [clean] + [None] * 5
    cols = [entry['columns'].get(t, {}).get(k) for t in COLUMNS]
    ri = entry.get('ri') or {}
    return [clean] + cols + [entry['avg'].get(k), ri.get(k)]


def reliance_values(results: dict, k: str = 'top1') -> List[Optional[float]]:
    """−R −S of one model (None where not measured, e.g. a unimodal
    model or a file written before the diagnostic existed)."""
    reliance = results.get('reliance') or {}
    return [reliance.get(m, {}).get(k) for m in RELIANCE]


def has_reliance(rows: Sequence[Tuple[str, dict]]) -> bool:
    """Whether any of the rows has −R or −S."""
    return any(results.get('reliance') for _, results in rows)


def cell(value: Optional[float]) -> str:
    """A table cell: two decimals, ``–`` for a missing value."""
    return MISSING if value is None else f'{value:.2f}'


def table_row(results: dict,
              attack: str,
              k: str = 'top1',
              reliance: bool = False) -> List[str]:
    """The cells ✓RS ✗R ✗S ✗RS Avg RI of one model under ``attack``
    (``–`` where a column was not evaluated), and −R −S with
    ``reliance``."""
    values = table_values(results, attack, k)
    if reliance:
        values += reliance_values(results, k)
    return [cell(value) for value in values]


def table_headers(reliance: bool = False) -> List[str]:
    """``✓RS ✗R ✗S ✗RS Avg RI`` (the paper's order), then ``−R −S``
    with ``reliance``."""
    headers = [HEADERS[c] for c in ('clean', ) + COLUMNS + ('avg', 'ri')]
    if reliance:
        headers += [RELIANCE_HEADERS[m] for m in RELIANCE]
    return headers


def markdown_table(rows: Sequence[Tuple[str, dict]],
                   attack: str,
                   k: str = 'top1',
                   reliance: Optional[bool] = None) -> str:
    """A Markdown table in the layout of the paper's Table 2.

    The columns ✓RS ✗R ✗S ✗RS Avg RI keep the paper's order; the
    modality-reliance columns −R −S follow them (``–`` for a row that
    lacks them).

    Args:
        rows (sequence[tuple[str, dict]]): ``(row name, result dict)``,
            e.g. the defences, baseline first.
        attack (str): The attack whose columns to show.
        k (str): ``'top1'`` or ``'top5'``.
        reliance (bool, optional): Show −R and −S. Defaults to None:
            when any row has them (so a table of older result files, or
            of unimodal models, looks as it did).

    Returns:
        str: The table, one line per row, without a trailing newline.
    """
    if reliance is None:
        reliance = has_reliance(rows)
    header = ['Model'] + table_headers(reliance)
    lines = [
        '| ' + ' | '.join(header) + ' |',
        '|' + '|'.join(['---'] + ['---:'] * (len(header) - 1)) + '|'
    ]
    for name, results in rows:
        cells = [name] + table_row(results, attack, k, reliance)
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def markdown_report(results: dict, baseline: Optional[dict] = None) -> str:
    """Markdown tables of one run: per attack and ``k``, the baseline's
    row (RI 0 against itself) and this model's row."""
    rows = []
    if baseline is not None:
        base = json.loads(json.dumps(baseline))
        add_relative_improvement(base, base)
        rows.append((base['name'], base))
    rows.append((results['name'], results))
    parts = [f'# Robustness of {results["name"]}', '']
    parts.append(f'{results["num_samples"]} samples; accuracy in %. '
                 '✗R/✗S/✗RS: RGB / skeleton / both attacked; Avg = mean '
                 'of the robust columns; RI against '
                 f'{baseline["name"] if baseline else "no baseline"}.' +
                 (f' {RELIANCE_NOTE}' if has_reliance(rows) else ''))
    for k in (f'top{k}' for k in results['topk']):
        for attack, entry in results['attacks'].items():
            config = entry.get('config') or {}
            parts += ['', f'## {attack}, {k}', '']
            if config:
                parts += [f'`{json.dumps(config, ensure_ascii=False)}`', '']
            parts.append(markdown_table(rows, attack, k))
    return '\n'.join(parts) + '\n'
