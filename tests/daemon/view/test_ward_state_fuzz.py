"""Fuzzing what the view reads from the broker: any message on any topic gives events the page can draw, or none."""

import json

import orjson
import pytest
from fuzzing import json_values, mutated
from hypothesis import example, given
from hypothesis import strategies as st

from eegd.daemon.view.ward_state import WardState

pytestmark = pytest.mark.fuzz

SEEDS = {
    "prediction": {"schema": 1, "stream": "bed1", "seq": 3, "t_start": 1.0, "t_end": 1.7, "label": "seizure",
                   "probs": {"seizure": 0.9, "tumor": 0.05, "normal": 0.05}, "latency_ms": 12.5, "model": "m",
                   "channels": {"Fp1": {"label": "seizure", "probs": {"seizure": 0.9}}}},
    "alert": {"schema": 1, "stream": "bed1", "state": "seizure", "since": 1.7, "model": "m"},
    "quality": {"schema": 1, "stream": "bed1", "ok": False, "issues": ["flat"], "since": 1.0, "counts": {"flat": 1}},
    "status": {"state": "online", "version": "1", "model": "m", "streams": ["bed1"]},
}
TOPICS = ["eegd/bed1/prediction", "eegd/bed1/alert", "eegd/bed1/quality", "eegd/status", "eegd/status/w1",
          "eegd/bed1/raw", "eegd/a/b/c", "eegd/", "eegd"]


def _num(x) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def drawable(event: dict) -> None:
    """What view.js reads of an event, in the types it reads them as."""
    kind = event["kind"]
    assert kind in ("prediction", "alert", "quality", "status", "remove")
    assert isinstance(event.get("worker" if kind == "status" else "stream"), str)
    if kind == "prediction":
        assert all(_num(v) for v in event.get("probs", {}).values())
        assert all(len(p) == 2 and all(map(_num, p)) for p in event["trace"])
        assert event.get("latency_ms") is None or _num(event["latency_ms"])
        assert all(isinstance(c["label"], str) and all(map(_num, c["probs"].values()))
                   for c in (event.get("channels") or {}).values())
    elif kind == "alert":
        assert isinstance(event["state"], str) and (event.get("since") is None or _num(event["since"]))
    elif kind == "quality":
        assert isinstance(event["ok"], bool) and all(isinstance(i, str) for i in event.get("issues") or [])
    elif kind == "status":
        assert isinstance(event["state"], str)
    orjson.dumps(event)


def _check(messages: list[tuple[str, bytes]]) -> None:
    w = WardState("eegd")
    for topic, payload in messages:
        for event in w.apply(topic, payload):
            drawable(event)
    for event in w.flush() + w.snapshot():
        drawable(event)


def _fields(kind: str):
    """The seed of `kind` with some of its fields (or fields inside them) replaced by any JSON value."""
    seed = SEEDS[kind]
    extra = {k: json_values for k in ("kind", "stream", "worker") if k not in seed}
    return st.fixed_dictionaries({k: st.just(v) | json_values for k, v in seed.items()}, optional=extra)


def _message(topic_kind: tuple[str, str]):
    topic, kind = topic_kind
    return st.tuples(st.just(topic), _fields(kind).map(lambda m: json.dumps(m).encode()))


@given(st.lists(st.tuples(st.sampled_from(TOPICS[:5]), st.sampled_from(list(SEEDS))).flatmap(_message),
                min_size=1, max_size=3))
@example([("eegd/bed1/prediction", b'{"t_end": 1, "probs": [1]}'), ("eegd/status", b"[1]")])
@example([("eegd/bed1/alert", b'{"state": "seizure", "kind": "remove", "stream": "bed2"}')])
def test_any_fields_give_drawable_events_or_none(messages):
    _check(messages)


@given(st.lists(st.tuples(st.sampled_from(TOPICS), st.one_of(*(mutated(orjson.dumps(s)) for s in SEEDS.values()))),
                min_size=1, max_size=3))
def test_any_bytes_on_any_topic_give_drawable_events_or_none(messages):
    _check(messages)
