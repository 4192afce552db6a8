import numpy as np

from eegd.daemon.commands.channel_fusion import FoldPredictions, build_session, score_rule, wilson
from eegd.daemon.service.config import AlertsConfig


def fold(rng, n_windows=133):
    """Predictions as a perfect model would give them: seizure recordings p(seizure) 0.9, the others 0.05."""
    def rec(p):
        return np.tile([p, (1 - p) / 2, (1 - p) / 2], (n_windows, 1)) + rng.uniform(0, 0.01, (n_windows, 3))
    return FoldPredictions([rec(0.9) for _ in range(16)], [rec(0.05) for _ in range(64)], 173.61, 4097)


def test_a_seizure_on_one_of_eight_channels_is_caught_with_k_1_and_missed_with_k_2():
    rng = np.random.default_rng(0)
    folds = [[build_session(fold(rng), 8, 1, 10, rng) for _ in range(3)] for _ in range(5)]
    one, two = (score_rule(folds, AlertsConfig(8, 5, 32, 0.3, k)) for k in (1, 2))
    assert one["detected"] == one["events"] == 15 and one["false_alarms_per_hour"] == 0
    assert two["detected"] == 0
    assert 0 < one["latency_s_median"] < 6  # within the 32-window average's reach


def test_sessions_place_the_seizure_on_the_channels_asked_for():
    rng = np.random.default_rng(1)
    s = build_session(fold(rng), 4, 2, 10, rng)
    a, b = s.seizure
    inside = (s.t_start >= a) & (s.t_end <= b)
    assert s.probs.shape[1] == 4 and a > 0 and b - a > 23
    assert ((s.probs[inside, :, 0] > 0.5).sum(axis=1) == 2).all()  # two channels seize, two do not
    assert (s.probs[~inside, :, 0] < 0.5).all()


def test_wilson_interval_stays_within_zero_and_one():
    assert wilson(0, 20)[0] == 0.0 and wilson(20, 20)[1] == 1.0
