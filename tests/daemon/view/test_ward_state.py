import orjson

from eegd.daemon.view.ward_state import WardState


def pred(stream, seq, p=0.1):
    return orjson.dumps({"schema": 1, "stream": stream, "seq": seq, "t_end": seq * 0.17, "label": "normal",
                         "probs": {"seizure": p, "tumor": 0.0, "normal": 1 - p}, "latency_ms": 3.0})


def test_predictions_coalesce_to_one_update_per_stream_with_every_trace_point():
    w = WardState("eegd")
    for seq in range(6):
        assert w.apply("eegd/bed1/prediction", pred("bed1", seq, p=seq / 10)) == []
    w.apply("eegd/bed2/prediction", pred("bed2", 0))
    out = w.flush()
    assert [e["stream"] for e in out] == ["bed1", "bed2"]
    assert out[0]["probs"]["seizure"] == 0.5 and [p[1] for p in out[0]["trace"]] == [0, 0.1, 0.2, 0.3, 0.4, 0.5]
    assert w.flush() == []  # nothing new


def test_alert_quality_and_status_changes_are_sent_at_once_never_merged():
    w = WardState("eegd")
    a = [w.apply("eegd/bed1/alert", orjson.dumps({"stream": "bed1", "state": s, "since": i}))
         for i, s in enumerate(["normal", "seizure", "normal"])]
    assert [e[0]["state"] for e in a] == ["normal", "seizure", "normal"]
    assert w.apply("eegd/status", orjson.dumps({"state": "offline"}))[0] == {"kind": "status", "worker": "",
                                                                              "state": "offline"}
    assert w.apply("eegd/status/worker-a", orjson.dumps({"state": "online"}))[0]["worker"] == "worker-a"


def test_a_cleared_retained_alert_removes_the_stream_and_bad_payloads_are_ignored():
    w = WardState("eegd")
    w.apply("eegd/bed1/alert", orjson.dumps({"stream": "bed1", "state": "seizure", "since": 1}))
    assert w.apply("eegd/bed1/alert", b"") == [{"kind": "remove", "stream": "bed1"}]
    assert "bed1" not in w.streams
    assert w.apply("eegd/bed2/prediction", b"{not json") == [] and w.apply("other/bed2/alert", b"{}") == []
    assert w.apply("eegd/bed2/raw", b'{"samples": []}') == []


def test_a_new_page_gets_the_last_minute_of_trace_and_every_state():
    w = WardState("eegd")
    w.apply("eegd/status", orjson.dumps({"state": "online", "model": "m"}))
    w.apply("eegd/bed1/alert", orjson.dumps({"stream": "bed1", "state": "seizure", "since": 1}))
    for seq in range(500):  # 85 s of predictions
        w.apply("eegd/bed1/prediction", pred("bed1", seq))
        if seq % 25 == 0:
            w.flush()
    kinds = [(e["kind"], e.get("stream")) for e in w.snapshot()]
    assert kinds == [("status", None), ("alert", "bed1"), ("prediction", "bed1")]
    trace = w.snapshot()[-1]["trace"]
    assert trace[-1][0] - trace[0][0] <= 60 and len(trace) > 300


def test_a_message_without_what_the_page_reads_is_refused_counted_and_changes_nothing():
    # before, a prediction with a list for `probs` stopped the view's broker reader, and a status that was not an
    # object made every new page's snapshot fail
    w = WardState("eegd")
    assert w.apply("eegd/bed1/prediction", orjson.dumps({"t_end": 1.0, "probs": [0.9]})) == []
    assert w.apply("eegd/bed1/alert", orjson.dumps({"state": 1})) == []
    assert w.apply("eegd/status", b"[1]") == []
    assert w.refused == 3 and w.refused_topic == "eegd/status" and w.streams == {} and w.snapshot() == []
    # nor can a message's own fields say it is another kind of event or of another stream
    event = w.apply("eegd/bed1/alert", orjson.dumps({"state": "normal", "kind": "remove", "stream": "bed2"}))
    assert event == [{"state": "normal", "kind": "alert", "stream": "bed1"}]
