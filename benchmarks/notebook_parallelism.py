"""Should `make book` run independent chapters side by side? Speed gained against timing distorted.

Chapters 02-05 do not read each other's results, so two could run at once, one torch thread each.
This measures both sides of that choice in one run, on the same machine:

1. **Throughput** on what chapter 04 spends its time on, the pruning sweep of a published model
   (:func:`redundancy.prune_sweep.sweep_model`, each in a fresh cache so nothing is read back):
   two sweeps one after the other (one process, all threads) against side by side (two processes,
   ``cores // 2`` threads each). A ratio above 1: side by side is faster.
2. **Distortion** of what chapter 05 measures, the normalised CPU time of the mimicking variants on
   wav2vec2-base (:func:`redundancy.mimicking.real_architecture_costs`, one thread): alone, then
   with a one-thread pruning sweep running on the other core.

Measured on the 2-core machine (2026-11-30, training paused): side by side 1.36x faster (47.2 s
against 34.7 s), and beside a sweep the full model's latency rose from 265 to 295 ms and the
normalised times moved by -10 % to +8 %. (Two earlier runs gave 1.57x and 1.66x and up to 20 %:
their workers synthesised the corpus again in their fresh caches, so they timed that instead.)
Chapter 05 times its models, and errors of that size would show in its tables and the scorecard's
C4, so `make book` runs the chapters one at a time. Usage:

    python benchmarks/notebook_parallelism.py [--profile mini] [--task words]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODELS = (("wav2vec2", 0), ("hubert", 0))
TIMED = "facebook/wav2vec2-base"


def sweep(profile: str, task: str, model: str, corpus_root: str, cache: str) -> None:
    """One pruning sweep into a fresh cache, on the already built corpus (runs in a worker process:
    resolving the corpus there would synthesise it again in the fresh cache)."""
    os.environ["REDUNDANCY_CACHE"] = cache
    from redundancy.prune_sweep import sweep_model

    sweep_model(model, task, profile, corpus_root=Path(corpus_root), device="cpu", progress=False)


def normalised_times(profile: str) -> tuple[dict[str, float], float]:
    """Chapter 05's normalised CPU time per variant on :data:`TIMED`, and the full model's latency (ms)."""
    from redundancy import mimicking

    rows = mimicking.real_architecture_costs(profile, names=(TIMED,), progress=False)[TIMED]
    return ({f"{r['type']}-{r['layers']}-{r['z']}": r["time_normalised_cpu"] for r in rows},
            rows[0]["latency_full_ms_cpu"])


def _worker(args: list[str], threads: int) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    code = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); " \
           f"from notebook_parallelism import sweep; sweep(*{args!r})"
    return subprocess.Popen([sys.executable, "-c", code], env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="mini")
    parser.add_argument("--task", default="words")
    args = parser.parse_args()
    from redundancy import pipeline

    root = str(pipeline.corpus_root(args.profile, progress=False))  # built (or found) before any timing
    models = [str(pipeline.published_dir(args.profile, family, args.task, seed)) for family, seed in MODELS]
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        for i, model in enumerate(models):
            worker = _worker([args.profile, args.task, model, root, f"{tmp}/serial{i}"], cores)
            if worker.wait() != 0:
                raise SystemExit(f"sweep of {model} failed")
        serial = time.perf_counter() - start
        start = time.perf_counter()
        workers = [_worker([args.profile, args.task, model, root, f"{tmp}/parallel{i}"], max(1, cores // 2))
                   for i, model in enumerate(models)]
        if any(worker.wait() != 0 for worker in workers):
            raise SystemExit("a side-by-side sweep failed")
        parallel = time.perf_counter() - start
    print(f"{len(MODELS)} pruning sweeps ({args.task}): one after the other with {cores} threads {serial:.1f} s; "
          f"side by side with {max(1, cores // 2)} thread(s) each {parallel:.1f} s; ratio {serial / parallel:.2f}")

    alone, full_alone = normalised_times(args.profile)
    with tempfile.TemporaryDirectory() as tmp:
        background = _worker([args.profile, args.task, models[0], root, f"{tmp}/background"], 1)
        time.sleep(15)  # past its start-up, into the sweep
        busy, full_busy = normalised_times(args.profile)
        still_running = background.poll() is None
        background.kill()
    if not still_running:
        print("warning: the background sweep ended before the timing did; the distortion is underestimated")
    print(f"{TIMED}, full model latency: alone {full_alone:.0f} ms, beside a sweep {full_busy:.0f} ms")
    for key in alone:
        print(f"  {key:20s} normalised time alone {alone[key]:.3f}, beside a sweep {busy[key]:.3f} "
              f"({busy[key] / alone[key] - 1:+.0%})")


if __name__ == "__main__":
    main()
