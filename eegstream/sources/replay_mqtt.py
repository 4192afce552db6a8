"""A recorded file played as a networked device: its raw samples published to `{prefix}/{stream}/raw` over MQTT."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import aiomqtt

from eegd.eegstream.formats.raw_payload import encode_binary, encode_json
from eegd.eegstream.sources.file import FileSource

log = logging.getLogger(__name__)


async def replay_mqtt(path: str | Path, host: str, port: int, stream: str, speed: float = 1.0, loop: bool = False,
                      rate: float | None = None, prefix: str = "eegd", qos: int = 1,
                      channels: tuple[str, ...] | None = None, xdf_stream: str | None = None,
                      binary: bool = False) -> int:
    """Publish the file's chunks in real time x `speed` (a chunk every 40 ms of wall time, as devices send); `t0`
    is the file's own timeline anchored at the wall-clock time (Unix seconds) of the start, so that consecutive
    chunks' `t0` step by their samples / rate at any speed (and go on rising across a loop); `seq` counts the chunks;
    `binary`: the compact encoding instead of JSON. Returns the chunks sent."""
    if speed <= 0:
        raise ValueError(f"replay speed must be > 0, got {speed}")
    source = FileSource(path, speed=speed, loop=loop, rate=rate, channels=channels, stream=xdf_stream)
    info = await source.open()
    topic = f"{prefix}/{stream}/raw"
    log.info("replaying %s to mqtt://%s:%d/%s (%.2f Hz, %d channels, speed %.2f%s)", path, host, port, topic,
             info.rate, len(info.channels), speed, ", looping" if loop else "")
    encode = encode_binary if binary else encode_json
    sent, wall0, t_first = 0, time.time(), None
    try:
        async with aiomqtt.Client(host, port, identifier=f"eegd-replay-{stream}-{int(wall0)}") as client:
            async for chunk in source.chunks():
                t_first = float(chunk.timestamps[0]) if t_first is None else t_first
                t0 = wall0 + (float(chunk.timestamps[0]) - t_first)
                await client.publish(topic, encode(t0, info.rate, info.channels, chunk.samples, sent), qos=qos)
                sent += 1
                if sent % 1500 == 0:  # about a minute of wall time
                    log.info("replay %s: %d chunks sent", stream, sent)
    finally:
        await source.close()
    log.info("replay %s: done, %d chunks", stream, sent)
    return sent
