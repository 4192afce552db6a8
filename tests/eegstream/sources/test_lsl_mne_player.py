"""eegd's LSL source against the real peer users stream from: MNE-LSL's PlayerLSL (double64, type eeg, volts)."""

import asyncio

import numpy as np
import pytest

pytest.importorskip("mne_lsl", reason="mne-lsl is a test dependency (pip install mne-lsl)")

from mne_player import CHANNELS, samples_uv  # noqa: E402
from mne_player_process import playing  # noqa: E402

from eegd.eegstream.sources.lsl import LslSource  # noqa: E402


async def test_mne_lsl_player_stream_arrives_as_the_recording_in_microvolts():
    with playing(30) as sid:
        src = LslSource(type_="EEG", source_id=sid)  # the player says "eeg": type matches in any case
        info = await src.open()
        got, it = [], src.chunks()
        try:
            while sum(len(c.samples) for c in got) < 512:
                got.append(await asyncio.wait_for(anext(it), 5))
        finally:
            await it.aclose()
            await src.close()
    assert info.channels == CHANNELS and info.rate == 256.0
    x = np.concatenate([c.samples for c in got])
    truth = samples_uv()
    start = int(np.flatnonzero(np.abs(truth[:, 0] - x[0, 0]) < 1e-3)[0])  # where in the recording the inlet began
    np.testing.assert_allclose(x, truth[start: start + len(x)], rtol=1e-5, atol=1e-3)
