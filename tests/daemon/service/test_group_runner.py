import asyncio
import time

import numpy as np

from eegd.daemon.service.group_runner import GroupRunner
from eegd.eegstream.band_filter import BandSettings
from eegd.eegstream.quality import QualityLimits
from eegd.eegstream.sources.protocol import Chunk
from eegd.eegstream.stream_group import StreamGroup

RATE = 256.0


def chunk(rng, n, t0, received):
    return Chunk(timestamps=t0 + np.arange(n) / RATE, samples=rng.normal(0, 40, (n, 3)).astype(np.float32),
                 received=received)


async def test_staged_windows_are_submitted_once_gathered_with_each_streams_index_and_a_leaving_stream_keeps_its_own():
    rng = np.random.default_rng(0)
    batches, results, left = [], [], []

    async def submit(batch):
        batches.append(batch)

    runner = GroupRunner(StreamGroup(RATE, 3, 173.61, 120, 30, QualityLimits(), BandSettings()), 0.01, submit,
                         lambda index, r: results.append((index, r.count)), lambda index, overruns: left.append(index))
    a, b = runner.join(7), runner.join(9)
    task = asyncio.create_task(runner.run())
    now = time.monotonic()
    runner.stage(a, chunk(rng, 400, 0.0, now))
    runner.stage(b, chunk(rng, 400, 50.0, now))
    runner.leave(b)  # what it staged before leaving still goes to the model
    await asyncio.sleep(0.2)
    task.cancel()
    assert len(batches) == 1  # one pass for both streams
    batch = batches[0]
    assert sorted(set(batch.streams.tolist())) == [7, 9] and batch.windows.shape[1:] == (3, 120)
    per_stream = (int(400 * 173.61 / RATE) - 120) // 30 + 1  # 400 samples resampled to the model's rate
    assert batch.received == now and sorted(results) == [(7, per_stream), (9, per_stream)] and left == [9]
    assert (batch.t_start[batch.streams == 9] > 40.0).all() and (batch.t_start[batch.streams == 7] < 10.0).all()
    runner.stage(a, chunk(rng, 100, 400 / RATE, time.monotonic()))
    await runner.flush()  # at shutdown: nothing accepted is lost
    assert len(batches) == 2 and set(batches[1].streams.tolist()) == {7}
