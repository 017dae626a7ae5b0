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


def mkl_branch() -> int | None:
    """The kernel branch MKL picks for this CPU (``mkl_serv_cbwr_get_auto_branch`` of the MKL that
    torch links in: 14 is AVX512_E1 on a Sapphire Rapids Xeon), or None where torch has no MKL (a
    Mac). Two CPUs of one maker and vector width can still differ here (AVX-512 generations), and
    MKL's branch is what rounds the resampled corpus."""
    import ctypes

    import torch

    if not torch.backends.mkl.is_available():
        return None
    library = Path(torch.__file__).parent / "lib" / "libtorch_cpu.so"
    try:
        branch = ctypes.CDLL(str(library)).mkl_serv_cbwr_get_auto_branch
    except (OSError, AttributeError):  # another build of torch (another platform, MKL not exported)
        return None
    branch.restype = ctypes.c_int
    return int(branch())


def corpus_platform() -> str:
    """``vendor/capability/mklN`` (or ``vendor/capability`` without MKL): what picks MKL's and
    torch's kernels, so what two corpus builds must share to be byte-identical (with the same
    pinned packages)."""
    branch = mkl_branch()
    return f"{cpu_vendor()}/{vector_capability()}" + (f"/mkl{branch}" if branch is not None else "")


def same_code_path(recorded: str | None, here: str | None = None) -> bool:
    """Whether a recorded code path is this machine's (``here``, default :func:`corpus_platform`).
    A record without MKL's branch (``vendor/capability``, kept before the branch was recorded)
    matches every branch of that vendor and width: the best its record can tell."""
    if recorded is None:
        return False
    here = here or corpus_platform()
    return here == recorded or (recorded.count("/") == 1 and here.startswith(recorded + "/"))


__all__ = ["cpu_vendor", "vector_capability", "mkl_branch", "corpus_platform", "same_code_path"]
