"""Train/test splits made by recording, stratified by class and seeded: no recording on both sides."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.model_selection import StratifiedKFold, train_test_split

from eegd.eegstream.formats.csv import Recording


def _strata(recordings: Sequence[Recording]) -> np.ndarray:
    """Stratify by UCI set when known (finer than, and so also balanced by, the product label)."""
    return np.array([r.uci_y if r.uci_y is not None else r.label for r in recordings])


class SplitError(ValueError):
    """Too few recordings (of some label) for the split asked for."""


def split_by_recording(recordings: Sequence[Recording], test_fraction: float, seed: int,
                       ) -> tuple[list[Recording], list[Recording]]:
    if not 0 < test_fraction < 1:
        raise ValueError(f"test fraction must be between 0 and 1, got {test_fraction}")
    strata, counts = np.unique(_strata(recordings), return_counts=True)
    n_test = int(np.ceil(test_fraction * len(recordings)))
    if counts.min() < 2 or n_test < len(strata) or len(recordings) - n_test < len(strata):
        raise SplitError(f"{len(recordings)} labelled recordings are too few for a validation split by recording "
                         f"(the rarest label has {counts.min()}; each label needs some on both sides)")
    idx = np.arange(len(recordings))
    train, test = train_test_split(idx, test_size=test_fraction, random_state=seed, stratify=_strata(recordings))
    return [recordings[i] for i in sorted(train)], [recordings[i] for i in sorted(test)]


def kfold_by_recording(recordings: Sequence[Recording], folds: int, seed: int,
                       ) -> list[tuple[list[Recording], list[Recording]]]:
    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    strata = _strata(recordings)
    return [([recordings[i] for i in tr], [recordings[i] for i in te])
            for tr, te in skf.split(np.zeros(len(recordings)), strata)]
