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
    from eegd.eegstream.sources.replay_outlet import replay

    if args.speed <= 0:
        raise UsageError(f"--speed must be > 0, got {args.speed}")
    if not Path(args.file).is_file():
        raise UsageError(f"{args.file}: no such file")
    channels = tuple(c.strip() for c in args.channels.split(",")) if args.channels else None
    try:
        asyncio.run(replay(args.file, args.lsl_name, args.speed, args.loop, args.rate, args.source_id,
                           stream=args.stream, channels=channels))
    except SourceError as exc:
        raise UsageError(str(exc)) from None
    except KeyboardInterrupt:
        log.info("replay stopped")
    return 0
