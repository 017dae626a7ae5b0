"""The CPU code path that decides the synthetic corpus' last bits.

The corpus resamples eSpeak's 22,050 Hz speech with torchaudio, whose convolution runs on the MKL
that torch bundles. MKL and torch pick their kernels by the CPU's maker and vector width, and
kernels that sum in another order round a float to the other int16 neighbour now and then:
measured here (``benchmarks/corpus_cpu_paths.py``), forcing MKL onto other code paths changed at
most one least significant bit in at most 2e-4 of the samples, and never a clip's length. So the
corpus is byte-identical on one code path, not across them; the published models record the path
their corpus was built on (``corpus_platform`` in ``index.json``), and a check that finds another
corpus hash on another path can say why instead of calling the data changed.
"""

from __future__ import annotations

import platform
from pathlib import Path


def cpu_vendor(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU maker as the kernel reports it (``GenuineIntel``, ``AuthenticAMD``), else the
    machine architecture (``arm64`` on a Mac, where there is no /proc/cpuinfo)."""
    try:
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "vendor_id" and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.machine() or "unknown"


def vector_capability() -> str:
    """The widest vector instruction set torch dispatches to here (``AVX2``, ``AVX512``, ...)."""
    import torch

    return str(torch.backends.cpu.get_cpu_capability())


def corpus_platform() -> str:
    """``vendor/capability``: what picks MKL's and torch's kernels, so what two corpus builds must
    share to be byte-identical (with the same pinned packages)."""
    return f"{cpu_vendor()}/{vector_capability()}"


__all__ = ["cpu_vendor", "vector_capability", "corpus_platform"]
