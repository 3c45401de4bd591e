# Copyright (c) mmamr contributors. All rights reserved.
"""The X-Sub / X-View split sizes of the whole NTU RGB+D 60.

NTU RGB+D 60 has 56,880 samples: setups S001-S017, cameras C001-C003,
replications R001-R002 and actions A001-A060 for every (setup, performer)
pair that was recorded. Which performers appear in which setup is not in
the names' format, so :data:`PERFORMERS` lists them, read from the
per-sample performer statistics that SGN and View-Adaptive publish
(``data/ntu/statistics/performer.txt``, in name order). The table is
confirmed by four independent totals: 158 pairs x 360 = 56,880 samples,
all 40 performers appear, all 302 samples of the missing-skeleton list
are in it, and it reproduces the published split sizes below.

So the test proves that, on the real name list, the converter's sample
selection (missing list removed) and split rule give X-Sub 40,091 /
16,487 and X-View 37,646 / 18,932.
"""
import pytest
import sample_data

from mmamr.data_prep.ntu_converter import (build_splits, read_missing_list,
                                           select_samples)

PERFORMERS = {
    1: (1, 2, 3, 4, 5, 6, 7, 8),
    2: (3, 7, 8, 9, 10, 11, 12, 13, 14),
    3: (1, 2, 7, 8, 15, 16, 17, 18, 19),
    4: (3, 7, 8, 20),
    5: (4, 10, 13, 15, 16, 17, 18, 21),
    6: (1, 7, 8, 15, 16, 17, 19, 22, 23, 24),
    7: (1, 7, 8, 15, 16, 17, 18, 19, 25, 26, 27, 28),
    8: (1, 7, 8, 15, 19, 25, 29, 30, 31, 32, 33, 34, 35, 36),
    9: (7, 8, 15, 16, 17, 19, 25),
    10: (7, 8, 13, 15, 16, 17, 18, 19, 21, 25),
    11: (1, 2, 7, 8, 15, 16, 17, 18, 19, 25, 27, 28, 38),
    12: (7, 8, 15, 16, 17, 18, 19, 25, 27, 28, 37),
    13: (7, 8, 15, 16, 17, 18, 19, 25, 27, 28, 37),
    14: (7, 8, 15, 17, 19, 25, 27, 37, 39),
    15: (7, 8, 15, 16, 17, 19, 25, 37),
    16: (7, 8, 19, 21, 25, 39, 40),
    17: (3, 7, 8, 9, 15, 16, 17, 20),
}
MISSING = sample_data.NTU_DIR / 'NTU_RGBD_samples_with_missing_skeletons.txt'


def ntu60_names():
    return [
        f'S{s:03d}C{c:03d}P{p:03d}R{r:03d}A{a:03d}'
        for s, performers in PERFORMERS.items() for p in performers
        for c in (1, 2, 3) for r in (1, 2) for a in range(1, 61)
    ]


def test_the_name_table_is_the_whole_dataset():
    names = ntu60_names()
    assert len(names) == len(set(names)) == 56880
    assert {int(n[9:12]) for n in names} == set(range(1, 41))


def test_full_dataset_split_sizes():
    if not MISSING.is_file():
        pytest.fail(f'missing-skeleton list not found at {MISSING}')
    missing = read_missing_list(str(MISSING))
    names = ntu60_names()
    assert missing <= set(names)
    kept = select_samples(names, missing)
    assert len(kept) == 56578
    split = build_splits(kept)
    sizes = {k: len(v) for k, v in split.items()}
    assert sizes == dict(
        xsub_train=40091, xsub_val=16487, xview_train=37646, xview_val=18932)
    # Every kept sample is in exactly one split of each protocol.
    assert sorted(split['xsub_train'] + split['xsub_val']) == kept
    assert sorted(split['xview_train'] + split['xview_val']) == kept
