import numpy as np
import orjson
import pytest

from eegd.eegstream.formats.raw_payload import RawPayloadError, encode_binary, encode_json, parse

CHANNELS = ("Fp1", "Fp2", "C3")


def samples(n=10, seed=0):
    return np.random.default_rng(seed).normal(0, 40, (n, len(CHANNELS))).astype(np.float32)


def test_json_message_reads_back_as_float32_microvolts_with_its_seq():
    x = samples()
    raw = parse(encode_json(1700000000.25, 256.0, CHANNELS, x, 7))
    assert (raw.t0, raw.rate, raw.channels, raw.seq) == (1700000000.25, 256.0, CHANNELS, 7)
    assert raw.samples.dtype == np.float32
    np.testing.assert_array_equal(raw.samples, x)


def test_seq_is_optional():
    assert parse(encode_json(1.0, 256.0, CHANNELS, samples(), None)).seq is None


def test_binary_float32_message_carries_the_same_samples_in_fewer_bytes():
    x = samples(12)
    raw = parse(encode_binary(5.5, 512.0, CHANNELS, x, 3))
    assert (raw.t0, raw.rate, raw.channels, raw.seq) == (5.5, 512.0, CHANNELS, 3)
    np.testing.assert_array_equal(raw.samples, x)
    assert len(encode_binary(5.5, 512.0, CHANNELS, x, 3)) < len(encode_json(5.5, 512.0, CHANNELS, x, 3)) / 2


def test_binary_int16_message_is_scaled_back_to_microvolts():
    x = samples(8)
    raw = parse(encode_binary(0.0, 256.0, CHANNELS, x, None, scale=0.1))
    assert raw.seq is None
    np.testing.assert_allclose(raw.samples, x, atol=0.05 + 1e-4)


def json_with(**changes):
    msg = {"schema": 1, "t0": 1.0, "rate": 256.0, "channels": list(CHANNELS), "samples": samples(4).tolist()}
    msg.update(changes)
    return orjson.dumps({k: v for k, v in msg.items() if v is not ...})


@pytest.mark.parametrize(("payload", "says"), [
    (b"{not json", "not JSON"),
    (b"[1, 2]", "not a JSON object"),
    (json_with(schema=2), "schema 2"),
    (json_with(t0="now"), "t0"),
    (json_with(t0=...), "t0"),
    (json_with(rate=0), "rate"),
    (json_with(rate=True), "rate"),
    (json_with(channels=[]), "channels"),
    (json_with(channels=["Fp1", "Fp1", "C3"]), "twice"),
    (json_with(samples=[[1, 2, 3], [1, 2]]), "samples[1]: 2 values for 3 channels"),
    (json_with(samples=[[1, 2, 3], 4]), "samples[1]: int values for 3 channels"),
    (json_with(samples=[[1, "a", 3]]), "must be numbers"),
    (json_with(samples=[[1, [2], 3]]), "must be numbers"),
    (json_with(samples=[]), "samples"),
    (json_with(seq=-1), "seq"),
    (json_with(seq=1.5), "seq"),
    (encode_binary(0.0, 256.0, CHANNELS, samples(4), 1)[:-2], "binary: "),
    (b"EEGR\x01", "shorter than its"),
])
def test_a_bad_message_is_refused_in_one_line_naming_what_is_wrong(payload, says):
    with pytest.raises(RawPayloadError) as err:
        parse(payload)
    assert says in str(err.value) and "\n" not in str(err.value)


def test_an_oversized_message_is_refused_before_it_is_parsed():
    with pytest.raises(RawPayloadError, match="over max_raw_bytes"):
        parse(b"{" + b" " * 5000, max_bytes=4096)  # not even JSON: the size is judged first
