from collections import Counter

from eegd.eegstream.formats.csv import read_uci
from eegd.models.offline.splits import kfold_by_recording, split_by_recording


def test_no_recording_on_both_sides_and_classes_balanced(sim_uci):
    recs = read_uci(sim_uci)
    train, test = split_by_recording(recs, 1 / 3, seed=3)
    assert not {r.id for r in train} & {r.id for r in test}
    assert len(train) + len(test) == len(recs)
    assert Counter(r.label for r in test) == {0: 2, 1: 2, 2: 2}


def test_split_is_seeded(sim_uci):
    recs = read_uci(sim_uci)
    ids = lambda s: [r.id for r in s[1]]  # noqa: E731
    assert ids(split_by_recording(recs, 1 / 3, 1)) == ids(split_by_recording(recs, 1 / 3, 1))
    assert ids(split_by_recording(recs, 1 / 3, 1)) != ids(split_by_recording(recs, 1 / 3, 2))


def test_kfold_tests_every_recording_exactly_once(sim_uci):
    recs = read_uci(sim_uci)
    folds = kfold_by_recording(recs, 3, seed=0)
    tested = [r.id for _, test in folds for r in test]
    assert sorted(tested) == sorted(r.id for r in recs)
    for train, test in folds:
        assert not {r.id for r in train} & {r.id for r in test}
        assert Counter(r.label for r in test) == {0: 2, 1: 2, 2: 2}


def test_split_cli_writes_folds_that_read_back_as_the_same_recordings(sim_uci, tmp_path):
    import numpy as np

    from eegd.daemon.cli import main

    assert main(["split", "--data", str(sim_uci), "--folds", "3", "--out", str(tmp_path)]) == 0
    recs = {r.id: r for r in read_uci(sim_uci)}
    seen = []
    for i in (1, 2, 3):
        train = read_uci(tmp_path / f"fold{i}_train.csv")
        test = read_uci(tmp_path / f"fold{i}_test.csv")
        assert not {r.id for r in train} & {r.id for r in test}
        seen += [r.id for r in test]
        for r in train + test:
            np.testing.assert_array_equal(r.samples, recs[r.id].samples)
    assert sorted(seen) == sorted(recs)
