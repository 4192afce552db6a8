"""What a recorded file's channels are: stable labels, their kind (EEG or not), µV per unit, and the ones played."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# µV per unit, by the unit's word (lower case, µ/μ as u)
UV_PER_UNIT: dict[str, float] = {
    "v": 1e6, "volt": 1e6, "volts": 1e6,
    "mv": 1e3, "millivolt": 1e3, "millivolts": 1e3,
    "uv": 1.0, "microvolt": 1.0, "microvolts": 1.0,
    "nv": 1e-3, "nanovolt": 1e-3, "nanovolts": 1e-3,
}
_POWER_OF_TEN = re.compile(r"^[+-]?\d{1,2}$")
# words in a label or declared type that say a channel is not EEG, and the kind each one means
_NOT_EEG = {
    "ecg": "ecg", "ekg": "ecg", "emg": "emg", "eog": "eog", "spo2": "spo2", "sao2": "spo2", "pleth": "spo2",
    "status": "status", "trigger": "status", "trig": "status", "event": "status", "marker": "status",
    "markers": "status", "resp": "resp", "temp": "misc", "pulse": "misc", "hr": "misc", "photic": "misc",
    "light": "misc", "position": "misc", "annotations": "status", "aux": "misc", "misc": "misc",
}
_WORDS = re.compile(r"[a-z0-9]+")


class RecordingError(ValueError):
    """A recorded file that cannot be read or played; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Channel:
    """One channel of a recorded file: its (unique) label, sample rate, unit as written, and kind (`eeg`,
    `ecg`, `emg`, `eog`, `spo2`, `resp`, `status` or `misc`)."""

    label: str
    rate: float
    unit: str
    kind: str

    @property
    def uv_per_unit(self) -> float | None:
        """The factor to µV for a voltage unit, else None (a channel in other units is never converted)."""
        return uv_per_unit(self.unit)


def uv_per_unit(unit: str) -> float | None:
    """µV per unit of a unit word or MNE-LSL power-of-ten code; None when the text is not a voltage unit."""
    text = unit.strip().lower().replace("µ", "u").replace("μ", "u")
    if _POWER_OF_TEN.match(text):
        return 10.0 ** (int(text) + 6)
    return UV_PER_UNIT.get(text)


def unique_labels(labels: Sequence[str]) -> tuple[str, ...]:
    """Labels made unique and non-empty, stably: an empty label becomes `ch{N}` (N its 1-based position), a
    repeat `{label}-2`, `{label}-3`, ... in file order."""
    out: list[str] = []
    taken: set[str] = set()
    for i, raw in enumerate(labels, start=1):
        base = raw.strip() or f"ch{i}"
        label, k = base, 1
        while label in taken:
            k += 1
            label = f"{base}-{k}"
        taken.add(label)
        out.append(label)
    return tuple(out)


def channel_kind(label: str, unit: str, declared: str = "") -> str:
    """A channel's kind from its declared type (XDF's channel `type`, EDF's label prefix or transducer), its
    label and its unit: a word such as ECG, EMG, EOG, SpO2 or Status says what it is; otherwise a declared or
    label prefix `EEG`, or a voltage unit, makes it EEG; anything else is `misc`."""
    for text in (declared, label):
        for word in _WORDS.findall(text.lower()):
            for w in (word, word.rstrip("0123456789")):  # "EKG1", "EMG2" as well
                if w in _NOT_EEG:
                    return _NOT_EEG[w]
    if "eeg" in _WORDS.findall(declared.lower()) or label.strip().lower().startswith("eeg"):
        return "eeg"
    return "eeg" if uv_per_unit(unit) is not None else "misc"


def pick_channels(channels: Sequence[Channel], wanted: Sequence[str] | None, what: str) -> list[int]:
    """The indices played: the named channels in the order named (any kind), else every EEG channel."""
    labels = [c.label for c in channels]
    if wanted:
        missing = [w for w in wanted if w not in labels]
        if missing:
            raise RecordingError(f"{what}: channel(s) {', '.join(missing)} not in the file ({', '.join(labels)})")
        return [labels.index(w) for w in wanted]
    eeg = [i for i, c in enumerate(channels) if c.kind == "eeg"]
    if not eeg:
        kinds = ", ".join(f"{c.label} ({c.kind})" for c in channels) or "none"
        raise RecordingError(f"{what}: no EEG channel (channels: {kinds}); name the ones to play with `channels`")
    return eeg
