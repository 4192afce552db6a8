"""What eegd reads from an LSL stream's description: channel labels and units, sample formats, the resolve predicate.

Units follow the XDF meta-data convention that amplifier apps write into `<channels><channel><unit>` (words such as
`microvolts`, `mV`, `V`, any case) and MNE-LSL's power-of-ten codes (`0` volts, `-3` millivolts, `-6` microvolts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from eegd.eegstream.formats.channels import uv_per_unit
from eegd.eegstream.sources.liblsl import pylsl

# LSL channel format -> the numpy dtype liblsl writes into a pull buffer (string streams carry no numbers)
SAMPLE_DTYPES: dict[int, type] = {
    pylsl.cf_float32: np.float32, pylsl.cf_double64: np.float64, pylsl.cf_int8: np.int8,
    pylsl.cf_int16: np.int16, pylsl.cf_int32: np.int32, pylsl.cf_int64: np.int64,
}
FORMAT_NAMES = {pylsl.cf_float32: "float32", pylsl.cf_double64: "double64", pylsl.cf_int8: "int8",
                pylsl.cf_int16: "int16", pylsl.cf_int32: "int32", pylsl.cf_int64: "int64",
                pylsl.cf_string: "string"}

UNIT_CHOICES = ("auto", "uV", "mV", "V")  # the `unit` config key
MAX_CHANNELS = 1024  # as for a raw MQTT message
MAX_RATE_HZ = 100_000.0


@dataclass(frozen=True)
class ChannelMeta:
    label: str
    unit: str | None  # as written in the description; None when absent
    kind: str | None  # the channel's <type>, e.g. EEG


def layout_problem(info: pylsl.StreamInfo) -> str | None:
    """Why a stream's header (rate, channel count, sample format) cannot give fixed-rate windows; None when it can."""
    rate, n, fmt = info.nominal_srate(), info.channel_count(), info.channel_format()
    if not (math.isfinite(rate) and rate > 0):
        return f"irregular sampling rate ({rate:g} Hz), cannot cut fixed-rate windows"
    if rate > MAX_RATE_HZ:
        return f"sampling rate {rate:g} Hz, above {MAX_RATE_HZ:g} Hz"
    if not 1 <= n <= MAX_CHANNELS:
        return f"{n} channels, expected 1 to {MAX_CHANNELS}"
    if fmt not in SAMPLE_DTYPES:
        return f"{FORMAT_NAMES.get(fmt, fmt)} samples, expected numbers"
    return None


def read_channels(info: pylsl.StreamInfo) -> list[ChannelMeta]:
    """Each channel's label, unit and type from the description (labels ch1..chN when they are not all there)."""
    out = []
    ch = info.desc().child("channels").child("channel")
    while not ch.empty() and len(out) < info.channel_count():
        out.append(ChannelMeta(ch.child_value("label"), ch.child_value("unit") or None, ch.child_value("type") or None))
        ch = ch.next_sibling("channel")
    if len(out) != info.channel_count() or not all(c.label for c in out):
        units = [c.unit for c in out] if len(out) == info.channel_count() else [None] * info.channel_count()
        out = [ChannelMeta(f"ch{i + 1}", units[i], None) for i in range(info.channel_count())]
    return out


def channel_scales(channels: list[ChannelMeta], unit: str = "auto") -> tuple[np.ndarray, list[str]]:
    """µV per sample value of each channel, and what was assumed (for one log line).

    `unit` "uV" / "mV" / "V" sets the whole stream; "auto" reads each channel's unit, µV where none is given.
    A unit that is not a voltage (a `%` of an SpO2 channel, say) is taken as it is (scale 1)."""
    if unit != "auto":
        return np.full(len(channels), uv_per_unit(unit), dtype=np.float32), [f"all channels in {unit} (config)"]
    scales, notes = [], []
    missing = [c.label for c in channels if c.unit is None]
    if missing:
        notes.append(f"no unit given for {len(missing)} channel(s), taken as µV")
    for c in channels:
        s = uv_per_unit(c.unit) if c.unit is not None else 1.0
        if s is None:
            notes.append(f"channel {c.label}: unit {c.unit!r} is not a voltage, values kept as they are")
            s = 1.0
        scales.append(s)
    return np.asarray(scales, dtype=np.float32), notes


def _lower(field: str) -> str:
    return f"translate({field},'ABCDEFGHIJKLMNOPQRSTUVWXYZ','abcdefghijklmnopqrstuvwxyz')"


def predicate(name: str | None, type_: str | None, source_id: str | None) -> str:
    """The XPath the outlets evaluate when resolving: name and type in any case, source_id exactly."""
    parts = [f"{_lower(k)}='{v.lower()}'" for k, v in (("name", name), ("type", type_)) if v]
    if source_id:
        parts.append(f"source_id='{source_id}'")
    if not parts:
        raise ValueError("an LSL stream needs at least one of name, type, source_id")
    quoted = [v for v in (name, type_, source_id) if v and "'" in v]
    if quoted:
        raise ValueError(f"an LSL name, type or source_id cannot hold a single quote: {quoted[0]!r}")
    return " and ".join(parts)
