import numpy as np
import pytest

from eegd.eegstream.quality import FLAT, NONFINITE, QualityLimits
from eegd.eegstream.stream_windows import StreamWindows

RATE = 173.61


def make(rate=RATE, channels=1):
    return StreamWindows(rate, channels, RATE, 120, 30, QualityLimits())


def signal(n, seed=0, channels=1):
    return np.random.default_rng(seed).normal(0, 50, (n, channels)).astype(np.float32)


def test_no_window_spans_a_timestamp_gap():
    sw = make()
    x = signal(1000)
    t = np.arange(1000) / RATE
    t[500:] += 10.0  # ten seconds lost
    out = sw.push(x, t)
    assert out.gaps == 1 and out.broken
    assert not np.any((out.t_start < t[499]) & (out.t_end > t[500]))
    assert out.t_start[(out.t_start >= t[500])][0] == t[500]  # windowing restarts at the gap


def test_clock_going_back_is_a_break_too():
    sw = make()
    t = np.arange(600) / RATE
    sw.push(signal(300), t[:300])
    out = sw.push(signal(300, 1), t[300:] - 1.0)
    assert out.reversals == 1 and out.broken
    assert np.all(np.diff(out.t_start) > 0)


def test_nan_and_flat_windows_are_left_out_and_reported():
    sw = make()
    x = signal(1200)
    x[200] = np.nan
    x[800:1000] = 2.0  # electrode off
    out = sw.push(x, np.arange(1200) / RATE)
    assert out.issues == NONFINITE | FLAT and out.bad_windows > 0 and out.broken
    assert np.isfinite(out.windows).all() and (out.windows.std(axis=2) > 1).all()
    assert len(out.windows) + out.bad_windows == (1200 - 120) // 30 + 1


def test_good_signal_passes_untouched_and_resampled_streams_work():
    out = make().push(signal(600), np.arange(600) / RATE)
    assert not out.broken and out.issues == 0 and len(out.windows) == (600 - 120) // 30 + 1
    fast = make(rate=256.0, channels=2).push(signal(2560, channels=2), np.arange(2560) / 256.0)
    assert not fast.broken and fast.windows.shape[1:] == (2, 120) and len(fast.windows) > 40


def _push_seconds(sw, x, rate, chunk_s=0.5):
    """Push (n, channels) samples in chunks of chunk_s, timestamps from 0; the issue names of each chunk's output."""
    from eegd.eegstream.quality import issue_names

    step, names = int(chunk_s * rate), []
    for a in range(0, len(x), step):
        t = np.arange(a, min(a + step, len(x))) / rate
        names.append(issue_names(sw.push(x[a: a + step], t).issues))
    return names


def test_a_volts_stream_read_as_microvolts_is_a_suspect_unit_after_a_minute_an_electrode_off_is_not():
    from eegd.eegstream.quality import QualityLimits
    from eegd.eegstream.stream_windows import StreamWindows

    rate, rng = 173.61, np.random.default_rng(0)
    eeg_uv = rng.normal(0, 30, (int(70 * rate), 2)).astype(np.float32)
    volts = StreamWindows(rate, 2, rate, 120, 30, QualityLimits())
    names = _push_seconds(volts, eeg_uv * 1e-6, rate)
    assert names[10] == ["flat"]  # 5 s in: as flat as an electrode off ...
    assert names[-1] == ["flat", "suspect_unit"]  # ... but after a minute on every channel: the unit is suspect
    one_off = eeg_uv.copy()
    one_off[:, 1] = 0.0  # one electrode off, the other channel carries EEG
    off = StreamWindows(rate, 2, rate, 120, 30, QualityLimits())
    assert _push_seconds(off, one_off, rate)[-1] == ["flat"]


def test_the_band_filter_is_on_by_default_and_takes_mains_hum_out_of_the_windows():
    from eegd.eegstream.band_filter import BandSettings
    from eegd.eegstream.quality import QualityLimits
    from eegd.eegstream.stream_windows import StreamWindows

    rate = 173.61
    t = np.arange(int(20 * rate)) / rate
    x = (20 * np.sin(2 * np.pi * 10 * t) + 200 * np.sin(2 * np.pi * 50 * t))[:, None].astype(np.float32)
    plain = StreamWindows(rate, 1, rate, 120, 30, QualityLimits(), BandSettings(enabled=False)).push(x, t).windows
    hum_free = StreamWindows(rate, 1, rate, 120, 30, QualityLimits(), BandSettings()).push(x, t).windows
    assert np.abs(plain[-1]).max() > 200 and np.abs(hum_free[-1]).max() < 25  # the 10 Hz EEG is what is left


@pytest.mark.parametrize("rate", [256.0, 173.61])
def test_with_the_band_filter_an_electrode_going_flat_is_flat_at_once(rate):
    from eegd.eegstream.band_filter import BandSettings

    t = np.arange(int(30 * rate)) / rate
    x = np.stack([40 * np.sin(2 * np.pi * 7 * t), 40 * np.sin(2 * np.pi * 11 * t)], axis=1).astype(np.float32)
    x[t >= 10, 1] = 350.0  # the electrode comes off: a flat line at its offset (ringing once band-passed)
    sw = StreamWindows(rate, 2, 173.61, 120, 30, QualityLimits(), BandSettings(enabled=True))
    t_first_bad = []
    for a in range(0, len(t), 64):  # as chunks arrive
        out = sw.push(x[a : a + 64], t[a : a + 64])
        if out.bad_windows and not t_first_bad:
            t_first_bad.append(t[min(a + 63, len(t) - 1)])
        if t[a] > 12:
            assert out.bad_windows == 0 or out.issues == FLAT
            assert len(out.windows) == 0  # every window after the flat start is left out as flat
    assert 10 < t_first_bad[0] < 10 + 1.2  # within a window (0.69 s) and a chunk of going flat

