"""How long does `make models` spend publishing, after training? The part the training estimate leaves out.

`benchmarks/make_models_time.py` lays out the training runs of `make models` and calls its total a
lower bound: publishing is not in it. Publishing a run (`make_models.publish_run`) exports it as
float16 and then re-measures it from the stored weights: a fine-tuned model's test split, or a
backbone's per-layer probe against its random-init twin (a control publishes metrics only). This
times `publish_run` for one run of each kind, one thread, alone on the machine, from the published
folders (into a temporary models root: nothing published is touched), and lays every planned run's
publishing out on ``--jobs`` workers the way `make models` does (backbones first). Usage (about 5
minutes here):

    python benchmarks/publish_time.py [--profile mini] [--family hubert] [--jobs 2]

Writes ``results/<profile>/publish_time.json``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import torch

from redundancy import publish
from redundancy.cache import atomic_write_json
from redundancy.config import load_profile
from redundancy.corpus import build_corpus
from redundancy.cpu_platform import corpus_platform
from redundancy.make_models import planned_runs, publish_run, run_kind, schedule_seconds
from redundancy.paths import display_path, results_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="mini")
    parser.add_argument("--family", default="hubert")
    parser.add_argument("--jobs", type=int, default=2, help="publishing workers, one thread each (as make models)")
    args = parser.parse_args()
    profile = load_profile(args.profile)
    if args.family not in profile.model.families:
        raise SystemExit(f"unknown family {args.family!r}; the {profile.name} profile has {list(profile.model.families)}")
    torch.set_num_threads(1)
    data_hash = publish.corpus_hash(build_corpus(profile, progress=False))
    runs = planned_runs(profile)
    measured = {run_kind(run): run for run in runs if run.family == args.family and run.seed in (None, 0)}
    sources = {kind: publish.model_path(profile.name, run.family, run.state, run.seed, run.control)
               for kind, run in measured.items()}
    missing = [display_path(folder) for folder in sources.values() if not folder.is_dir()]
    if missing:
        raise SystemExit(f"no published models to time publishing with: {missing} (make models)")
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="publish-time-") as scratch:
        os.environ[publish.MODELS_ENV] = scratch  # models_root() reads it: the real models stay as they are
        for kind, run in sorted(measured.items()):
            start = time.perf_counter()
            publish_run(profile, run, sources[kind], data_hash, "cpu", 1)
            seconds[kind] = time.perf_counter() - start
            print(f"{run.label}: {seconds[kind]:.1f} s", flush=True)
        del os.environ[publish.MODELS_ENV]
    # publish_all hands the runs to its workers in this order: backbones first, then as planned
    ordered = sorted(runs, key=lambda run: run.state != "pretrained")
    layout = [(run, seconds[run_kind(run)]) for run in ordered]
    wall = schedule_seconds(layout, args.jobs, {}, lambda run: (ordered.index(run),))
    work = sum(cost for _, cost in layout)
    out = results_dir(profile.name) / "publish_time.json"
    atomic_write_json(out, {
        "profile": profile.name, "family": args.family, "jobs": args.jobs, "threads_per_run": 1,
        "platform": corpus_platform(), "seconds_per_run": seconds, "runs": len(layout),
        "work_seconds": work, "estimated_wall_seconds": wall,
        "note": "publish_run of one run of each kind (export as float16, re-measure from the stored weights, "
                "a backbone's probe), from the published folders into a temporary models root",
    })
    print(f"publishing {len(layout)} runs: {work:.0f} s of one-thread work, about {wall / 60:.1f} min on "
          f"{args.jobs} workers; wrote {display_path(out)}")


if __name__ == "__main__":
    main()
