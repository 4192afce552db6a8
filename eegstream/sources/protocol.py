"""What every sample source yields: chunks of (timestamps, samples) with a gap flag, behind one protocol."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class StreamInfo:
    rate: float  # nominal samples per second; 0 means irregular
    channels: tuple[str, ...]


@dataclass(frozen=True)
class Chunk:
    """`samples` (n, channels) float32, `timestamps` (n,) float64 on the source clock, `received` the daemon's
    monotonic clock when it got the chunk, `gap` True when the signal broke before this chunk: `lost` samples were
    lost (0 when unknown, as after a reconnect) or, with `reversal`, the source's clock went back. `layout`: the
    source came back with other channels or another rate, and these samples are in that new layout."""

    timestamps: np.ndarray
    samples: np.ndarray
    received: float
    gap: bool = False
    lost: int = 0
    reversal: bool = False
    layout: StreamInfo | None = None


class SourceError(Exception):
    """A source that cannot go on (a malformed file, an irregular stream): that stream ends, the others go on."""


class SourceGone(SourceError):
    """A discovered device that has been away longer than its stream's `drop_after_s`: the stream is dropped."""


class Source(Protocol):
    """A pluggable sample source: `open()` once, then iterate `chunks()`; a finite source's iterator ends.
    `want`, when given, says how many samples the consumer needs before it can use them (its next window): a
    source may hold what it pulled until then; a paced source ignores it."""

    async def open(self) -> StreamInfo: ...

    def chunks(self, want: Callable[[], int] | None = None) -> AsyncIterator[Chunk]: ...

    async def close(self) -> None: ...
