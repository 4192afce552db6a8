import numpy as np
import pytest
from edf_files import Signal, set_header_field, write_edf

from eegd.eegstream.formats.channels import RecordingError
from eegd.eegstream.formats.edf import open_edf
from eegd.eegstream.formats.readers import open_recording
from eegd.eegstream.formats.recording import Playback

SECONDS = 10


def steps(rng, n, step=0.1, scale=400):
    """Values EDF's 16 bits hold exactly with a 0.1-unit step."""
    return np.round(rng.uniform(-scale, scale, n) / step) * step


@pytest.fixture
def ward_edf(tmp_path):
    rng = np.random.default_rng(0)
    sigs = [Signal("EEG Fp1", 256, steps(rng, 256 * SECONDS)), Signal("C3", 256, steps(rng, 256 * SECONDS, 0.0001, 0.4),
            unit="mV", physical=3.2767), Signal("ECG", 128, steps(rng, 128 * SECONDS), unit="mV"),
            Signal("", 128, steps(rng, 128 * SECONDS)), Signal("C3", 256, steps(rng, 256 * SECONDS))]
    path = write_edf(tmp_path / "ward.edf", sigs, [(2.0, 3.0, "Seizure"), (7.0, -1, "eyes open")])
    return path, sigs


def test_edf_channels_keep_their_labels_rates_units_and_kinds(ward_edf):
    path, _ = ward_edf
    rec = open_recording(path)
    assert [(c.label, c.rate, c.unit, c.kind) for c in rec.channels] == [
        ("EEG Fp1", 256, "uV", "eeg"), ("C3", 256, "mV", "eeg"), ("ECG", 128, "mV", "ecg"), ("ch4", 128, "uV", "eeg"),
        ("C3-2", 256, "uV", "eeg")]
    assert [(a.onset, a.duration, a.text) for a in rec.annotations] == [(2.0, 3.0, "Seizure"), (7.0, None, "eyes open")]


def test_playback_gives_eeg_in_microvolts_at_the_highest_rate(ward_edf):
    path, sigs = ward_edf
    pb = Playback(open_recording(path))
    assert pb.channels == ("EEG Fp1", "C3", "ch4", "C3-2") and pb.rate == 256 and pb.n_samples == 256 * SECONDS
    x = np.concatenate([b.samples for b in pb.blocks(0.7)])  # blocks that cut records
    np.testing.assert_allclose(x[:, 0], sigs[0].data, atol=1e-3)
    np.testing.assert_allclose(x[:, 1], sigs[1].data * 1000, atol=1e-2)  # mV -> µV
    # the 128 Hz channel, interpolated onto the 256 Hz sample times without seams at block edges
    expected = np.interp(np.arange(256 * SECONDS) / 2, np.arange(128 * SECONDS), sigs[3].data)
    np.testing.assert_allclose(x[:, 2], expected, atol=1e-3)
    assert pb.read(0, 3).timestamps.tolist() == [0, 1 / 256, 2 / 256]


def test_a_named_non_eeg_channel_plays_in_its_own_units(ward_edf):
    path, sigs = ward_edf
    pb = Playback(open_recording(path), ("ECG", "C3"))
    assert pb.channels == ("ECG", "C3") and pb.rate == 256 and pb.units == ("mV", "microvolts")
    x = pb.read(0, 256).samples
    np.testing.assert_allclose(x[::2, 0], sigs[2].data[:128], atol=1e-3)  # mV, as recorded
    np.testing.assert_allclose(x[:, 1], sigs[1].data[:256] * 1000, atol=1e-2)


def test_a_cut_edf_plays_its_complete_records_and_says_so(ward_edf, caplog):
    path, sigs = ward_edf
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) - len(raw) // 3])  # about three of ten records and a part of one lost
    rec = open_edf(path)
    kept = rec.records
    assert 5 <= kept < SECONDS and rec.n_samples(0) == 256 * kept
    assert any("header declares 10 data records" in n for n in rec.notes)
    x = Playback(rec).read(0, 256 * kept).samples
    np.testing.assert_allclose(x[:, 0], sigs[0].data[: 256 * kept], atol=1e-3)


def test_edf_plus_d_is_refused_naming_it(ward_edf):
    path, _ = ward_edf
    set_header_field(path, 192, 44, "EDF+D")
    with pytest.raises(RecordingError, match=r"ward.edf: EDF\+D/BDF\+D \(discontinuous\)"):
        open_recording(path)


def test_an_edf_still_being_recorded_plays_the_records_it_holds(ward_edf):
    path, sigs = ward_edf
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) - len(raw) // 4])  # the writer is part way through a record
    set_header_field(path, 236, 8, "-1")  # what a recorder writes until it closes the file
    rec = open_recording(path)
    assert any("record count is -1" in n for n in rec.notes)
    assert [c.label for c in rec.channels] == ["EEG Fp1", "C3", "ECG", "ch4", "C3-2"]
    assert [(a.onset, a.text) for a in rec.annotations][:1] == [(2.0, "Seizure")]
    pb = Playback(rec)
    kept = pb.n_samples // 256
    assert 5 <= kept < SECONDS
    np.testing.assert_allclose(np.concatenate([b.samples for b in pb.blocks()])[:, 0], sigs[0].data[: 256 * kept],
                               atol=1e-3)


def test_a_bdf_still_being_recorded_is_refused_with_the_records_it_holds(tmp_path):
    path = write_edf(tmp_path / "amp.bdf", [Signal("Fp1", 256, np.zeros(256 * 3), physical=262143.0)], bdf=True)
    set_header_field(path, 236, 8, "-1")
    with pytest.raises(RecordingError, match="record count is -1 .* it holds 3 complete records"):
        open_recording(path)


def test_not_an_edf_and_no_eeg_channel_are_one_line_errors(tmp_path):
    junk = tmp_path / "junk.edf"
    junk.write_text("hello" * 100)
    with pytest.raises(RecordingError, match="junk.edf: not an EDF/BDF file"):
        open_recording(junk)
    ecg = write_edf(tmp_path / "ecg.edf", [Signal("ECG", 128, np.zeros(128 * 3), unit="mV")])
    with pytest.raises(RecordingError, match=r"ecg.edf: no EEG channel \(channels: ECG \(ecg\)\)"):
        Playback(open_recording(ecg))


def test_bdf_with_a_dc_offset_and_a_status_channel(tmp_path):
    rng = np.random.default_rng(3)
    eeg = 30000 + np.round(rng.uniform(-100, 100, 512 * 4) * 32) / 32  # BioSemi: tens of mV of DC offset
    path = write_edf(tmp_path / "amp.bdf", [Signal("Fp1", 512, eeg, physical=262143.0),
                                            Signal("Status", 512, np.zeros(512 * 4), unit="Boolean")],
                     [(1.0, 1.0, "sz")], bdf=True)
    rec = open_recording(path)
    assert [c.kind for c in rec.channels] == ["eeg", "status"] and rec.annotations[0].text == "sz"
    pb = Playback(rec)
    assert pb.channels == ("Fp1",)
    np.testing.assert_allclose(pb.read(0, 512 * 4).samples[:, 0], eeg, atol=0.05)
