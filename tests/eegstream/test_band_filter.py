import numpy as np
import pytest

from eegd.eegstream.band_filter import BandFilter, BandSettings

RATE = 256.0


def amplitude(x, hz):
    spectrum = np.abs(np.fft.rfft(x)) * 2 / len(x)
    return spectrum[np.argmin(np.abs(np.fft.rfftfreq(len(x), 1 / RATE) - hz))]


def filtered(x, settings=None, chunk=13):
    f = BandFilter(settings or BandSettings(), RATE, x.shape[1])
    return np.concatenate([f.process(x[i: i + chunk]) for i in range(0, len(x), chunk)])


def test_eeg_band_passes_while_mains_hum_drift_and_offset_go():
    t = np.arange(int(30 * RATE)) / RATE
    eeg = 20 * np.sin(2 * np.pi * 10 * t)
    x = (eeg + 300 + 50 * np.sin(2 * np.pi * 50 * t) + 80 * np.sin(2 * np.pi * 0.05 * t))[:, None]
    y = filtered(x)[int(10 * RATE):, 0]
    assert amplitude(y, 10) == pytest.approx(20, rel=0.02)
    assert amplitude(y, 50) < 0.05 and abs(y.mean()) < 0.5
    assert amplitude(filtered(x, BandSettings(notch_hz=60.0))[int(10 * RATE):, 0], 50) > 1  # the 60 Hz notch


def test_a_dc_offset_gives_no_start_up_step():
    y = filtered(np.full((512, 2), 2000.0))
    assert np.abs(y).max() < 1e-3


def test_non_finite_samples_stay_nan_and_do_not_poison_the_state():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 20, (2048, 2))
    x[500:510, 0] = np.nan
    y = filtered(x)
    assert np.isnan(y[500:510, 0]).all() and np.isfinite(np.delete(y, np.s_[500:510], axis=0)).all()


def test_settings_that_cannot_work_are_named():
    assert "high_hz" in BandSettings(low_hz=45).problem()
    with pytest.raises(ValueError, match="low_hz 30"):
        BandFilter(BandSettings(low_hz=30.0), 50.0, 1)  # 0.45 x 50 Hz leaves no band above 30 Hz
    BandFilter(BandSettings(), 64.0, 1)  # a slow device: the band ends at 28.8 Hz
