"""The product's three labels and their mapping from the UCI `y` codes."""

from __future__ import annotations

LABELS: tuple[str, ...] = ("seizure", "tumor", "normal")
_FROM_UCI_Y = {1: "seizure", 2: "tumor", 3: "normal", 4: "normal", 5: "normal"}


def label_from_uci_y(y: int) -> str:
    """UCI `y`: 1 seizure, 2 tumor, 3/4/5 normal; anything else raises ValueError."""
    try:
        return _FROM_UCI_Y[y]
    except KeyError:
        raise ValueError(f"unknown UCI y {y!r} (expected 1..5)") from None


def label_index(name: str) -> int:
    return LABELS.index(name)
