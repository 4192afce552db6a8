"""Results say when, on what and by which command; the repository never narrates its own development."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# "session" stays the product's word for joined recordings ("40 sessions of 10", "fold1-session3")
NARRATIVE = re.compile(r"\b(?:(?:this|last|previous|next|earlier|later) session|sessions? \d)\b", re.I)


def tracked_text_files() -> list[Path]:
    names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    return [ROOT / n for n in names if not n.endswith((".png", ".safetensors"))]


def test_no_file_speaks_of_the_projects_own_sessions():
    found = [f"{p.relative_to(ROOT)}:{i}: {line.strip()[:80]}" for p in tracked_text_files() if p.exists()
             for i, line in enumerate(p.read_text(errors="replace").splitlines(), 1) if NARRATIVE.search(line)]
    assert found == []
