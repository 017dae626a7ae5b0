"""How long would `make models` take on this machine? Measured run costs, and the schedule they give.

A whole `make models` on 2 cores runs for hours, longer than a working session here, so it has
never been timed in one go on this machine. This measures what it is made of instead, the way
`make models` runs it (``--jobs`` runs at a time, one thread each, from a cold cache): for one
family, its pre-training and, from its published backbone, a words run (first seed, the family's
recorded learning rate) and both random-init controls. A speakers run takes longer than a working
session allows here beside the others; each family's is read from its published speakers model
(training seconds; trained two at once on 2 cores, like these). Then it lays out every planned run of the profile on
``--jobs`` workers, as `make models` does (pre-training first, each family's runs once its backbone
exists, longest first, :func:`redundancy.make_models.start_order`), with these costs for every
family (the families' steps differ by about 15 %), plus the learning-rate trials' discarded
prefixes. Testing the published weights, probes and float16 copies are left out, so the result is
a lower bound. The runs go through the stage cache, so measure with ``REDUNDANCY_CACHE`` pointing at
a folder that holds only the corpora (``corpus``, ``pretrain-corpus``): from the project's own cache
the runs that `make models` already trained would come back in seconds. Usage (alone on the
machine; about 15 minutes here with the published recipe):

    mkdir -p /tmp/cold && cp -al .cache/redundancy/corpus .cache/redundancy/pretrain-corpus /tmp/cold/
    REDUNDANCY_CACHE=/tmp/cold python benchmarks/make_models_time.py

    python benchmarks/make_models_time.py [--profile mini] [--family hubert] [--jobs 2]
    python benchmarks/make_models_time.py --reuse-measured   # new speakers times, the same run costs
    python benchmarks/make_models_time.py --reuse-measured --epochs words=2 speakers=16 --no-sweep
    python benchmarks/make_models_time.py --reuse-measured --epochs words=1.5 speakers=18 wavlm:speakers=22

Writes ``results/<profile>/make_models_time.json``. With ``--epochs`` (a task's runs, its controls
included, or one family's, cost in proportion to their epochs, since a step costs the same) or ``--no-sweep`` (the
learning rates taken from the recorded sweep instead of swept again), it estimates a recipe that was
not run as a whole and writes ``make_models_time_what_if.json`` instead.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from datetime import date
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from redundancy import publish
from redundancy.baselines import scaled_epochs, unknown_targets
from redundancy.cache import atomic_write_json
from redundancy.config import Profile, load_profile
from redundancy.cpu_platform import corpus_platform
from redundancy.finetune import read_metrics
from redundancy.make_models import Run, planned_runs, run_kind, schedule_seconds, start_order, train_run
from redundancy.paths import display_path, results_dir


def timed_run(profile_name: str, run: Run) -> tuple[str, float]:
    """Train ``run`` in a worker (one thread); (folder, wall seconds)."""
    start = time.perf_counter()
    folder = train_run(load_profile(profile_name), run, "cpu", 1)
    return folder, time.perf_counter() - start


def measure_costs(profile: Profile, family: str, jobs: int) -> dict[str, dict[str, float | None]]:
    """Wall (and training) seconds of one family's run of each kind, ``jobs`` at a time."""
    backbone = str(publish.model_path(profile.name, family, "pretrained"))
    rate = publish.chosen_learning_rate(profile.name, family)
    first = profile.finetune.seeds[0]
    measured = [Run(family, "pretrained"), Run(family, "words", first, learning_rate=rate, backbone=backbone)]
    measured += [Run(family, "words", first, control, backbone=backbone) for control in publish.CONTROLS]
    seconds: dict[str, dict[str, float | None]] = {}
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {run: pool.submit(timed_run, profile.name, run) for run in measured}
        for run, future in futures.items():
            folder, wall = future.result()
            metrics_file = Path(folder) / "metrics.json"
            train = read_metrics(Path(folder)).get("train_seconds") if metrics_file.is_file() else None
            seconds[run_kind(run)] = {"wall": wall, "train": train}
            print(run.label, json.dumps(seconds[run_kind(run)]), flush=True)
    return seconds


def reused_costs(out: Path, family: str, jobs: int, any_cpu: bool = False) -> tuple[dict[str, Any], str]:
    """The run costs a previous measurement recorded and the CPU it was made on (the same family,
    workers and, unless ``any_cpu`` (an estimate from those costs), CPU, or refused)."""
    if not out.is_file():
        raise SystemExit(f"{display_path(out)} does not exist: run without --reuse-measured first")
    previous = json.loads(out.read_text())
    cpu = previous["platform"] if any_cpu else corpus_platform()
    if (previous["family"], previous["jobs"], previous["platform"]) != (family, jobs, cpu):
        raise SystemExit(f"{display_path(out)} was measured for {previous['family']} with {previous['jobs']} "
                         f"workers on {previous['platform']}: measure again without --reuse-measured")
    return previous["seconds_per_run"], previous["platform"]


def epoch_changes(pairs: list[str]) -> dict[str, float]:
    """``["words=2", "speakers=16", "wavlm:speakers=22"]`` -> {"words": 2.0, "speakers": 16.0,
    "wavlm:speakers": 22.0}: a task's epochs for every family, or (``FAMILY:TASK``) for one family."""
    changes = {}
    for pair in pairs:
        target, _, epochs = pair.partition("=")
        try:
            changes[target] = float(epochs)
        except ValueError:
            raise SystemExit(f"--epochs takes [FAMILY:]TASK=EPOCHS pairs, not {pair!r}") from None
        if changes[target] <= 0:
            raise SystemExit(f"--epochs: {target} needs a positive number of epochs, not {epochs}")
    return changes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="mini")
    parser.add_argument("--family", default="hubert")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time, one thread each (as make models)")
    parser.add_argument("--reuse-measured", action="store_true",
                        help="take the run costs from the last results file and redo only the published "
                             "speakers times and the layout (after a new speakers recipe; seconds)")
    parser.add_argument("--epochs", nargs="*", default=[], metavar="[FAMILY:]TASK=EPOCHS",
                        help="what if a task (of one family) trained this many epochs (its runs' costs scale with them)")
    parser.add_argument("--no-sweep", action="store_true", help="what if the learning rates were not swept again")
    args = parser.parse_args()
    profile = load_profile(args.profile)
    out = results_dir(profile.name) / "make_models_time.json"
    what_if = epoch_changes(args.epochs)
    unknown = unknown_targets(what_if, profile)
    if unknown:
        raise SystemExit(f"--epochs: unknown {unknown}; the {profile.name} profile has the tasks "
                         f"{list(profile.finetune.tasks)} and the families {list(profile.model.families)}")
    seconds, measured_on = (reused_costs(out, args.family, args.jobs, any_cpu=bool(what_if or args.no_sweep))
                            if args.reuse_measured
                            else (measure_costs(profile, args.family, args.jobs), corpus_platform()))
    first = profile.finetune.seeds[0]
    speakers = {}
    for family in profile.model.families:  # each family's own speakers recipe, as published
        folder = publish.model_path(profile.name, family, "speakers", first)
        speakers[family] = {"train": read_metrics(folder)["train_seconds"],
                            "trained_at": publish.read_provenance(folder).get("git_commit")}

    costs = {kind: entry["wall"] for kind, entry in seconds.items()}
    recipes = {task: profile.finetune_for(task) for task in profile.finetune.tasks}  # as train_all orders them

    def schedule(changes: dict[str, float], sweep: bool) -> dict[str, float]:
        """Every planned run laid out on the workers, each task's (or family's) runs scaled to ``changes``."""

        def cost(run: Run) -> float:
            measured = speakers[run.family]["train"] if run.state == "speakers" else costs[run_kind(run)]
            epochs = scaled_epochs(changes, run.family, run.state)
            if epochs is None:
                return measured
            return measured * epochs / profile.finetune_for(run.state, run.family).epochs

        runs = planned_runs(profile)
        backbones = {r.family: r for r in runs if r.state == "pretrained"}
        after = {r: backbones[r.family] for r in runs if r.state != "pretrained" and r.family in backbones}
        layout = [(r, cost(r)) for r in runs]
        # each family's learning-rate trials: the losers' prefixes (one validation pass of the run's
        # evaluations each) are extra; the chosen rate's run continues from its prefix
        losers = max(0, len(profile.finetune.lr_candidates) - 1) if sweep else 0
        prefix = costs["words"] * profile.finetune.lr_sweep_evaluations / max(1, recipes["words"].evaluations)
        for family, backbone_run in backbones.items():
            for index in range(losers):
                trial = Run(family, "words", first, learning_rate=float(index), sweep=True)
                layout.append((trial, prefix))
                after[trial] = backbone_run
        wall = schedule_seconds(layout, args.jobs, after, lambda run: start_order(run, recipes.get(run.state)))
        return {"runs": len(layout), "work_seconds": sum(cost for _, cost in layout), "estimated_wall_seconds": wall}

    report = {
        "profile": profile.name, "recipe_hash": publish.recipe_hash(profile),
        "family": args.family, "jobs": args.jobs, "threads_per_run": 1,
        "platform": measured_on, "seconds_per_run": seconds,
        "speakers_published_train_seconds": speakers,
        "run_costs": "reused from the previous measurement" if args.reuse_measured else "measured",
        "note": "lower bound: testing, probes and float16 copies of the published models are not counted",
    }
    result = schedule(what_if, sweep=not args.no_sweep)
    if what_if or args.no_sweep:  # one scenario among others, kept while the run costs stay the same
        out = out.with_name("make_models_time_what_if.json")
        label = " ".join([f"{task}={epochs:g}" for task, epochs in sorted(what_if.items())]
                         + (["no sweep"] if args.no_sweep else []))
        earlier = json.loads(out.read_text()) if out.is_file() else {}
        scenarios = earlier.get("scenarios", {}) if earlier.get("seconds_per_run") == seconds else {}
        scenarios[label] = {"epochs": what_if, "sweep": not args.no_sweep, **result}
        report["published_epochs"] = {task: cfg.epochs for task, cfg in recipes.items()}
        # the recipe these scenarios scale, so that they still say what they changed once another is published
        recipe = ", ".join(f"{task} {cfg.epochs:g} epochs of batch {cfg.batch_size}" for task, cfg in recipes.items())
        report["basis"] = {"label": f"{recipe} (published {date.today().isoformat()})", **schedule({}, sweep=True)}
        report["scenarios"] = scenarios
    else:
        report.update(result)
    atomic_write_json(out, report)
    print(f"{result['runs']} runs, {result['work_seconds'] / 3600:.1f} h of one-thread work, about "
          f"{result['estimated_wall_seconds'] / 3600:.1f} h on {args.jobs} workers (lower bound); wrote {display_path(out)}")


if __name__ == "__main__":
    main()
