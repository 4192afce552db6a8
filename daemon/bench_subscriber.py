"""The benchmark's subscriber process: counts prediction messages and keeps their latencies (no torch here)."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
import uuid

import orjson
import paho.mqtt.client as mqtt

WARMUP_S = 2.0  # latency percentiles leave out the first seconds of predictions (start-up: buffers, sockets)


def count_predictions(host: str, port: int, prefix: str, conn) -> None:  # noqa: ANN001 - a Pipe end
    """Subscriber process: counts prediction messages and keeps their latencies (after the warm-up). The
    network side is Mosquitto's C client `mosquitto_sub` when installed (a Python MQTT client would compete
    with the daemon for the 2 cores it measures), else paho."""
    state = {"count": 0, "first": 0.0, "last": 0.0, "lat": []}
    lock = threading.Lock()

    def seen(payload: bytes) -> None:
        now = time.monotonic()
        with lock:
            state["count"] += 1
            state["last"] = now
            if state["count"] == 1:
                state["first"] = now
            if now - state["first"] >= WARMUP_S:
                state["lat"].append(orjson.loads(payload)["latency_ms"])

    topic = f"{prefix}/+/prediction"
    binary = shutil.which("mosquitto_sub")
    if binary:
        proc = subprocess.Popen([binary, "-h", host, "-p", str(port), "-t", topic, "-q", "0",
                                 "-i", f"eegd-bench-{uuid.uuid4().hex[:6]}"], stdout=subprocess.PIPE)

        def pump() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                seen(line)

        threading.Thread(target=pump, daemon=True).start()
        time.sleep(0.5)  # mosquitto_sub has connected and subscribed
        conn.send("ready")
        stop = proc.terminate
    else:
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"eegd-bench-{uuid.uuid4().hex[:6]}")
        client.on_connect = lambda c, *_: c.subscribe(topic, qos=0)
        client.on_subscribe = lambda *_: conn.send("ready")
        client.on_message = lambda c, u, msg: seen(msg.payload)
        client.connect(host, port)
        client.loop_start()
        stop = client.loop_stop
    while True:
        cmd = conn.recv()
        if cmd == "stats":
            with lock:
                conn.send({k: state[k] for k in ("count", "first", "last", "lat")})
        elif cmd == "reset":
            with lock:
                state.update(count=0, first=0.0, last=0.0, lat=[])
            conn.send("ok")
        else:
            stop()
            return
