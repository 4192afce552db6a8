"""The benchmark's subscriber process: counts prediction messages and keeps their latencies (no torch here)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
import uuid

import numpy as np
import paho.mqtt.client as mqtt

WARMUP_S = 2.0  # latency percentiles leave out the first seconds of predictions (start-up: buffers, sockets)
LATENCY = re.compile(rb'"latency_ms":([-+0-9.eE]+)')


def count_predictions(host: str, port: int, prefix: str, conn) -> None:  # noqa: ANN001 - a Pipe end
    """Subscriber process: counts prediction messages and keeps their latencies (after the warm-up). The
    network side is Mosquitto's C client `mosquitto_sub` when installed (a Python MQTT client would compete
    with the daemon for the 2 cores it measures), else paho."""
    state: dict = {"count": 0, "first": 0.0, "last": 0.0, "lat": []}
    lock = threading.Lock()

    def seen(payloads: bytes, n: int) -> None:
        """`n` messages arrived (their payloads, concatenated): count them, keep their latencies."""
        now = time.monotonic()
        with lock:
            if state["count"] == 0:
                state["first"] = now
            state["count"] += n
            state["last"] = now
            if now - state["first"] >= WARMUP_S:
                state["lat"].append(np.array(LATENCY.findall(payloads), dtype=float))

    topic = f"{prefix}/+/prediction"
    binary = shutil.which("mosquitto_sub")
    if binary:
        proc = subprocess.Popen([binary, "-h", host, "-p", str(port), "-t", topic, "-q", "0",
                                 "-i", f"eegd-bench-{uuid.uuid4().hex[:6]}"], stdout=subprocess.PIPE)

        def pump() -> None:  # whole reads of lines at once: the regex and the count run in C, not per message
            assert proc.stdout is not None
            fd, rest = proc.stdout.fileno(), b""
            while data := os.read(fd, 1 << 20):
                rest += data
                cut = rest.rfind(b"\n") + 1
                if cut:
                    block, rest = rest[:cut], rest[cut:]
                    seen(block, block.count(b"\n"))

        threading.Thread(target=pump, daemon=True).start()
        time.sleep(0.5)  # mosquitto_sub has connected and subscribed
        conn.send("ready")
        stop = proc.terminate
    else:
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"eegd-bench-{uuid.uuid4().hex[:6]}")
        client.on_connect = lambda c, *_: c.subscribe(topic, qos=0)
        client.on_subscribe = lambda *_: conn.send("ready")
        client.on_message = lambda c, u, msg: seen(msg.payload, 1)
        client.connect(host, port)
        client.loop_start()
        stop = client.loop_stop
    while True:
        cmd = conn.recv()
        if cmd == "stats":
            with lock:
                lat = np.concatenate(state["lat"]).tolist() if state["lat"] else []
                conn.send({"count": state["count"], "first": state["first"], "last": state["last"], "lat": lat})
        elif cmd == "reset":
            with lock:
                state.update(count=0, first=0.0, last=0.0, lat=[])
            conn.send("ok")
        else:
            stop()
            return
