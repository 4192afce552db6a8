import uuid

import numpy as np
import pytest

from eegd.eegstream.sources.liblsl import pylsl
from eegd.eegstream.sources.lsl_metadata import ChannelMeta, channel_scales, predicate, uv_per_unit


@pytest.mark.parametrize(("unit", "uv"), [
    ("microvolts", 1.0), ("µV", 1.0), ("μV", 1.0), ("uV", 1.0), ("UV", 1.0), ("millivolts", 1e3), ("mV", 1e3),
    ("volts", 1e6), ("V", 1e6), ("-6", 1.0), ("-3", 1e3), ("0", 1e6), ("%", None), ("bpm", None),
])
def test_unit_words_and_mne_lsl_power_of_ten_codes_become_microvolts(unit, uv):
    assert uv_per_unit(unit) == (pytest.approx(uv) if uv is not None else None)


def test_channels_without_a_unit_are_microvolts_and_a_config_unit_overrides_all():
    chans = [ChannelMeta("Fp1", "millivolts", "EEG"), ChannelMeta("Fp2", None, "EEG"), ChannelMeta("SpO2", "%", None)]
    scales, notes = channel_scales(chans)
    np.testing.assert_allclose(scales, [1e3, 1.0, 1.0])
    assert any("taken as µV" in n for n in notes) and any("SpO2" in n for n in notes)
    np.testing.assert_allclose(channel_scales(chans, "V")[0], [1e6] * 3)


def test_name_and_type_resolve_in_any_case_source_id_exactly():
    sid = f"eegd-test-Case-{uuid.uuid4().hex[:8]}"
    info = pylsl.StreamInfo("MNE-LSL-Player", "eeg", 1, 100, "float32", sid)
    outlet = pylsl.StreamOutlet(info)
    try:
        for pred in (predicate("mne-lsl-player", "EEG", sid), predicate(None, "EEG", sid)):
            assert [i.source_id() for i in pylsl.resolve_bypred(pred, 1, 3.0)] == [sid]
        assert pylsl.resolve_bypred(predicate(None, None, sid.lower()), 1, 1.0) == []
    finally:
        del outlet


def test_a_quote_in_a_name_is_refused():
    with pytest.raises(ValueError, match="single quote"):
        predicate("bed's", None, None)
