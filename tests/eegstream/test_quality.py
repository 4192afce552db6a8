import numpy as np

from eegd.eegstream.quality import (
    FLAT,
    NONFINITE,
    OUT_OF_RANGE,
    QualityLimits,
    issue_names,
    split_at_breaks,
    window_issues,
)

LIM = QualityLimits()


def test_each_bad_window_is_flagged_with_its_reason():
    rng = np.random.default_rng(0)
    w = rng.normal(0, 50, (5, 2, 120)).astype(np.float32)
    w[1, 0, 7] = np.nan
    w[2, 1, 100] = np.inf
    w[3, 0, 50] = 9000.0
    w[4, 1] = 3.0  # one flat channel
    flags = window_issues(w, LIM)
    assert flags.tolist() == [0, NONFINITE, NONFINITE, OUT_OF_RANGE, FLAT]
    assert issue_names(NONFINITE | FLAT) == ["nonfinite", "flat"]


def test_timestamp_gaps_and_reversals_give_cut_points():
    rate = 100.0
    ts = np.array([1.00, 1.01, 1.02, 1.50, 1.51, 1.40, 1.41])
    cuts, gaps, back = split_at_breaks(ts, previous=0.99, rate=rate, limits=LIM)
    assert cuts == [3, 5] and gaps == 1 and back == 1
    cuts, gaps, _ = split_at_breaks(ts[:3], previous=0.5, rate=rate, limits=LIM)
    assert cuts == [0] and gaps == 1  # the jump is before the chunk's first sample
    assert split_at_breaks(ts[:3], previous=None, rate=rate, limits=LIM) == ([], 0, 0)
