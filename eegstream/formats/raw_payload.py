"""The raw-sample message of a networked device (`{prefix}/{stream}/raw`): JSON or the compact binary encoding,
size-checked before it is parsed, read into float32 µV or refused with one line naming what is wrong."""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import numpy as np
import orjson

MAX_RAW_BYTES = 1 << 20  # NATS's default max_payload
MAX_CHANNELS = 1024
MAGIC = b"EEGR"  # a binary raw message starts with these bytes (a JSON one with "{")
# magic, version 1, sample type (1: float32 µV, 2: int16 times `scale` µV), channels, samples, t0, rate, seq
# (-1: none), scale; then the channel names (UTF-8, joined by "\n", with a uint16 length first); then the samples,
# row by row (rows are samples), little-endian
HEADER = struct.Struct("<4sBBHIddqfH")
SAMPLE_TYPES = {1: np.dtype("<f4"), 2: np.dtype("<i2")}


class RawPayloadError(ValueError):
    """A raw message that cannot be used: the one line says what was wrong with it."""


@dataclass(frozen=True, slots=True)
class RawChunk:
    """One message's samples (n, channels) float32 µV, the time of its first sample, its rate and channels, and
    its number (`seq`, None when the device sends none)."""

    t0: float
    rate: float
    channels: tuple[str, ...]
    samples: np.ndarray
    seq: int | None = None


def encode_json(t0: float, rate: float, channels: tuple[str, ...], samples: np.ndarray, seq: int | None) -> bytes:
    """The contract's JSON message: rows are samples, values µV."""
    msg = {"schema": 1, "t0": t0, "rate": rate, "channels": list(channels), "samples": samples}
    if seq is not None:
        msg["seq"] = seq
    return orjson.dumps(msg, option=orjson.OPT_SERIALIZE_NUMPY)


def encode_binary(t0: float, rate: float, channels: tuple[str, ...], samples: np.ndarray, seq: int | None,
                  scale: float | None = None) -> bytes:
    """The compact encoding: float32 µV, or with `scale` int16 counts of `scale` µV (a quarter of JSON's bytes)."""
    names = "\n".join(channels).encode()
    if scale is None:
        kind, data = 1, np.ascontiguousarray(samples, dtype="<f4")
    else:
        kind, data = 2, np.clip(np.rint(np.asarray(samples) / scale), -32768, 32767).astype("<i2")
    head = HEADER.pack(MAGIC, 1, kind, len(channels), len(data), t0, rate, -1 if seq is None else seq,
                       1.0 if scale is None else scale, len(names))
    return head + names + data.tobytes()


def parse(payload: bytes, max_bytes: int = MAX_RAW_BYTES) -> RawChunk:
    """A raw message, JSON or binary (by its first bytes), as a `RawChunk`; `RawPayloadError` otherwise."""
    if len(payload) > max_bytes:
        raise RawPayloadError(f"{len(payload)} bytes, over max_raw_bytes ({max_bytes})")
    if payload[:4] == MAGIC:
        return _parse_binary(payload)
    return _parse_json(payload)


def _parse_json(payload: bytes) -> RawChunk:
    try:
        msg = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise RawPayloadError(f"not JSON ({exc})") from None
    if not isinstance(msg, dict):
        raise RawPayloadError("not a JSON object")
    if msg.get("schema") != 1:
        raise RawPayloadError(f"schema {msg.get('schema')!r}, expected 1")
    channels = msg.get("channels")
    if not isinstance(channels, list) or not channels or len(channels) > MAX_CHANNELS \
            or not all(isinstance(c, str) and c for c in channels):
        raise RawPayloadError(f"channels: expected a list of 1 to {MAX_CHANNELS} names")
    rows = msg.get("samples")
    if not isinstance(rows, list) or not rows:
        raise RawPayloadError("samples: expected a list of sample rows")
    width = len(channels)
    bad = next((i for i, r in enumerate(rows) if not isinstance(r, list) or len(r) != width), None)
    if bad is not None:
        got = len(rows[bad]) if isinstance(rows[bad], list) else type(rows[bad]).__name__
        raise RawPayloadError(f"samples[{bad}]: {got} values for {width} channels")
    try:
        with np.errstate(over="ignore"):  # a value beyond float32 becomes inf: a bad sample, as the quality checks say
            samples = np.array(rows, dtype=np.float32)
    except (ValueError, TypeError):
        raise RawPayloadError("samples: values must be numbers") from None
    if samples.ndim != 2:  # a row of lists
        raise RawPayloadError("samples: values must be numbers")
    return _checked(msg.get("t0"), msg.get("rate"), tuple(channels), samples, msg.get("seq"))


def _parse_binary(payload: bytes) -> RawChunk:
    if len(payload) < HEADER.size:
        raise RawPayloadError(f"binary: {len(payload)} bytes, shorter than its {HEADER.size}-byte header")
    _, version, kind, width, n, t0, rate, seq, scale, names_len = HEADER.unpack_from(payload)
    if version != 1:
        raise RawPayloadError(f"binary: version {version}, expected 1")
    if kind not in SAMPLE_TYPES:
        raise RawPayloadError(f"binary: sample type {kind}, expected 1 (float32) or 2 (int16)")
    dtype = SAMPLE_TYPES[kind]
    end_names = HEADER.size + names_len
    if len(payload) != end_names + n * width * dtype.itemsize:
        raise RawPayloadError(f"binary: {len(payload)} bytes, the header says {end_names + n * width * dtype.itemsize}")
    try:
        names = payload[HEADER.size:end_names].decode().split("\n")
    except UnicodeDecodeError:
        raise RawPayloadError("binary: channel names are not UTF-8") from None
    if len(names) != width or not all(names) or not 0 < width <= MAX_CHANNELS or n == 0:
        raise RawPayloadError(f"binary: {len(names)} channel names for {width} channels, {n} samples")
    samples = np.frombuffer(payload, dtype, n * width, end_names).reshape(n, width).astype(np.float32)
    if kind == 2:
        if not (math.isfinite(scale) and scale > 0):
            raise RawPayloadError(f"binary: scale {scale}, expected > 0")
        samples *= np.float32(scale)
    return _checked(t0, rate, tuple(names), samples, None if seq < 0 else seq)


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _checked(t0: object, rate: object, channels: tuple[str, ...], samples: np.ndarray, seq: object) -> RawChunk:
    if not _number(t0):
        raise RawPayloadError(f"t0: expected seconds, got {t0!r}")
    if not _number(rate) or rate <= 0:  # type: ignore[operator]
        raise RawPayloadError(f"rate: expected Hz > 0, got {rate!r}")
    if seq is not None and (not isinstance(seq, int) or isinstance(seq, bool) or seq < 0):
        raise RawPayloadError(f"seq: expected a whole number >= 0, got {seq!r}")
    if len(set(channels)) != len(channels):
        raise RawPayloadError("channels: a name appears twice")
    return RawChunk(float(t0), float(rate), channels, samples, seq)  # type: ignore[arg-type]
