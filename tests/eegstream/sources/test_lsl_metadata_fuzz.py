"""Fuzzing an LSL stream's header as liblsl parses it from the network: any XML gives a usable layout and channels
or one line saying why the stream cannot be used, never another exception."""

import ctypes

import pytest
from fuzzing import digits_replaced, mutated, value_or_error
from hypothesis import example, given
from hypothesis import strategies as st
from pylsl.lib import lib

from eegd.eegstream.sources.liblsl import pylsl
from eegd.eegstream.sources.lsl_metadata import (
    MAX_CHANNELS,
    UNIT_CHOICES,
    channel_scales,
    layout_problem,
    read_channels,
)

pytestmark = pytest.mark.fuzz

_from_xml = lib.lsl_streaminfo_from_xml
_from_xml.restype, _from_xml.argtypes = ctypes.c_void_p, [ctypes.c_char_p]


def _seed() -> str:
    info = pylsl.StreamInfo("Bed", "EEG", 3, 256.0, pylsl.cf_float32, "fuzz-seed")
    info.reset_uid()  # liblsl refuses a header without one
    chans = info.desc().append_child("channels")
    for label, unit in (("Fp1", "microvolts"), ("Fp2", "-6"), ("ECG", "mV")):
        ch = chans.append_child("channel")
        ch.append_child_value("label", label)
        ch.append_child_value("unit", unit)
        ch.append_child_value("type", "EEG")
    return info.as_xml()


SEED = _seed()


class Unusable(Exception):
    pass


def _describe(xml: bytes, unit: str) -> tuple[list, object]:
    info = pylsl.StreamInfo(handle=_from_xml(xml))
    problem = layout_problem(info)
    if problem:
        raise Unusable(problem)
    meta = read_channels(info)
    assert len(meta) == info.channel_count() <= MAX_CHANNELS and all(c.label for c in meta)
    scales, _ = channel_scales(meta, unit)
    assert len(scales) == len(meta)
    return meta, scales


def test_seed_header_reads_three_channels_with_their_units():
    meta, scales = _describe(SEED.encode(), "auto")
    assert [c.label for c in meta] == ["Fp1", "Fp2", "ECG"] and list(scales) == [1.0, 1.0, 1000.0]


@given(st.one_of(mutated(SEED.encode()), digits_replaced(SEED).map(str.encode)), st.sampled_from(UNIT_CHOICES))
@example(SEED.replace("<channel_count>3<", "<channel_count>99999999<").encode(), "auto")  # was a 99999999-row list
@example(SEED.replace("<nominal_srate>256", "<nominal_srate>nan").encode(), "auto")  # liblsl: invalid header, rate 0
def test_any_stream_header_is_used_or_refused_in_one_line(xml, unit):
    value_or_error(Unusable, lambda: _describe(xml, unit))
