"""A plain paho subscriber for tests: collects every JSON message on the broker, survives restarts."""

from __future__ import annotations

import json
import threading
import time
import uuid

import paho.mqtt.client as mqtt


class Collector:
    def __init__(self, host: str, port: int, topic: str = "#", persistent: bool = False,
                 username: str | None = None, password: str | None = None, tls: dict | None = None) -> None:
        self.messages: list[tuple[str, dict, bool]] = []
        self.arrived: list[float] = []  # the monotonic time each message of `messages` came
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        # persistent: the broker keeps the subscription and queues QoS 1 messages while this client is away
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-{uuid.uuid4().hex[:8]}",
                                  clean_session=not persistent)
        if username:
            self.client.username_pw_set(username, password)
        if tls:
            self.client.tls_set(**tls)
        self.client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.1, 0.5)
        self.client.connect_async(host, port, keepalive=5)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise TimeoutError("test subscriber could not subscribe")

    def _on_message(self, client, userdata, msg) -> None:
        try:  # an empty message clears a retained one: kept as None
            payload = json.loads(msg.payload) if msg.payload else None
        except ValueError:  # a binary or malformed raw message a test sent: not eegd's output
            return
        with self._lock:
            self.messages.append((msg.topic, payload, bool(msg.retain)))
            self.arrived.append(time.monotonic())

    def timed(self, suffix: str) -> list[tuple[float, dict]]:
        """(arrival, payload) of the messages on topics ending with `suffix`."""
        with self._lock:
            return [(a, p) for (t, p, _), a in zip(self.messages, self.arrived, strict=True)
                    if t.endswith(suffix) and p is not None]

    def on(self, suffix: str) -> list[dict]:
        with self._lock:
            return [p for t, p, _ in self.messages if t.endswith(suffix) and p is not None]

    def cleared(self, topic: str) -> bool:
        """Whether an empty message (clearing the retained one) came on `topic`."""
        with self._lock:
            return any(t == topic and p is None for t, p, _ in self.messages)

    def status(self, prefix: str = "eegd") -> str | None:
        """The daemon's last status state seen, or None."""
        seen = self.on(f"{prefix}/status")
        return seen[-1]["state"] if seen else None

    def wait_for(self, predicate, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met in {timeout} s; {len(self.messages)} messages seen")
            time.sleep(0.05)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
