import asyncio
import time

import numpy as np
import pytest

from eegd.eegstream.sources.file import FileSource
from eegd.eegstream.sources.protocol import SourceError
from eegd.eegstream.sources.simulator import write_continuous_csv


async def collect(src):
    out = []
    async for c in src.chunks():
        out.append(c)
    return out


async def test_fast_playback_yields_the_whole_file_in_order(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("eeg\n" + "\n".join(str(i) for i in range(5000)) + "\n")
    src = FileSource(p, speed=0)
    info = await src.open()
    chunks = await collect(src)
    assert info.rate == 173.61 and info.channels == ("eeg",)
    np.testing.assert_array_equal(np.concatenate([c.samples for c in chunks])[:, 0], np.arange(5000))
    np.testing.assert_allclose(np.concatenate([c.timestamps for c in chunks]), np.arange(5000) / 173.61)


async def test_real_time_pacing_follows_speed(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("timestamp,eeg\n" + "\n".join(f"{i / 100},{i}" for i in range(101)) + "\n")  # 1 s at 100 Hz
    src = FileSource(p, speed=2.0)
    await src.open()
    t0 = time.monotonic()
    await collect(src)
    assert 0.4 < time.monotonic() - t0 < 0.8


async def test_loop_continues_the_clock(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("eeg\n" + "\n".join("1" for _ in range(100)) + "\n")
    src = FileSource(p, speed=0, loop=True)
    await src.open()
    ts = []
    async for c in src.chunks():
        ts.append(c.timestamps)
        if len(ts) == 3:
            break
    t = np.concatenate(ts)
    np.testing.assert_allclose(np.diff(t), 1 / 173.61, rtol=1e-9)


async def test_file_malformed_half_way_plays_the_good_rows_then_fails_naming_the_row(tmp_path):
    p = tmp_path / "half.csv"
    p.write_text("eeg\n" + "\n".join(str(i) for i in range(300)) + "\noops\n1\n")
    src = FileSource(p, speed=0)
    await src.open()
    got = []
    with pytest.raises(SourceError, match=r"half\.csv: row 302, column 'eeg': non-numeric value 'oops'"):
        async for c in src.chunks():
            got.append(c.samples)
    np.testing.assert_array_equal(np.concatenate(got)[:, 0], np.arange(300))
    await asyncio.sleep(0)


async def test_paced_playback_hands_each_window_its_samples_in_one_chunk(tmp_path):
    from eegd.eegstream.quality import QualityLimits
    from eegd.eegstream.stream_windows import StreamWindows

    rate, n = 256.0, 1024  # 4 s at 256 Hz, resampled to the model's rate
    p = tmp_path / "a.csv"
    p.write_text("timestamp,eeg\n" + "\n".join(f"{i / rate},{np.sin(i / 5) * 30:.3f}" for i in range(n)) + "\n")
    src = FileSource(p, speed=8.0)
    info = await src.open()
    sw = StreamWindows(info.rate, 1, 173.61, 120, 30, QualityLimits())
    passes, windows = 0, 0
    async for c in src.chunks(want=sw.samples_wanted):
        out = sw.push(c.samples, c.timestamps)
        passes += 1
        windows += len(out.windows)
        assert len(out.windows) <= 1  # released when the next window is due, not later
    assert windows == (int(n * 173.61 / rate) - 120) // 30 + 1
    assert passes <= windows + 4  # one pass per window, plus the first window's (chunks hold at most 0.25 s)


async def test_a_file_paced_faster_than_it_can_be_read_still_lets_the_event_loop_run(tmp_path):
    """Behind schedule, a paced file yields between chunks: other streams and a shutdown signal are not starved."""

    p = write_continuous_csv(tmp_path / "long.csv", [("normal", 120)], seed=0)
    src = FileSource(p, speed=1e9)
    await src.open()
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    chunks = [c async for c in src.chunks(want=lambda: 30)]  # a window at a time, all of them overdue
    task.cancel()
    assert len(chunks) > 100 and ticks >= len(chunks) // 2
