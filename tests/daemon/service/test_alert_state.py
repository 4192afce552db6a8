from eegd.daemon.service.alert_state import AlertChange, AlertState


def feed(state, labels):
    changes = []
    for i, label in enumerate(labels):
        c = state.update(label, float(i))
        if c:
            changes.append((i, c.state, c.since))
    return changes


def test_seizure_needs_on_windows_in_a_row_and_since_is_the_run_start():
    s = AlertState(on_windows=3, off_windows=5)
    labels = ["normal"] * 3 + ["seizure", "seizure", "normal", "seizure", "seizure", "seizure"]
    assert feed(s, labels) == [(2, "normal", 0.0), (8, "seizure", 6.0)]


def test_clearing_needs_off_windows_of_normal():
    s = AlertState(on_windows=2, off_windows=4)
    labels = ["seizure"] * 2 + ["normal"] * 3 + ["seizure"] + ["normal"] * 4
    assert feed(s, labels) == [(1, "seizure", 0.0), (9, "normal", 6.0)]


def test_switch_between_alarm_labels_uses_on_windows():
    s = AlertState(on_windows=2, off_windows=5)
    assert feed(s, ["tumor", "tumor", "seizure", "seizure"]) == [(1, "tumor", 0.0), (3, "seizure", 2.0)]


def test_alternating_labels_never_change_state_when_runs_are_too_short():
    assert feed(AlertState(on_windows=2, off_windows=3), ["normal", "seizure"] * 10) == []
    assert len(feed(AlertState(on_windows=1, off_windows=1), ["normal", "seizure"] * 10)) == 20


def test_gap_breaks_the_run():
    s = AlertState(on_windows=3, off_windows=3)
    s.update("seizure", 0.0)
    s.update("seizure", 1.0)
    s.reset_run()
    assert s.update("seizure", 5.0) is None


def feed_probs(state, labels, p_seizure):
    changes = []
    for i, (label, p) in enumerate(zip(labels, p_seizure, strict=True)):
        c = state.update(label, float(i), p)
        if c:
            changes.append((i, c.state, c.since))
    return changes


def test_mean_probability_alarm_ignores_a_short_run_of_seizure_labels():
    labels = ["normal"] * 10 + ["seizure"] * 3 + ["normal"] * 10
    probs = [0.05] * 10 + [0.6] * 3 + [0.05] * 10
    assert (13 - 1, "seizure", 10.0) in feed(AlertState(3, 5), labels)  # label runs: an alarm
    assert feed_probs(AlertState(3, 5, seizure_average_windows=8, seizure_threshold=0.5), labels, probs) == [
        (2, "normal", 0.0)]  # mean of 8 windows peaks at 0.26


def test_mean_probability_alarm_since_is_the_first_window_over_the_threshold():
    s = AlertState(3, 5, seizure_average_windows=4, seizure_threshold=0.5)
    probs = [0.0, 0.0, 0.0, 0.3, 0.9, 0.9, 0.9]
    assert feed_probs(s, ["normal", "normal", "normal", "tumor", "seizure", "seizure", "seizure"], probs) == [
        (2, "normal", 0.0), (5, "seizure", 4.0)]  # mean (0, .3, .9, .9) = 0.525 at window 5


def test_mean_probability_alarm_holds_until_the_mean_falls_below_half_the_threshold():
    s = AlertState(2, 2, seizure_average_windows=2, seizure_threshold=0.6)
    labels = ["seizure"] * 2 + ["normal"] * 5
    probs = [0.9, 0.9, 0.4, 0.2, 0.1, 0.1, 0.1]  # means .9 .9 .65 .3 .15 .1 .1
    assert feed_probs(s, labels, probs) == [(0, "seizure", 0.0), (4, "normal", 2.0)]


def test_gap_restarts_the_mean_probability():
    s = AlertState(3, 5, seizure_average_windows=4, seizure_threshold=0.5)
    feed_probs(s, ["normal"] * 3, [0.0] * 3)
    s.reset_run()
    assert s.update("seizure", 10.0, 0.8) == AlertChange("seizure", 10.0)  # the mean of the one window since
