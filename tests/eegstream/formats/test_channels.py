import pytest

from eegd.eegstream.formats.channels import Channel, RecordingError, channel_kind, pick_channels, unique_labels


def test_empty_and_repeated_labels_get_stable_names():
    assert unique_labels(["Fp1", "", "Fp1", " ", "Fp1"]) == ("Fp1", "ch2", "Fp1-2", "ch4", "Fp1-3")


@pytest.mark.parametrize(("label", "unit", "declared", "kind"), [
    ("Fp1", "uV", "", "eeg"), ("EEG Fp1-REF", "", "", "eeg"), ("C3", "mV", "", "eeg"),
    ("ECG", "mV", "", "ecg"), ("EKG1", "uV", "", "ecg"), ("X1", "uV", "ECG", "ecg"),
    ("Status", "Boolean", "", "status"),
    ("SpO2", "%", "", "spo2"), ("EMG chin", "uV", "", "emg"), ("Resp", "", "", "resp"), ("Photic", "", "", "misc"),
    ("A1", "", "EEG", "eeg"), ("Temp", "degC", "", "misc"),
])
def test_channel_kind_from_label_type_and_unit(label, unit, declared, kind):
    assert channel_kind(label, unit, declared) == kind


def test_only_eeg_channels_play_unless_others_are_named():
    chans = [Channel("Fp1", 256, "uV", "eeg"), Channel("ECG", 256, "mV", "ecg"), Channel("Cz", 256, "uV", "eeg")]
    assert pick_channels(chans, None, "f") == [0, 2]
    assert pick_channels(chans, ("ECG", "Fp1"), "f") == [1, 0]
    with pytest.raises(RecordingError, match="no EEG channel"):
        pick_channels(chans[1:2], None, "f")
    with pytest.raises(RecordingError, match="O2 not in the file"):
        pick_channels(chans, ("O2",), "f")
