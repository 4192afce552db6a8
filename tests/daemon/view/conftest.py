import asyncio
import json
import shutil
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from eegd.daemon.service.config import MqttConfig, check_mqtt
from eegd.daemon.view.server import ViewConfig, ViewServer

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
async def view(mosquitto):
    """The view's server on a free loopback port, reading the test broker."""
    server = ViewServer(ViewConfig(port=0), check_mqtt(MqttConfig(host=mosquitto.host, port=mosquitto.port), Path(".")))
    ready = asyncio.Event()
    task = asyncio.create_task(server.run(ready))
    await asyncio.wait_for(ready.wait(), 10)
    yield server
    server.stop.set()
    await asyncio.wait_for(task, 10)


class Publisher:
    """What a daemon would publish, from a plain paho client (retained alerts, quality and status)."""

    def __init__(self, host: str, port: int) -> None:
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.connect(host, port)
        self.client.loop_start()

    def send(self, topic: str, payload: dict | None, retain: bool = False, qos: int = 0) -> None:
        self.client.publish(topic, b"" if payload is None else json.dumps(payload), qos, retain)

    def status(self, state: str, streams=()) -> None:
        body = {"schema": 1, "state": state}
        if state == "online":
            body |= {"version": "0.1.0", "model": "conv_lstm-test", "streams": list(streams)}
        self.send("eegd/status", body, retain=True, qos=1)

    def prediction(self, stream: str, seq: int, p_seizure: float = 0.02, channels=None) -> None:
        probs = {"seizure": p_seizure, "tumor": 0.03, "normal": 1 - p_seizure - 0.03}
        body = {"schema": 1, "stream": stream, "seq": seq, "t_start": seq * 0.1728, "t_end": seq * 0.1728 + 0.685,
                "label": max(probs, key=probs.get), "probs": probs, "model": "conv_lstm-test", "latency_ms": 12.5}
        if channels:
            body["channels"] = channels
        self.send(f"eegd/{stream}/prediction", body)

    def alert(self, stream: str, state: str, since: float = 1.0) -> None:
        self.send(f"eegd/{stream}/alert", {"schema": 1, "stream": stream, "state": state, "since": since,
                                           "probs": {"seizure": 0.9, "tumor": 0.05, "normal": 0.05},
                                           "model": "conv_lstm-test"}, retain=True, qos=1)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def publisher(mosquitto):
    p = Publisher(mosquitto.host, mosquitto.port)
    yield p
    p.close()


@pytest.fixture
async def page():
    """A headless Debian chromium page, driven by Playwright."""
    async_api = pytest.importorskip("playwright.async_api", reason="playwright is a test dependency")
    if shutil.which(CHROMIUM) is None:
        pytest.skip(f"{CHROMIUM} is not installed (Debian package chromium: apt-get install chromium)")
    async with async_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = await browser.new_page(viewport={"width": 1400, "height": 900})
        yield page
        await browser.close()
