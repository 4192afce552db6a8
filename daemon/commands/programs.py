"""Programs installed beside this Python (its environment's `bin/`): eegd itself, the pinned nats-server."""

from __future__ import annotations

import sys
from pathlib import Path


def beside_python(name: str) -> Path:
    """`name` in the folder of this environment's Python (where pip puts a package's programs)."""
    return Path(sys.executable).parent / name


EEGD = str(beside_python("eegd"))
