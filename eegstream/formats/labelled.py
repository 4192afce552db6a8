"""A recorded file cut into labelled pieces at the model's rate, by its label column or its seizure annotations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from eegd.eegstream.formats.annotations import seizure_spans
from eegd.eegstream.formats.channels import RecordingError
from eegd.eegstream.formats.csv import ContinuousCsv, Recording
from eegd.eegstream.formats.readers import open_recording
from eegd.eegstream.formats.recording import Playback
from eegd.eegstream.labels import LABELS, label_index
from eegd.eegstream.resampler import Resampler

PIECE_S = 600.0  # a labelled run longer than this is read (and scored as a recording) in pieces this long
READ_S = 30.0  # seconds read from the file (and resampled) at a time


def label_spans(pb: Playback, what: str) -> list[tuple[int, int, str]]:
    """(first, end) sample indices at the playback rate of each run of one label, in order: a continuous CSV's
    `label` column, else seizure where the annotations mark one and normal elsewhere."""
    if isinstance(pb.rec, ContinuousCsv):
        runs = pb.rec.label_runs()
        if not runs:
            raise RecordingError(f"{what}: no label column, cannot score it")
        return [(a, b, LABELS[lab]) for a, b, lab in runs]
    spans = seizure_spans(pb.rec.annotations, pb.duration_s, what)
    edges = [(round(a * pb.rate), round(b * pb.rate)) for a, b in spans]
    out, at = [], 0
    for a, b in edges:
        if a > at:
            out.append((at, a, "normal"))
        out.append((a, b, "seizure"))
        at = b
    if at < pb.n_samples:
        out.append((at, pb.n_samples, "normal"))
    return out


def labelled_pieces(path: str | Path, model_rate: float, stream: str | None = None,
                    channels: tuple[str, ...] | None = None, piece_s: float = PIECE_S, rate: float | None = None,
                    ) -> Iterator[Recording]:
    """The file's labelled runs as recordings at `model_rate` (each piece resampled on its own), read one piece
    at a time: a day-long file never sits in memory whole. `rate`: a CSV file's rate without timestamps."""
    pb = Playback(open_recording(path, rate, stream), channels)
    if isinstance(pb.rec, ContinuousCsv) and pb.rec.late_error is not None:
        pb.close()
        raise pb.rec.late_error  # scores of a file's good part would read as scores of the file
    stem = Path(path).stem
    step = max(1, int(piece_s * pb.rate))
    read_step = max(1, int(READ_S * pb.rate))
    resample = abs(pb.rate / model_rate - 1) > 0.005
    try:
        for first, end, label in label_spans(pb, str(path)):
            for a in range(first, end, step):
                b = min(end, a + step)
                resampler = Resampler(pb.rate, model_rate, len(pb.channels)) if resample else None
                parts = []  # the piece read and resampled READ_S at a time: the transient memory stays small
                for c in range(a, b, read_step):
                    block = pb.read(c, min(b, c + read_step))
                    parts.append(resampler.process(block.samples, block.timestamps)[0] if resampler
                                 else block.samples)
                yield Recording(id=f"{stem}@{a / pb.rate:.0f}s", samples=np.concatenate(parts).astype(np.float32),
                                rate=model_rate, channels=pb.channels, label=label_index(label))
    finally:
        pb.close()
