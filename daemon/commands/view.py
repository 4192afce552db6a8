"""`eegd view`: the live web view of the ward, read from the broker (see eegd.daemon.view)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import signal

from eegd.daemon.commands.inputs import UsageError
from eegd.daemon.service.config import MqttConfig, check_mqtt, load_mqtt


def mqtt_settings(args: argparse.Namespace) -> MqttConfig:
    """`[mqtt]` of --config (auth, TLS) when given, then --mqtt-host / --mqtt-port / --topic-prefix over it."""
    from pathlib import Path

    base = load_mqtt(args.config) if args.config else check_mqtt(MqttConfig(), Path("."))
    changes = {k: v for k, v in (("host", args.mqtt_host), ("port", args.mqtt_port),
                                 ("topic_prefix", args.topic_prefix)) if v is not None}
    return check_mqtt(dataclasses.replace(base, **changes), Path(".")) if changes else base


def cmd_view(args: argparse.Namespace) -> int:
    from eegd.daemon.view.server import ViewConfig, ViewError, ViewServer, read_secret

    try:
        secret = read_secret(args.secret_file) if args.secret_file else None
        server = ViewServer(ViewConfig(args.host, args.port, secret, args.tls_cert, args.tls_key),
                            mqtt_settings(args))
    except ViewError as exc:
        raise UsageError(str(exc)) from None

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, server.stop.set)
        ready = asyncio.Event()
        task = asyncio.create_task(server.run(ready))
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait([task, asyncio.create_task(ready.wait())], return_when=asyncio.FIRST_COMPLETED)
        if ready.is_set():
            print(f"eegd view: {server.url} (Ctrl-C stops)", flush=True)
        await task

    try:
        asyncio.run(serve())
    except OSError as exc:
        raise UsageError(f"--host {args.host} --port {args.port}: {exc.strerror or exc}") from None
    return 0
