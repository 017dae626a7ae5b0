"""Keep freed memory in the process instead of handing it back to the kernel after every step.

A CPU training step of the mini models allocates activations of 10-30 MB (a batch of 32 one-second
clips through the CNN's lowest blocks is 32 x 64 x 3199 floats) and frees them a moment later.
glibc's default allocator serves blocks that large with ``mmap`` and returns them with ``munmap``,
so every step faults the same memory in again page by page (about 35,000 page faults a step, the
kernel zeroing each page). Raising the ``mmap`` threshold to its maximum (32 MiB on 64-bit) and
never trimming the heap keeps those blocks for reuse: same arithmetic, same results, a faster step
(``benchmarks/allocator.py`` measures it side by side). The price is that the process keeps its
peak heap (up to 2 GiB of it free) until it exits, which is what a training or analysis process wants anyway.

:func:`keep_freed_memory` is opt-in: a process calls it first thing. It is *not* applied when
:mod:`redundancy` is imported, because it changes results that must not change: with it, the
synthesised corpus came out different (another corpus hash than the published models saw, on a
clean clone), most likely because the FFTs of the room simulation take other code paths on
differently aligned buffers. It changes nothing on other C libraries (macOS, musl), and
``REDUNDANCY_DEFAULT_MALLOC=1`` in the environment switches it off.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

#: glibc's mallopt parameters (malloc.h).
M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3

#: The largest mmap threshold glibc accepts on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX, malloc.c).
MMAP_THRESHOLD_MAX = 32 * 2**20
#: Give the top of the heap back only past 2 GiB free (the largest int mallopt takes).
TRIM_THRESHOLD = 2**31 - 1
#: Grow the heap in 64 MiB steps instead of page by page.
TOP_PAD = 64 * 2**20

#: name -> (mallopt parameter, value) as :func:`keep_freed_memory` sets them.
SETTINGS = {
    "M_MMAP_THRESHOLD": (M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX),
    "M_TRIM_THRESHOLD": (M_TRIM_THRESHOLD, TRIM_THRESHOLD),
    "M_TOP_PAD": (M_TOP_PAD, TOP_PAD),
}
#: Set to 1 to keep glibc's defaults (for a benchmark's baseline, or to rule this module out).
OPT_OUT = "REDUNDANCY_DEFAULT_MALLOC"

_applied: dict[str, bool] | None = None


def _glibc() -> ctypes.CDLL | None:
    """The process's glibc, or None on any other C library."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version  # glibc only: musl has mallopt but ignores these parameters
    except (OSError, AttributeError):
        return None
    return libc


def keep_freed_memory() -> dict[str, bool]:
    """Apply :data:`SETTINGS` with ``mallopt`` once per process; return name -> whether glibc
    accepted it (empty where the C library is not glibc or :data:`OPT_OUT` is set)."""
    global _applied
    if _applied is not None:
        return _applied
    libc = None if os.environ.get(OPT_OUT) == "1" else _glibc()
    if libc is None:
        _applied = {}
        return _applied
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    libc.mallopt.restype = ctypes.c_int
    _applied = {name: bool(libc.mallopt(param, value)) for name, (param, value) in SETTINGS.items()}
    return _applied


def applied() -> dict[str, bool]:
    """What :func:`keep_freed_memory` set in this process (applying it if not done yet)."""
    return keep_freed_memory()
