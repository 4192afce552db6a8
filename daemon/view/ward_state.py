"""What the live view knows of the ward, from the broker's messages: coalesced predictions, every other change kept."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

TRACE_S = 60.0  # seconds of p(seizure) the page draws


def _num(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _str(x: object) -> bool:
    return isinstance(x, str)


def _probs(x: object) -> bool:
    return isinstance(x, dict) and all(_num(v) for v in x.values())


def _channel(x: object) -> bool:
    return isinstance(x, dict) and _str(x.get("label")) and _probs(x.get("probs"))


def _optional(msg: dict, key: str, check: Callable[[object], bool]) -> bool:
    return msg.get(key) is None or check(msg[key])


# What the page reads of each message, with the contract's types; a message without them is not shown (counted)
SHAPES: dict[str, Callable[[dict], bool]] = {
    "prediction": lambda m: (_num(m.get("t_end")) and _probs(m.get("probs")) and _optional(m, "label", _str)
                             and _optional(m, "latency_ms", _num) and _optional(m, "model", _str)
                             and _optional(m, "channels", lambda c: isinstance(c, dict)
                                           and all(_channel(v) for v in c.values()))),
    "alert": lambda m: _str(m.get("state")) and _optional(m, "since", _num) and _optional(m, "model", _str),
    "quality": lambda m: (isinstance(m.get("ok"), bool)
                          and _optional(m, "issues", lambda v: isinstance(v, list) and all(map(_str, v)))),
    "status": lambda m: _str(m.get("state")) and _optional(m, "model", _str) and _optional(m, "version", _str),
}


@dataclass
class StreamView:
    prediction: dict | None = None
    trace: list[list[float]] = field(default_factory=list)  # [t_end, p(seizure)] since the last flush
    history: list[list[float]] = field(default_factory=list)  # the last TRACE_S seconds, for a new page
    alert: dict | None = None
    quality: dict | None = None
    changed: bool = False


class WardState:
    """`apply()` a message; it returns the events to send at once (alert, quality, status, a stream leaving).
    Predictions are only stored: `flush()` returns, per stream, the latest one with the trace points since the
    last flush, so a page gets at most one prediction update per stream and flush, however fast they come.
    A message that is not JSON, or lacks what the page reads with the contract's types, is counted in `refused`
    (the last one's topic in `refused_topic`) and changes nothing: another publisher on the broker cannot stop
    the view or the page."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix.rstrip("/") + "/"
        self.streams: dict[str, StreamView] = {}
        self.status: dict[str, dict] = {}  # "" = the daemon's {prefix}/status, else a worker's name
        self.refused = 0
        self.refused_topic = ""

    def _parse(self, topic: str, kind: str, payload: bytes) -> dict | None:
        try:
            msg = orjson.loads(payload)
        except orjson.JSONDecodeError:
            msg = None
        if isinstance(msg, dict) and SHAPES[kind](msg):
            return msg
        self.refused += 1
        self.refused_topic = topic
        return None

    def apply(self, topic: str, payload: bytes) -> list[dict]:
        if not topic.startswith(self.prefix):
            return []
        parts = topic[len(self.prefix):].split("/")
        if parts[0] == "status" and len(parts) <= 2:
            return self._status(topic, parts[1] if len(parts) == 2 else "", payload)
        if len(parts) != 2 or parts[1] not in ("prediction", "alert", "quality"):
            return []  # raw samples and anything else are not the view's
        stream, kind = parts
        if not payload:  # an empty retained message clears a stream's alert (or quality): it has left
            return self._cleared(stream, kind)
        msg = self._parse(topic, kind, payload)
        if msg is None:
            return []
        view = self.streams.setdefault(stream, StreamView())
        if kind == "prediction":
            view.prediction = msg
            point = [float(msg["t_end"]), float(msg["probs"].get("seizure", 0.0))]
            view.trace.append(point)
            view.changed = True
            return []
        setattr(view, kind, msg)
        return [{**msg, "kind": kind, "stream": stream}]

    def _status(self, topic: str, worker: str, payload: bytes) -> list[dict]:
        msg = self._parse(topic, "status", payload) if payload else {"state": "offline"}
        if msg is None:
            return []
        self.status[worker] = msg
        return [{**msg, "kind": "status", "worker": worker}]

    def _cleared(self, stream: str, kind: str) -> list[dict]:
        view = self.streams.get(stream)
        if view is None:
            return []
        if kind == "alert":
            del self.streams[stream]
            return [{"kind": "remove", "stream": stream}]
        if kind == "quality":
            view.quality = None
            return [{"kind": "quality", "stream": stream, "ok": True, "issues": []}]
        return []

    def flush(self) -> list[dict]:
        out = []
        for stream, view in self.streams.items():
            if not view.changed:
                continue
            view.history = [p for p in view.history + view.trace if p[0] > view.trace[-1][0] - TRACE_S]
            out.append(self._prediction_event(stream, view, view.trace))
            view.trace, view.changed = [], False
        return out

    def _prediction_event(self, stream: str, view: StreamView, trace: list[list[float]]) -> dict:
        p = view.prediction or {}
        event = {"kind": "prediction", "stream": stream, "trace": trace}
        for k in ("label", "probs", "latency_ms", "t_end", "model", "channels"):
            if k in p:
                event[k] = p[k]
        return event

    def snapshot(self) -> list[dict]:
        """Everything a new page needs: statuses, then each stream's alert, quality and latest prediction."""
        events = [{**m, "kind": "status", "worker": w} for w, m in self.status.items()]
        for stream, view in self.streams.items():
            for kind in ("alert", "quality"):
                msg = getattr(view, kind)
                if msg is not None:
                    events.append({**msg, "kind": kind, "stream": stream})
            if view.prediction is not None:
                points = view.history + view.trace
                recent = [p for p in points if p[0] > points[-1][0] - TRACE_S]
                events.append(self._prediction_event(stream, view, recent))
        return events
