import numpy as np
import pytest
from xdf_writer import XdfStream, write_xdf

from eegd.eegstream.formats.channels import RecordingError
from eegd.eegstream.formats.readers import open_recording
from eegd.eegstream.formats.recording import Playback

T0 = 5000.0  # LSL clock of the first sample


def eeg_stream(name="amp", n=256 * 4, seed=0):
    rng = np.random.default_rng(seed)
    return XdfStream(name, "EEG", 256, T0 + np.arange(n) / 256, rng.normal(0, 40, (n, 3)).astype(np.float32),
                     [("Fp1", "microvolts", "EEG"), ("Fp2", "millivolts", "EEG"), ("EKG", "millivolts", "ECG")],
                     source_id=f"{name}-1")


def markers(times, texts):
    return XdfStream("marks", "Markers", 0, np.array(times), [[t] for t in texts], [("m", "", "")], fmt="string")


def test_the_eeg_stream_plays_on_the_files_lsl_clock_and_markers_are_annotations(tmp_path):
    eeg = eeg_stream()
    path = write_xdf(tmp_path / "rec.xdf", [markers([T0 + 1, T0 + 2.5], ["seizure onset", "seizure end"]), eeg])
    rec = open_recording(path)
    assert [(c.label, c.kind) for c in rec.channels] == [("Fp1", "eeg"), ("Fp2", "eeg"), ("EKG", "ecg")]
    assert [(round(a.onset, 6), a.text) for a in rec.annotations] == [(1.0, "seizure onset"), (2.5, "seizure end")]
    pb = Playback(rec)
    block = pb.read(0, 256 * 4)
    assert pb.channels == ("Fp1", "Fp2") and pb.rate == 256
    np.testing.assert_allclose(block.timestamps, eeg.timestamps, atol=1e-9)
    np.testing.assert_allclose(block.samples, eeg.values[:, :2] * [1, 1000], rtol=1e-6)


def test_several_eeg_streams_need_a_name(tmp_path):
    path = write_xdf(tmp_path / "two.xdf", [eeg_stream("left"), eeg_stream("right", seed=1)])
    with pytest.raises(RecordingError, match=r"two.xdf: 2 EEG streams \(left, right\): say which one with --stream"):
        open_recording(path)
    right = open_recording(path, stream="right")
    np.testing.assert_allclose(right.read(0, 0, 10), eeg_stream("right", seed=1).values[:10, 0], rtol=1e-6)
    with pytest.raises(RecordingError, match="no stream named 'middle'"):
        open_recording(path, stream="middle")


def test_an_xdf_without_an_eeg_stream_or_not_an_xdf_is_refused(tmp_path):
    path = write_xdf(tmp_path / "marks.xdf", [markers([T0], ["start"])])
    with pytest.raises(RecordingError, match=r"marks.xdf: no EEG stream \(streams: marks\)"):
        open_recording(path)
    junk = tmp_path / "junk.xdf"
    junk.write_bytes(b"not an xdf at all")
    with pytest.raises(RecordingError, match="junk.xdf: not a readable XDF file"):
        open_recording(junk)
