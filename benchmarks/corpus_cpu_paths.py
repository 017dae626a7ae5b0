"""How much does the CPU code path change the synthetic corpus?

The corpus is resampled with torchaudio on the MKL that torch bundles, and MKL picks its kernels
by CPU. This builds the profile's corpus once as this CPU builds it and once per forced MKL code
path (``MKL_ENABLE_INSTRUCTIONS``, which makes an AVX-512 machine run the AVX2 or SSE4.2 kernels
an older or other CPU would run; ``MKL_CBWR=COMPATIBLE``, MKL's own reproducible mode), each in a
fresh process with its own cache, and compares every clip with the default build: the corpus
hash, how many clips and samples differ, by how many int16 steps at most, and whether any clip
changed length. It cannot emulate another maker's CPU (an AMD one takes other MKL paths again),
only show how large such differences are. Usage (alone on the machine; about 30 s a build):

    python benchmarks/corpus_cpu_paths.py [--profile mini]

Writes ``results/<profile>/corpus_cpu_paths.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

VARIANTS: dict[str, dict[str, str]] = {
    "this CPU": {},
    "MKL AVX2 kernels": {"MKL_ENABLE_INSTRUCTIONS": "AVX2"},
    "MKL SSE4.2 kernels": {"MKL_ENABLE_INSTRUCTIONS": "SSE4_2"},
    "MKL reproducible mode (CBWR=COMPATIBLE)": {"MKL_CBWR": "COMPATIBLE"},
}


def build(profile: str, cache: Path, env: dict[str, str]) -> tuple[Path, str]:
    """Build the corpus in a fresh process under ``env``; its root and hash."""
    code = ("import json, sys; from redundancy.config import load_profile; from redundancy.corpus import "
            "build_corpus; from redundancy.publish import corpus_hash; "
            f"r = build_corpus(load_profile({profile!r}), progress=False); print(json.dumps([str(r), corpus_hash(r)]))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                         env=dict(os.environ, REDUNDANCY_CACHE=str(cache), OMP_NUM_THREADS="1", **env)).stdout
    root, digest = json.loads(out.strip().splitlines()[-1])
    return Path(root), digest


def compare(reference: Path, other: Path) -> dict[str, Any]:
    """Clip-by-clip differences of two builds (int16 samples), and whether their lists agree."""
    import numpy as np
    import soundfile as sf

    clips = sorted(p.relative_to(reference) for p in reference.glob("*/*.wav"))
    lists_equal = all((reference / p.name).read_bytes() == (other / p.name).read_bytes()
                      for p in reference.glob("*.txt"))
    differing = samples = changed = longest = 0
    resized = []
    for clip in clips:
        a, _ = sf.read(reference / clip, dtype="int16")
        b, _ = sf.read(other / clip, dtype="int16")
        if a.shape != b.shape:
            resized.append(str(clip))
            continue
        step = np.abs(a.astype(np.int32) - b.astype(np.int32))
        samples += step.size
        if step.any():
            differing += 1
            changed += int(np.count_nonzero(step))
            longest = max(longest, int(step.max()))
    return {"clips": len(clips), "clips_differing": differing, "clips_resized": resized,
            "samples_differing": changed, "samples_compared": samples,
            "fraction_of_samples_differing": changed / max(samples, 1), "max_int16_step": longest,
            "lists_identical": lists_equal}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="mini")
    args = parser.parse_args()
    from redundancy.cpu_platform import corpus_platform
    from redundancy.paths import display_path, results_dir

    rows: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as scratch:
        roots = {}
        for i, (name, env) in enumerate(VARIANTS.items()):
            roots[name], digest = build(args.profile, Path(scratch) / str(i), env)
            rows[name] = {"environment": env, "corpus_hash": digest}
            print(f"{name:42s} {digest}", flush=True)
        reference = roots["this CPU"]
        for name, root in roots.items():
            if name != "this CPU":
                rows[name]["against this CPU"] = compare(reference, root)
                print(name, rows[name]["against this CPU"], flush=True)
    out = results_dir(args.profile) / "corpus_cpu_paths.json"
    out.write_text(json.dumps({"profile": args.profile, "platform": corpus_platform(),
                               "variants": rows}, indent=2))
    print("wrote", display_path(out))


if __name__ == "__main__":
    main()
