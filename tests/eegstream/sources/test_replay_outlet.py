import asyncio
import contextlib
import uuid

import numpy as np
from edf_files import Signal, write_edf
from xdf_writer import XdfStream, write_xdf

from eegd.eegstream.sources.liblsl import pylsl
from eegd.eegstream.sources.lsl_metadata import read_channels
from eegd.eegstream.sources.replay_outlet import replay


async def first_samples(pred, n):
    """Resolve the outlet, then pull its first `n` samples and its description."""
    found = await asyncio.to_thread(pylsl.resolve_bypred, pred, 1, 10.0)
    assert found, f"no outlet {pred}"
    inlet = pylsl.StreamInlet(found[0])
    await asyncio.to_thread(inlet.open_stream, 5.0)
    info = await asyncio.to_thread(inlet.info, 5.0)
    rows, deadline = [], asyncio.get_running_loop().time() + 10
    while len(rows) < n:
        assert asyncio.get_running_loop().time() < deadline, "the outlet sent nothing"
        chunk, _ = inlet.pull_chunk(timeout=0.0)
        rows += chunk
        await asyncio.sleep(0.02)
    inlet.close_stream()
    return info, np.array(rows[:n])


def assert_played(got, data, atol):
    """`got` is a contiguous run of the file's rows (an inlet gets what is pushed after it connects; the files
    loop so that a slow resolve still finds samples coming)."""
    start = int(np.abs(data - got[0]).sum(axis=1).argmin())
    np.testing.assert_allclose(got, np.concatenate([data, data])[start : start + len(got)], atol=atol)


@contextlib.asynccontextmanager
async def replaying(*args, **kw):
    task = asyncio.create_task(replay(*args, **kw))
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_edf_replays_with_its_labels_units_and_kinds_in_microvolts(tmp_path):
    rng = np.random.default_rng(0)
    fp1, c3, ecg = (np.round(rng.uniform(-300, 300, 256 * 8)) for _ in range(3))
    path = write_edf(tmp_path / "bed.edf", [Signal("Fp1", 256, fp1), Signal("C3", 256, c3 / 1000, unit="mV",
                                                                            physical=3.2767),
                                            Signal("ECG", 256, ecg, unit="mV")])
    sid = f"eegd-test-{uuid.uuid4().hex}"
    async with replaying(path, "Bed3", speed=4.0, loop=True, source_id=sid,
                         channels=("Fp1", "C3", "ECG")):
        info, x = await first_samples(f"source_id='{sid}'", 64)
    meta = read_channels(info)
    assert [(c.label, c.unit, c.kind) for c in meta] == [("Fp1", "microvolts", "EEG"), ("C3", "microvolts", "EEG"),
                                                         ("ECG", "mV", "ECG")]
    assert info.nominal_srate() == 256 and info.type() == "EEG" and info.name() == "Bed3"
    assert_played(x, np.stack([fp1, c3, ecg], axis=1), atol=0.2)


async def test_xdf_replays_its_eeg_stream_with_its_own_type_and_source_id(tmp_path):
    sid = f"eegd-test-{uuid.uuid4().hex}"
    x = np.random.default_rng(1).normal(0, 30, (512, 2)).astype(np.float32)
    path = write_xdf(tmp_path / "lab.xdf", [XdfStream("amp", "EEG", 256, 70.0 + np.arange(512) / 256, x,
                                                      [("Cz", "microvolts", "EEG"), ("Pz", "microvolts", "EEG")],
                                                      source_id=sid)])
    async with replaying(path, "Lab", speed=4.0, loop=True):
        info, got = await first_samples(f"source_id='{sid}'", 32)
    assert info.source_id() == sid and [c.label for c in read_channels(info)] == ["Cz", "Pz"]
    assert_played(got, x, atol=1e-4)
