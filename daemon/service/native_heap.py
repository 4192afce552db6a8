"""The C heap under the daemon (glibc): its in-use and free figures, and giving freed pages back to the system."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                     "fsmblks", "uordblks", "fordblks", "keepcost")]


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    if libc is None or not hasattr(libc, "malloc_trim"):
        return None  # not glibc (musl, macOS): nothing to trim
    libc.malloc_trim.argtypes = [ctypes.c_size_t]
    libc.malloc_trim.restype = ctypes.c_int
    if hasattr(libc, "mallinfo2"):
        libc.mallinfo2.restype = _MallInfo2
    return libc


_LIBC = _libc()


@dataclass(frozen=True)
class HeapFigures:
    in_use_mb: float  # bytes handed out by malloc (all arenas, mmapped blocks included)
    free_mb: float  # bytes malloc holds free inside its arenas (resident until trimmed or reused)


def heap_figures() -> HeapFigures | None:
    """glibc's view of the C heap (mallinfo2, glibc >= 2.33); None elsewhere."""
    if _LIBC is None or not hasattr(_LIBC, "mallinfo2"):
        return None
    m = _LIBC.mallinfo2()
    return HeapFigures(in_use_mb=(m.uordblks + m.hblkhd) / 1e6, free_mb=m.fordblks / 1e6)


def trim() -> bool:
    """Return the free pages of every malloc arena to the system (glibc malloc_trim); True if any went back."""
    return bool(_LIBC.malloc_trim(0)) if _LIBC is not None else False


async def trim_loop(interval_s: float) -> None:
    """Every `interval_s`: trim the C heap in a worker thread. The daemon's threads (the model's, liblsl's one
    per inlet) each allocate from malloc arenas of their own; what a burst frees there stays resident until it is
    reused, so the resident size moves far from what is live (docs/operations.md, "Soak")."""
    if _LIBC is None:
        log.info("memory: no glibc malloc_trim here; the C heap is not trimmed")
        return
    while True:
        await asyncio.sleep(interval_s)
        await asyncio.to_thread(trim)
