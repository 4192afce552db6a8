"""What the live view knows of the ward, from the broker's messages: coalesced predictions, every other change kept."""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

TRACE_S = 60.0  # seconds of p(seizure) the page draws


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
    last flush, so a page gets at most one prediction update per stream and flush, however fast they come."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix.rstrip("/") + "/"
        self.streams: dict[str, StreamView] = {}
        self.status: dict[str, dict] = {}  # "" = the daemon's {prefix}/status, else a worker's name

    def apply(self, topic: str, payload: bytes) -> list[dict]:
        if not topic.startswith(self.prefix):
            return []
        parts = topic[len(self.prefix):].split("/")
        if parts[0] == "status" and len(parts) <= 2:
            return self._status(parts[1] if len(parts) == 2 else "", payload)
        if len(parts) != 2 or parts[1] not in ("prediction", "alert", "quality"):
            return []  # raw samples and anything else are not the view's
        stream, kind = parts
        if not payload:  # an empty retained message clears a stream's alert (or quality): it has left
            return self._cleared(stream, kind)
        try:
            msg = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return []
        if not isinstance(msg, dict):
            return []
        view = self.streams.setdefault(stream, StreamView())
        if kind == "prediction":
            view.prediction = msg
            point = [float(msg.get("t_end", 0.0)), float(msg.get("probs", {}).get("seizure", 0.0))]
            view.trace.append(point)
            view.changed = True
            return []
        setattr(view, kind, msg)
        return [{"kind": kind, "stream": stream, **msg}]

    def _status(self, worker: str, payload: bytes) -> list[dict]:
        try:
            msg = orjson.loads(payload) if payload else {"state": "offline"}
        except orjson.JSONDecodeError:
            return []
        self.status[worker] = msg
        return [{"kind": "status", "worker": worker, **msg}]

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
        events = [{"kind": "status", "worker": w, **m} for w, m in self.status.items()]
        for stream, view in self.streams.items():
            for kind in ("alert", "quality"):
                msg = getattr(view, kind)
                if msg is not None:
                    events.append({"kind": kind, "stream": stream, **msg})
            if view.prediction is not None:
                points = view.history + view.trace
                recent = [p for p in points if p[0] > points[-1][0] - TRACE_S]
                events.append(self._prediction_event(stream, view, recent))
        return events
