import numpy as np

from eegd.eegstream.band_filter import BandFilter, BandSettings
from eegd.eegstream.quality import FLAT, QualityLimits
from eegd.eegstream.stream_block import StreamBlock


def test_block_streams_are_band_filtered_and_a_flat_one_is_flat_at_once():
    rate = 173.61
    t = np.arange(int(20 * rate)) / rate
    eeg = 40 * np.sin(2 * np.pi * 7 * t) + 300 * np.sin(2 * np.pi * 50 * t)  # EEG with mains hum
    x = np.stack([eeg, eeg]).astype(np.float32)
    x[1, t >= 10] = 350.0  # the second stream's electrode comes off
    block = StreamBlock(2, 120, 30, QualityLimits(), band=BandFilter(BandSettings(enabled=True), rate, 2))
    outs = [(t[a], block.push(x[:, a : a + 30], t[a : a + 30])) for a in range(0, len(t), 30)]
    late = [o for t0, o in outs if t0 > 10.8 and len(o.t_start)]
    assert all((o.issues[1] == FLAT).all() and (o.issues[0] == 0).all() for o in late)
    assert np.abs(late[-1].windows[0]).max() < 60  # the hum is gone from what the model sees
