"""Networked devices for cluster tests: one thread publishing every device's raw chunks over MQTT in real time."""

from __future__ import annotations

import threading
import time

import numpy as np
import paho.mqtt.client as mqtt

from eegd.eegstream.formats.raw_payload import encode_json
from eegd.eegstream.sources.simulator import simulate

RATE = 256.0
CHANNELS = ("Fp1", "Fp2")
CHUNK = 10  # samples a message: one every 39 ms


class Devices:
    """`schedule` (label, seconds) per device, played by every device from the same start, a chunk per device every
    39 ms with `seq`, at QoS 1, to the MQTT listener at `host:port`; `start()`, `stop()`."""

    def __init__(self, host: str, port: int, ids: list[str], schedule: list[tuple[str, float]], seed: int = 0,
                 prefix: str = "eegd") -> None:
        rng = np.random.default_rng(seed)
        self.ids, self.prefix = ids, prefix
        self.signals = {sid: np.concatenate([np.stack([simulate(label, int(s * RATE), rng, RATE) for _ in CHANNELS],
                                                      axis=1) for label, s in schedule]) for sid in ids}
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"devices-{time.monotonic_ns()}")
        self.client.connect(host, port)
        self.client.loop_start()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._play, daemon=True)
        self.t0 = 0.0
        self.sent = 0

    def start(self) -> Devices:
        self.t0 = time.time()
        self._thread.start()
        return self

    def _play(self) -> None:
        start = time.monotonic()
        n = min(len(x) for x in self.signals.values()) // CHUNK
        for k in range(n):
            if self._stop.is_set():
                return
            for sid in self.ids:
                x = self.signals[sid][k * CHUNK : (k + 1) * CHUNK]
                self.client.publish(f"{self.prefix}/{sid}/raw",
                                    encode_json(self.t0 + k * CHUNK / RATE, RATE, CHANNELS, x, k), qos=1)
            self.sent = k + 1
            time.sleep(max(0.0, start + (k + 1) * CHUNK / RATE - time.monotonic()))

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.client.loop_stop()
        self.client.disconnect()
