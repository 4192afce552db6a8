from daemon.alert_state import AlertState


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
