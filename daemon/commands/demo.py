"""`eegd demo`: a broker, simulated bedside LSL streams, the daemon and a console subscriber, in one command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TextIO

import aiomqtt
import numpy as np
import orjson

from eegd.daemon.commands.broker import LocalMosquitto, free_port
from eegd.daemon.service.config import MqttConfig, check_mqtt, parse
from eegd.daemon.service.service import Service
from eegd.eegstream.formats.csv import read_uci, write_single_channel
from eegd.eegstream.labels import LABELS
from eegd.eegstream.sources.replay_outlet import replay
from eegd.eegstream.sources.simulator import write_continuous_csv
from eegd.models.inference import Classifier

log = logging.getLogger(__name__)

SHARED_DATA = Path("../shared/data/epileptic_seizure_train.csv")


@contextlib.asynccontextmanager
async def local_broker() -> AsyncIterator[tuple[str, int, str]]:
    """Mosquitto on a free port when installed, otherwise an in-process amqtt broker."""
    if LocalMosquitto.available():
        broker = LocalMosquitto().start()
        try:
            yield broker.host, broker.port, "mosquitto"
        finally:
            broker.close()
        return
    from amqtt.broker import Broker

    port = free_port()
    broker = Broker({"listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
                     "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}}})
    await broker.start()
    try:
        yield "127.0.0.1", port, "in-process amqtt"
    finally:
        await broker.shutdown()


def write_sessions(folder: Path, data: Path | None) -> tuple[list[Path], str]:
    """Two bedside recordings as continuous CSVs: one with a seizure in the middle, one normal throughout.
    From the shared Bonn recordings when present, otherwise from the built-in simulator (synthetic)."""
    if data is not None and data.exists():
        recs = read_uci(data)
        seizure = next(r for r in recs if LABELS[r.label] == "seizure")
        normal = [r for r in recs if r.uci_y == 5][:4]
        sessions = {"bed1": [normal[0], seizure, normal[1]], "bed2": [normal[2], normal[3]]}
        paths = [write_single_channel(folder / f"{name}.csv", np.concatenate([r.samples[:, 0] for r in parts]))
                 for name, parts in sessions.items()]
        return paths, f"recordings from {data} (Bonn EEG): bed1 normal-seizure-normal, bed2 normal"
    paths = [
        write_continuous_csv(folder / "bed1.csv", [("normal", 20), ("seizure", 20), ("normal", 20)], seed=1),
        write_continuous_csv(folder / "bed2.csv", [("normal", 60)], seed=2),
    ]
    return paths, ("SYNTHETIC signals from the built-in simulator (not real EEG): "
                   "bed1 normal-seizure-normal, bed2 normal")


async def start_view(host: str, port: int):  # noqa: ANN201 - (ViewServer, its task), or None
    """The live view on a free loopback port, reading the demo's broker; None without the view extra."""
    try:
        from eegd.daemon.view.server import ViewConfig, ViewServer
    except ModuleNotFoundError:
        return None
    view = ViewServer(ViewConfig(port=free_port()), check_mqtt(MqttConfig(host=host, port=port), Path(".")))
    ready = asyncio.Event()
    task = asyncio.create_task(view.run(ready))
    await asyncio.wait_for(ready.wait(), 10)
    return view, task


async def console(host: str, port: int, prefix: str, out: TextIO, every_s: float = 1.0) -> None:
    """Print each stream's label about once a second, and every alert and status change at once."""
    last: dict[str, float] = {}
    async with aiomqtt.Client(host, port, identifier=f"eegd-demo-console-{uuid.uuid4().hex[:6]}") as client:
        await client.subscribe(f"{prefix}/#", qos=1)
        async for msg in client.messages:
            p = orjson.loads(msg.payload)
            topic = str(msg.topic)
            if topic.endswith("/prediction"):
                if time.monotonic() - last.get(p["stream"], 0) < every_s:
                    continue
                last[p["stream"]] = time.monotonic()
                probs = " ".join(f"{k} {v:.2f}" for k, v in p["probs"].items())
                out.write(f"{p['stream']:<6} window {p['seq']:>5}  t={p['t_end']:9.2f}  {p['label']:<8} ({probs}) "
                          f"latency {p['latency_ms']:.1f} ms\n")
            elif topic.endswith("/alert"):
                out.write(f"{p['stream']:<6} >>> ALERT STATE {p['state'].upper()} since t={p['since']:.2f}\n")
            elif topic.endswith("/status"):
                out.write(f"daemon status: {p['state']}" + (f" (model {p['model']})" if "model" in p else "") + "\n")
                if p["state"] == "offline":
                    out.flush()
                    return  # the daemon has stopped: leave before the broker goes
            out.flush()


async def run_demo(model: str | None = None, data: Path | None = SHARED_DATA, out: TextIO = sys.stdout,
                   seconds: float | None = None) -> int:
    """Everything in one event loop; Ctrl-C (or `seconds`) stops the daemon cleanly, then the rest."""
    classifier = Classifier.from_path(model, "auto")
    with tempfile.TemporaryDirectory(prefix="eegd-demo-") as tmp:
        paths, what = write_sessions(Path(tmp), data)
        async with local_broker() as (host, port, kind):
            view = await start_view(host, port)
            out.write(f"eegd demo: broker {kind} on {host}:{port}; streams: {what}\n"
                      + (f"live view: {view[0].url} (open it in a browser)\n" if view else "") + "Ctrl-C stops.\n")
            out.flush()
            tag = uuid.uuid4().hex[:8]
            streams = [{"source": "lsl", "source_id": f"eegd-demo-{p.stem}-{tag}", "id": p.stem} for p in paths]
            cfg = parse({"mqtt": {"host": host, "port": port, "client_id": f"eegd-demo-{tag}"},
                         "scheduler": {"max_wait_ms": 10}, "stream": streams})
            service = Service(cfg, classifier)
            replays = [asyncio.create_task(replay(p, p.stem, 1.0, True, None, s["source_id"]))
                       for p, s in zip(paths, streams, strict=True)]
            printer = asyncio.create_task(console(host, port, cfg.mqtt.topic_prefix, out))
            daemon = asyncio.create_task(service.run())
            if seconds is not None:
                asyncio.get_running_loop().call_later(seconds, service.stop.set)
            code = await daemon  # returns after SIGINT/SIGTERM (or `seconds`), having published `offline`
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(printer), 2.0)  # the console prints `offline` and leaves
            for t in (*replays, printer):
                t.cancel()
            await asyncio.gather(*replays, printer, return_exceptions=True)
            if view:
                view[0].stop.set()
                await view[1]
    out.write("eegd demo: stopped\n")
    return code


def cmd_demo(args: argparse.Namespace) -> int:
    data = None if args.synthetic else Path(args.data or SHARED_DATA)
    if not args.verbose:  # the console subscriber's lines are the demo's output; log only problems
        logging.getLogger().setLevel(logging.WARNING)
    if args.cluster:
        from eegd.daemon.commands.cluster_demo import run_cluster_demo

        return asyncio.run(run_cluster_demo(args.devices, args.seconds))
    return asyncio.run(run_demo(args.model, data, seconds=args.seconds))
