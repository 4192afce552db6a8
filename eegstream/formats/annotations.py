"""Seizure marks from a recording's annotations (EDF+/BDF+ annotations, XDF marker samples), by one text rule."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from eegd.eegstream.formats.channels import RecordingError

ONSET_ONLY_S = 60.0  # an onset-only seizure mark with no end mark after it lasts this long
_WORDS = re.compile(r"[a-z]+")
_NEGATIONS = ("no", "non", "free", "pre", "post", "inter")
_NEGATED = re.compile(r"^(non|pre|post|inter)(seiz|ictal|sz)")


@dataclass(frozen=True)
class Annotation:
    """`onset` seconds from the recording's first sample; `duration` None when the mark has none."""

    onset: float
    duration: float | None
    text: str


def is_seizure(text: str) -> bool:
    """Contains `seiz` or the word `sz` (any case) and does not negate it: no word is `no`, `non`, `free`,
    `pre`, `post` or `inter`, and none starts with `non`, `pre`, `post` or `inter` followed by `seiz`, `ictal`
    or `sz` ("seizure-free", "pre-seizure", "preictal", "non seizure" are not seizures)."""
    words = _WORDS.findall(text.lower())
    if not any("seiz" in w for w in words) and "sz" not in words:
        return False
    return not any(w in _NEGATIONS or _NEGATED.match(w) for w in words)


def is_end_mark(text: str) -> bool:
    """An annotation that ends an onset-only seizure mark: its text contains `end` or `offset`."""
    lower = text.lower()
    return "end" in lower or "offset" in lower


def seizure_spans(annotations: Sequence[Annotation], duration_s: float, what: str) -> list[tuple[float, float]]:
    """(start, end) seconds of every seizure marked, merged where they overlap and clipped to the recording.
    A mark with a duration lasts for it; one without lasts until the next annotation whose text contains
    `end` or `offset`, else ONSET_ONLY_S. A seizure mark with a negative onset or one past the recording's end
    is refused (it says the annotations do not belong to these signals)."""
    spans: list[tuple[float, float]] = []
    marks = sorted(annotations, key=lambda a: a.onset)
    for i, a in enumerate(marks):
        if not is_seizure(a.text) or (a.duration is None and is_end_mark(a.text)):
            continue
        if not np.isfinite(a.onset) or a.onset < 0 or a.onset > duration_s + 1.0:
            raise RecordingError(f"{what}: seizure annotation {a.text!r} at {a.onset:g} s lies outside the "
                                 f"recording (0 to {duration_s:g} s)")
        if a.duration is not None and a.duration > 0:
            end = a.onset + a.duration
        else:
            ends = [b.onset for b in marks[i + 1:] if is_end_mark(b.text) and b.onset >= a.onset]
            end = ends[0] if ends else a.onset + ONSET_ONLY_S
        spans.append((a.onset, min(end, duration_s)))
    merged: list[tuple[float, float]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        elif e > s:
            merged.append((s, e))
    return merged
