"""MQTT topics and JSON payloads of the contract (schema 1), built in one place."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import orjson

SCHEMA = 1


@dataclass(slots=True)
class Outgoing:
    """One message for the publisher. `received` (monotonic) is set for predictions: the publisher adds
    `latency_ms` at the moment it hands the message to the MQTT client."""

    topic: str
    payload: dict | None  # None: an empty message (clears a retained one)
    qos: int
    retain: bool
    received: float | None = None

    def encode(self, now: float) -> bytes:
        if self.payload is None:
            return b""
        if self.received is not None:
            self.payload["latency_ms"] = round((now - self.received) * 1000.0, 3)
        return orjson.dumps(self.payload)


def float32_values(x: np.ndarray) -> list:
    """A float32 array as nested lists of the Python floats its shortest decimal forms read back as (what a
    subscriber parses from the payload), in one C pass (orjson)."""
    return orjson.loads(orjson.dumps(x, option=orjson.OPT_SERIALIZE_NUMPY))


class ChannelsJson:
    """Multi-channel predictions' `channels` objects {name: {label, probs}} as JSON from one template per layout:
    the numbers of a whole batch written by orjson at once, spliced in by one `%` per window and embedded as a
    Fragment (building and encoding 21 small dicts a window took three times as long)."""

    def __init__(self, labels: tuple[str, ...]) -> None:
        self.labels = labels
        self._quoted = np.array([orjson.dumps(lbl) for lbl in labels], dtype=object)
        self._templates: dict[tuple[str, ...], bytes] = {}

    def template(self, channels: tuple[str, ...]) -> bytes:
        found = self._templates.get(channels)
        if found is None:
            def literal(text: str) -> bytes:
                return orjson.dumps(text).replace(b"%", b"%%")

            probs = b",".join(literal(lbl) + b":%s" for lbl in self.labels)
            found = self._templates[channels] = b"{" + b",".join(
                literal(c) + b':{"label":%s,"probs":{' + probs + b"}}" for c in channels) + b"}"
        return found

    def values(self, probs: np.ndarray) -> list[tuple]:
        """probs (n, channels, labels), float32 -> per window, what its template is filled with."""
        n, ch, k = probs.shape
        numbers = orjson.dumps(np.ascontiguousarray(probs).ravel(), option=orjson.OPT_SERIALIZE_NUMPY)
        values = np.empty((n, ch, k + 1), dtype=object)
        values[:, :, 0] = self._quoted[probs.argmax(axis=2)]
        values[:, :, 1:] = np.array(numbers[1:-1].split(b","), dtype=object).reshape(n, ch, k)
        return [tuple(row) for row in values.reshape(n, -1).tolist()]


@dataclass(frozen=True)
class Topics:
    prefix: str

    def prediction(self, stream: str) -> str:
        return f"{self.prefix}/{stream}/prediction"

    def alert(self, stream: str) -> str:
        return f"{self.prefix}/{stream}/alert"

    def quality(self, stream: str) -> str:
        return f"{self.prefix}/{stream}/quality"

    @property
    def status(self) -> str:
        return f"{self.prefix}/status"

    def worker_status(self, worker: str) -> str:
        return f"{self.prefix}/status/{worker}"


def status_payload(state: str, version: str = "", model: str = "", streams: tuple[str, ...] = ()) -> dict:
    if state == "offline":
        return {"schema": SCHEMA, "state": "offline"}
    return {"schema": SCHEMA, "state": state, "version": version, "model": model, "streams": list(streams)}


OFFLINE = orjson.dumps(status_payload("offline"))
