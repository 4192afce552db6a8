"""Fuzzing the raw-sample message: any payload gives a chunk of the shape it declares or one RawPayloadError line."""

import json

import numpy as np
import pytest
from fuzzing import json_values, mutated, value_or_error
from hypothesis import example, given
from hypothesis import strategies as st

from eegd.eegstream.formats.raw_payload import RawChunk, RawPayloadError, encode_binary, encode_json, parse

pytestmark = pytest.mark.fuzz

CHANNELS = ("Fp1", "Fp2", "C3")
X = np.arange(30, dtype=np.float32).reshape(10, 3) - 15
SEEDS = [encode_json(1.7e9, 256.0, CHANNELS, X, 7), encode_binary(1.7e9, 256.0, CHANNELS, X, 7),
         encode_binary(1.7e9, 256.0, CHANNELS, X, None, scale=0.1)]

def _check(payload: bytes) -> None:
    chunk = value_or_error(RawPayloadError, lambda: parse(payload))
    if chunk is not None:
        assert isinstance(chunk, RawChunk) and chunk.samples.dtype == np.float32
        assert chunk.samples.ndim == 2 and chunk.samples.shape[1] == len(chunk.channels) >= 1
        assert np.isfinite(chunk.t0) and chunk.rate > 0


@given(st.one_of(*(mutated(s) for s in SEEDS)))
@example(b"EEGR")
@example(b"")
def test_any_raw_payload_parses_or_is_refused_in_one_line(payload):
    _check(payload)


@given(st.fixed_dictionaries({}, optional={"schema": st.just(1) | json_values, "t0": json_values, "rate": json_values,
                                           "seq": json_values, "channels": json_values | st.lists(st.text(max_size=3),
                                                                                                  max_size=4),
                                           "samples": json_values | st.lists(st.lists(json_values, max_size=4),
                                                                             max_size=4)}))
@example({"schema": 1, "t0": 1.0, "rate": 256.0, "channels": ["a"], "samples": [[1.0], [[2.0]]]})
@example({"schema": 1, "t0": 1.0, "rate": 256.0, "channels": ["a"], "samples": [[1e39]]})
def test_any_json_object_parses_or_is_refused_in_one_line(msg):
    _check(json.dumps(msg).encode())
