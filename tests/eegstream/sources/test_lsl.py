import asyncio
import uuid

import numpy as np
import pytest

from eegd.eegstream.sources.liblsl import pylsl
from eegd.eegstream.sources.lsl import LslSource
from eegd.eegstream.sources.protocol import SourceError

RATE = 256.0


def outlet(fmt: str, unit: str | None, channels: int = 3) -> tuple[pylsl.StreamOutlet, str]:
    sid = f"eegd-test-{fmt}-{uuid.uuid4().hex[:8]}"
    info = pylsl.StreamInfo("Amp", "EEG", channels, RATE, fmt, sid)
    chans = info.desc().append_child("channels")
    for i in range(channels):
        ch = chans.append_child("channel")
        ch.append_child_value("label", f"E{i + 1}")
        if unit is not None:
            ch.append_child_value("unit", unit)
    return pylsl.StreamOutlet(info), sid


async def received(out: pylsl.StreamOutlet, sid: str, values: np.ndarray, **kwargs) -> np.ndarray:
    """What LslSource yields for `values` pushed once the inlet is connected."""
    src = LslSource(source_id=sid, **kwargs)
    await src.open()
    got, it = [], src.chunks()
    await asyncio.sleep(0.3)
    out.push_chunk(values, pylsl.local_clock(), True)
    try:
        while sum(len(c.samples) for c in got) < len(values):
            got.append(await asyncio.wait_for(anext(it), 5))
    finally:
        await it.aclose()
        await src.close()
    samples = np.concatenate([c.samples for c in got])
    assert samples.dtype == np.float32
    return samples


@pytest.mark.parametrize(("fmt", "dtype", "unit", "uv"), [
    ("int16", np.int16, "microvolts", 1.0),
    ("float32", np.float32, "millivolts", 1e3),
    ("double64", np.float64, None, 1.0),
    ("double64", np.float64, "0", 1e6),  # MNE-LSL's code for volts
    ("int32", np.int32, "uV", 1.0),
    ("int8", np.int8, "mV", 1e3),
    ("int64", np.int64, "microvolts", 1.0),
])
async def test_every_numeric_format_arrives_as_float32_microvolts(fmt, dtype, unit, uv):
    rng = np.random.default_rng(0)
    raw = rng.integers(-100, 100, (200, 3)).astype(dtype)
    if dtype in (np.float32, np.float64):
        raw = (raw * 1e-3).astype(dtype) if uv > 1 else raw
    out, sid = outlet(fmt, unit)
    got = await received(out, sid, raw)
    np.testing.assert_allclose(got, raw.astype(np.float64) * uv, rtol=1e-6, atol=1e-6 * uv)


async def test_config_unit_overrides_the_metadata():
    out, sid = outlet("float32", "microvolts")
    raw = np.full((50, 3), 2e-5, dtype=np.float32)
    got = await received(out, sid, raw, unit="V")
    np.testing.assert_allclose(got, 20.0, rtol=1e-5)


async def test_a_string_stream_is_refused_with_one_line():
    sid = f"eegd-test-str-{uuid.uuid4().hex[:8]}"
    out = pylsl.StreamOutlet(pylsl.StreamInfo("Markers", "EEG", 1, RATE, "string", sid))
    with pytest.raises(SourceError, match="string samples, expected numbers"):
        await LslSource(source_id=sid).open()
    del out
