"""One batching scheduler for all streams: the model runs when the batch is full or the oldest window waited."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from eegd.daemon.service.inference_engine import InferenceEngine


@dataclass(slots=True)
class WindowBatch:
    """Windows one chunk completed: samples (n, channels, 120), first/last timestamps, and the stream of each
    (one stream's chunk, or a block of streams on one clock). `resets`: streams whose signal broke before
    these windows (their alert runs start afresh)."""

    streams: np.ndarray
    windows: np.ndarray
    t_start: np.ndarray
    t_end: np.ndarray
    received: float  # monotonic time the daemon received the chunk holding the last samples
    resets: tuple[int, ...] = ()
    channels: tuple[str, ...] | None = None  # one stream's channel names when cut (its layout may change later)


class Scheduler:
    """Streams `submit` batches into a bounded queue (awaiting when it is full: back-pressure on the sources);
    `run` gathers them until `max_batch` windows are waiting or the oldest has waited `max_wait_ms` since its
    last sample arrived, runs the model once, and hands each batch's probabilities to `deliver`."""

    def __init__(self, engine: InferenceEngine, deliver: Callable[[WindowBatch, np.ndarray], None],
                 max_batch: int, max_wait_ms: float, queue_size: int = 1024) -> None:
        self.engine, self.deliver = engine, deliver
        self.max_batch, self.max_wait = max_batch, max_wait_ms / 1000.0
        self.queue: asyncio.Queue[WindowBatch | None] = asyncio.Queue(maxsize=queue_size)

    async def submit(self, batch: WindowBatch) -> None:
        await self.queue.put(batch)

    async def close(self) -> None:
        """No more batches: `run` flushes what it holds and returns."""
        await self.queue.put(None)

    async def run(self) -> None:
        closed = False
        while not closed:
            first = await self.queue.get()
            if first is None:
                return
            pending, count = [first], first.windows.shape[0] * first.windows.shape[1]
            deadline = first.received + self.max_wait
            while count < self.max_batch:
                try:
                    item = self.queue.get_nowait()
                except asyncio.QueueEmpty:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    try:
                        item = await asyncio.wait_for(self.queue.get(), remaining)
                    except TimeoutError:
                        break
                if item is None:
                    closed = True
                    break
                pending.append(item)
                count += item.windows.shape[0] * item.windows.shape[1]
            await self._flush(pending)

    async def _flush(self, pending: list[WindowBatch]) -> None:
        flat = np.concatenate([b.windows.reshape(-1, b.windows.shape[-1]) for b in pending])
        probs = await self.engine.infer(flat)
        i = 0
        for b in pending:
            n, ch = b.windows.shape[:2]
            self.deliver(b, probs[i : i + n * ch].reshape(n, ch, probs.shape[1]))
            i += n * ch
