"""MQTT topics and JSON payloads of the contract (schema 1), built in one place."""

from __future__ import annotations

from dataclasses import dataclass

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


def status_payload(state: str, version: str = "", model: str = "", streams: tuple[str, ...] = ()) -> dict:
    if state == "offline":
        return {"schema": SCHEMA, "state": "offline"}
    return {"schema": SCHEMA, "state": state, "version": version, "model": model, "streams": list(streams)}


OFFLINE = orjson.dumps(status_payload("offline"))
