import numpy as np
import pytest

from eegd.daemon.service.alert_state import AlertState
from eegd.daemon.service.channel_fusion import SeizureEvidence, fuse_labels

# labels in the checkpoints' order: seizure, tumor, normal; severity 0 is the most severe
SEVERITY = np.array([0, 1, 2])
SZ, NORMAL = [0.9, 0.05, 0.05], [0.05, 0.05, 0.9]


def windows(*channels):
    return np.array([channels], dtype=np.float64)  # one window (1, channels, labels)


def test_one_seizure_channel_labels_the_stream_seizure_only_when_one_channel_is_enough():
    p = windows(SZ, NORMAL, NORMAL, NORMAL)
    assert fuse_labels(p, SEVERITY, 1)[0][0] == 0
    label, probs = fuse_labels(p, SEVERITY, 2)
    assert label[0] == 2 and probs[0].tolist() == NORMAL  # the probabilities of a channel that carries it


def test_channel_mean_rule_takes_the_arg_max_of_the_mean_probabilities():
    p = windows(SZ, SZ, [0.3, 0.1, 0.6], NORMAL)
    label, probs = fuse_labels(p, SEVERITY, 0)
    assert label[0] == 0 and np.allclose(probs[0], np.mean(p[0], axis=0))


def test_k_larger_than_the_channels_is_all_channels():
    assert fuse_labels(windows(SZ, SZ), SEVERITY, 5)[0][0] == 0
    assert fuse_labels(windows(SZ, NORMAL, NORMAL), SEVERITY, 5)[0][0] == 2  # none on all 3: the most carried


@pytest.mark.parametrize("k, raised", [(1, True), (2, True), (3, False), (0, False)])
def test_seizure_alarm_needs_the_averaged_probability_on_k_channels(k, raised):
    state = AlertState(on_windows=8, off_windows=5, seizure_average_windows=4, seizure_threshold=0.5,
                       seizure_channels=k)
    changes = [state.update("normal", float(t), np.array([0.9, 0.8, 0.1, 0.1])) for t in range(8)]
    assert any(c is not None and c.state == "seizure" for c in changes) is raised


def test_evidence_of_one_channel_is_its_running_mean_in_plain_floats():
    ev = SeizureEvidence(3, 2)
    assert [ev.update(p, t) for t, p in enumerate([0.0, 0.3, 0.6, 0.9])] == pytest.approx([0.0, 0.15, 0.3, 0.6])
    ev.reset()
    assert ev.update(0.4, 9.0) == pytest.approx(0.4)
