"""A recorded file (CSV, EDF/BDF, XDF) played as an LSL outlet in real time: a stand-in bedside device."""

from __future__ import annotations

import logging
from pathlib import Path

from eegd.eegstream.sources.file import FileSource
from eegd.eegstream.sources.liblsl import pylsl

log = logging.getLogger(__name__)


def make_outlet(name: str, rate: float, channels: tuple[str, ...], source_id: str, type_: str = "EEG",
                units: tuple[str, ...] | None = None, kinds: tuple[str, ...] | None = None) -> pylsl.StreamOutlet:
    """An outlet described as amplifier apps do (XDF meta-data): each channel's label, unit and type."""
    info = pylsl.StreamInfo(name, type_, len(channels), rate, pylsl.cf_float32, source_id)
    chans = info.desc().append_child("channels")
    for i, c in enumerate(channels):
        ch = chans.append_child("channel")
        ch.append_child_value("label", c)
        ch.append_child_value("unit", units[i] if units else "microvolts")
        ch.append_child_value("type", kinds[i].upper() if kinds else "EEG")
    return pylsl.StreamOutlet(info, chunk_size=0, max_buffered=60)


async def replay(path: str | Path, lsl_name: str, speed: float = 1.0, loop: bool = False,
                 rate: float | None = None, source_id: str | None = None, type_: str | None = None,
                 stream: str | None = None, channels: tuple[str, ...] | None = None) -> int:
    """Push the file through an outlet paced at `speed` (> 0) x real time; returns the samples pushed. The
    outlet carries the file's channel labels, units and kinds, and an XDF stream's own type and source_id
    unless given."""
    if speed <= 0:
        raise ValueError(f"replay speed must be > 0, got {speed}")
    source = FileSource(path, speed=speed, loop=loop, rate=rate, channels=channels, stream=stream)
    info = await source.open()
    pb = source.playback
    assert pb is not None
    sid = source_id or getattr(pb.rec, "source_id", "") or f"eegd-replay-{lsl_name}"
    kind = type_ or getattr(pb.rec, "type", "") or "EEG"
    outlet = make_outlet(lsl_name, info.rate, info.channels, sid, kind, pb.units, pb.kinds)
    log.info("replaying %s as LSL stream %r (source_id %s, %.2f Hz, speed %.2f%s)", path, lsl_name, sid,
             info.rate, speed, ", looping" if loop else "")
    pushed = 0
    last_report = 0
    clock0, t0 = pylsl.local_clock(), None
    async for chunk in source.chunks():
        # per-sample timestamps on the LSL clock, following the file's clock (sped up by `speed`)
        t0 = chunk.timestamps[0] if t0 is None else t0
        outlet.push_chunk(chunk.samples, (clock0 + (chunk.timestamps - t0) / speed).tolist(), True)
        pushed += len(chunk.samples)
        if pushed - last_report >= info.rate * 60:
            last_report = pushed
            log.info("replay %s: %.0f s pushed", lsl_name, pushed / info.rate)
    log.info("replay %s: done, %d samples", lsl_name, pushed)
    return pushed
