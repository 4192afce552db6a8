"""`eegd run` and `eegd replay`: the daemon from its config file, and a recorded file played as an LSL outlet."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from eegd.daemon.commands.inputs import UsageError

log = logging.getLogger(__name__)


def cmd_run(args: argparse.Namespace) -> int:
    from eegd.daemon.service.config import load
    from eegd.daemon.service.service import serve
    from eegd.daemon.service.systemd_notify import Notifier

    cfg = load(args.config)
    return asyncio.run(serve(cfg, Notifier.from_environ()))


def cmd_replay(args: argparse.Namespace) -> int:
    from eegd.eegstream.sources.protocol import SourceError

    if args.speed <= 0:
        raise UsageError(f"--speed must be > 0, got {args.speed}")
    if not Path(args.file).is_file():
        raise UsageError(f"{args.file}: no such file")
    channels = tuple(c.strip() for c in args.channels.split(",")) if args.channels else None
    try:
        asyncio.run(_replay_mqtt(args, channels) if args.mqtt else _replay_lsl(args, channels))
    except SourceError as exc:
        raise UsageError(str(exc)) from None
    except KeyboardInterrupt:
        log.info("replay stopped")
    return 0


async def _replay_lsl(args: argparse.Namespace, channels: tuple[str, ...] | None) -> None:
    from eegd.eegstream.sources.replay_outlet import replay

    await replay(args.file, args.lsl_name, args.speed, args.loop, args.rate, args.source_id, stream=args.stream,
                 channels=channels)


async def _replay_mqtt(args: argparse.Namespace, channels: tuple[str, ...] | None) -> None:
    from eegd.daemon.service.config import STREAM_ID, host_port
    from eegd.eegstream.formats.xdf import EXTENSIONS, stream_names
    from eegd.eegstream.sources.replay_mqtt import replay_mqtt

    target = host_port(args.mqtt)
    if target is None:
        raise UsageError(f"--mqtt: expected HOST:PORT, got {args.mqtt!r}")
    host, port = target
    stream = args.stream or Path(args.file).stem
    if not STREAM_ID.match(stream):
        raise UsageError(f"--stream: {stream!r} may hold only letters, digits, '_' and '-'")
    xdf_stream = None
    if args.stream and Path(args.file).suffix.lower() in EXTENSIONS:  # an XDF stream of that name, if there is one
        xdf_stream = args.stream if args.stream in await asyncio.to_thread(stream_names, args.file) else None
    await replay_mqtt(args.file, host, port, stream, args.speed, args.loop, args.rate, args.topic_prefix,
                      args.qos, channels, xdf_stream, binary=args.encoding == "binary")
