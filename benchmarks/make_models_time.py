"""How long would `make models` take on this machine? Measured run costs, and the schedule they give.

A whole `make models` on 2 cores runs for hours, longer than a working session here, so it has
never been timed in one go on this machine. This measures what it is made of instead, the way
`make models` runs it (``--jobs`` runs at a time, one thread each, from a cold cache): for one
family, its pre-training and, from its published backbone, a words run (first seed, the family's
recorded learning rate) and both random-init controls. A whole speakers run takes longer than a
working session allows here beside the others: ``--speakers-epochs N`` trains each family's for N
epochs of its published recipe (as many validation passes per epoch) and scales its training
seconds to the recipe's epochs; without it, the last such measurement for the same speakers recipe
and CPU is reused, else each family's published model's training seconds (whatever CPU trained it;
the results say which). Then it lays out every planned run of the profile on
``--jobs`` workers, as `make models` does (pre-training first, each family's runs once its backbone
exists, longest first, :func:`redundancy.make_models.start_order`), with these costs for every
family (the families' words steps differ by about 15 %), plus the learning-rate trials' discarded
prefixes. Testing the published weights, probes and float16 copies are left out, so the result is
a lower bound. The runs go through the stage cache, so measure with ``REDUNDANCY_CACHE`` pointing at
a folder that holds only the corpora (``corpus``, ``pretrain-corpus``); a run the cache returns
instead of training stops the measurement. Usage (alone on the machine; about 15 minutes here with
the published recipe, and about 10 more with ``--speakers-epochs 2``):

    mkdir -p /tmp/cold && cp -al .cache/redundancy/corpus .cache/redundancy/pretrain-corpus /tmp/cold/
    REDUNDANCY_CACHE=/tmp/cold python benchmarks/make_models_time.py [--speakers-epochs 2]

    python benchmarks/make_models_time.py [--profile mini] [--family hubert] [--jobs 2]
    python benchmarks/make_models_time.py --reuse-measured   # a new layout (or speakers costs), the same run costs
    python benchmarks/make_models_time.py --reuse-measured --epochs words=2 speakers=16 --no-sweep
    python benchmarks/make_models_time.py --reuse-measured --epochs words=1.5 speakers=18 wavlm:speakers=22

Writes ``results/<profile>/make_models_time.json``. With ``--epochs`` (a task's runs, its controls
included, or one family's, cost in proportion to their epochs, since a step costs the same) or ``--no-sweep`` (the
learning rates taken from the recorded sweep instead of swept again), it estimates a recipe that was
not run as a whole and adds it to ``make_models_time_what_if.json`` instead, under the basis it
scales (the published recipe, its run costs and speakers costs): a scenario on other costs starts
another basis, and earlier bases keep their scenarios.
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from redundancy import publish
from redundancy.baselines import scaled_epochs, unknown_targets
from redundancy.cache import atomic_write_json
from redundancy.config import Profile, load_profile, with_task_epochs
from redundancy.cpu_platform import corpus_platform
from redundancy.finetune import read_metrics
from redundancy.make_models import Run, planned_runs, run_kind, schedule_seconds, start_order, train_run
from redundancy.paths import display_path, results_dir


def trained_since(folder: Path, since: float) -> bool:
    """Whether any file in ``folder`` was written at or after ``since`` (``time.time()``): a run the
    stage cache returned instead of training has only older files, and its seconds mean nothing."""
    return any(path.stat().st_mtime >= since for path in Path(folder).rglob("*") if path.is_file())


def timed_run(profile: Profile, run: Run) -> tuple[str, float]:
    """Train ``run`` in a worker (one thread); (folder, wall seconds). Refuses a run that came from
    the cache, which would time a lookup instead of training."""
    since = time.time() - 1.0  # file times may be rounded down to the second
    start = time.perf_counter()
    folder = train_run(profile, run, "cpu", 1)
    wall = time.perf_counter() - start
    if not trained_since(Path(folder), since):
        raise SystemExit(f"{run.label} came from the cache ({display_path(Path(folder))}), not from training: "
                         "measure with REDUNDANCY_CACHE at a folder that holds only the corpora (see the docstring)")
    return folder, wall


def measure_costs(profile: Profile, family: str, jobs: int) -> dict[str, dict[str, float | None]]:
    """Wall (and training) seconds of one family's run of each kind, ``jobs`` at a time."""
    backbone = str(publish.model_path(profile.name, family, "pretrained"))
    rate = publish.chosen_learning_rate(profile.name, family)
    first = profile.finetune.seeds[0]
    measured = [Run(family, "pretrained"), Run(family, "words", first, learning_rate=rate, backbone=backbone)]
    measured += [Run(family, "words", first, control, backbone=backbone) for control in publish.CONTROLS]
    seconds: dict[str, dict[str, float | None]] = {}
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {run: pool.submit(timed_run, profile, run) for run in measured}
        for run, future in futures.items():
            folder, wall = future.result()
            metrics_file = Path(folder) / "metrics.json"
            train = read_metrics(Path(folder)).get("train_seconds") if metrics_file.is_file() else None
            seconds[run_kind(run)] = {"wall": wall, "train": train}
            print(run.label, json.dumps(seconds[run_kind(run)]), flush=True)
    return seconds


def measure_speakers(profile: Profile, epochs: float, jobs: int) -> dict[str, dict[str, Any]]:
    """Each family's speakers run on this CPU, from its published backbone with its published recipe
    cut to ``epochs`` (as many validation passes per epoch), ``jobs`` at a time; the whole run's cost
    is its training seconds scaled to the recipe's epochs plus what the short run spent outside
    training (loading, testing), since every epoch costs the same."""
    first = profile.finetune.seeds[0]
    short = {family: with_task_epochs(profile, family, "speakers", epochs) for family in profile.model.families}
    runs = {family: Run(family, "speakers", first, backbone=str(publish.model_path(profile.name, family, "pretrained")))
            for family in profile.model.families}
    measured = {}
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {family: pool.submit(timed_run, short[family], run) for family, run in runs.items()}
        for family, future in futures.items():
            folder, wall = future.result()
            train = read_metrics(Path(folder))["train_seconds"]
            full = profile.finetune_for("speakers", family).epochs
            measured[family] = {"seconds": train * full / epochs + (wall - train), "train": train, "wall": wall,
                                "epochs_measured": epochs, "source": f"{epochs:g} epochs measured on {corpus_platform()}, "
                                                                     f"scaled to {full:g}"}
            print(runs[family].label, json.dumps(measured[family]), flush=True)
    return measured


def published_speakers(profile: Profile) -> dict[str, dict[str, Any]]:
    """Each family's speakers cost as its published model's training seconds (whatever CPU trained it)."""
    first = profile.finetune.seeds[0]
    seconds = {}
    for family in profile.model.families:
        folder = publish.model_path(profile.name, family, "speakers", first)
        commit = publish.read_provenance(folder).get("git_commit")
        seconds[family] = {"seconds": read_metrics(folder)["train_seconds"], "trained_at": commit,
                           "source": "the published model's training seconds"}
    return seconds


def speakers_recipe_hashes(profile: Profile) -> dict[str, str]:
    """Each family's speakers recipe hash: a measured speakers cost holds only for its recipe."""
    return {family: publish.recipe_hash(profile, "speakers", family) for family in profile.model.families}


def reused_speakers(out: Path, profile: Profile, platform: str) -> dict[str, dict[str, Any]] | None:
    """The speakers costs the last measurement made on this CPU for this speakers recipe, or None."""
    if not out.is_file():
        return None
    previous = json.loads(out.read_text())
    if previous.get("speakers_recipe_hash") != speakers_recipe_hashes(profile) or previous.get("platform") != platform:
        return None
    speakers = previous.get("speakers_seconds", {})
    measured = all("epochs_measured" in entry for entry in speakers.values())
    return speakers if speakers and measured else None


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


def file_scenario(bases: list[dict[str, Any]], basis: dict[str, Any], label: str,
                  scenario: dict[str, Any]) -> list[dict[str, Any]]:
    """``bases`` with ``scenario`` filed under the basis whose run costs and published epochs are
    ``basis``'s (a new basis when none is): a scenario only means something beside the recipe and
    the costs it scaled, and scenarios of earlier recipes stay, each with its own."""
    same = ("published_epochs", "seconds_per_run", "speakers_seconds")
    kept = [dict(b, scenarios=dict(b["scenarios"])) for b in bases]
    match = next((b for b in kept if all(b.get(key) == basis[key] for key in same)), None)
    if match is None:
        match = dict(basis, scenarios={})
        kept.append(match)
    match["scenarios"][label] = scenario
    return kept


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
    parser.add_argument("--speakers-epochs", type=float, default=None, metavar="EPOCHS",
                        help="measure each family's speakers run on this CPU for this many epochs and scale it "
                             "(default: the last such measurement for this recipe and CPU, else the published "
                             "models' training seconds)")
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
    if args.speakers_epochs is not None:
        if what_if or args.no_sweep:
            raise SystemExit("--speakers-epochs measures; run it alone first, then ask --epochs/--no-sweep what-ifs")
        if not args.speakers_epochs > 0:
            raise SystemExit(f"--speakers-epochs needs a positive number, not {args.speakers_epochs:g}")
        speakers = measure_speakers(profile, args.speakers_epochs, args.jobs)
    else:
        speakers = reused_speakers(out, profile, measured_on) or published_speakers(profile)

    costs = {kind: entry["wall"] for kind, entry in seconds.items()}
    recipes = {task: profile.finetune_for(task) for task in profile.finetune.tasks}  # as train_all orders them

    def schedule(changes: dict[str, float], sweep: bool) -> dict[str, float]:
        """Every planned run laid out on the workers, each task's (or family's) runs scaled to ``changes``."""

        def cost(run: Run) -> float:
            measured = speakers[run.family]["seconds"] if run.state == "speakers" else costs[run_kind(run)]
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
        "speakers_seconds": speakers, "speakers_recipe_hash": speakers_recipe_hashes(profile),
        "run_costs": "reused from the previous measurement" if args.reuse_measured else "measured",
        "note": "lower bound: testing, probes and float16 copies of the published models are not counted",
    }
    result = schedule(what_if, sweep=not args.no_sweep)
    if what_if or args.no_sweep:  # one scenario among others, filed under the run costs it scales
        out = out.with_name("make_models_time_what_if.json")
        label = " ".join([f"{task}={epochs:g}" for task, epochs in sorted(what_if.items())]
                         + (["no sweep"] if args.no_sweep else []))
        published = {task: cfg.epochs for task, cfg in recipes.items()}
        recipe = ", ".join(f"{task} {cfg.epochs:g} epochs of batch {cfg.batch_size}" for task, cfg in recipes.items())
        sources = sorted({entry["source"] for entry in speakers.values()})
        basis = {"label": f"{recipe}; run costs measured on {measured_on}; speakers: {' / '.join(sources)}",
                 "recipe_hash": report["recipe_hash"], "platform": measured_on, "published_epochs": published,
                 "seconds_per_run": seconds, "speakers_seconds": speakers, **schedule({}, sweep=True)}
        earlier = json.loads(out.read_text()) if out.is_file() else {}
        report = {key: report[key] for key in ("profile", "family", "jobs", "threads_per_run", "note")}
        report["bases"] = file_scenario(earlier.get("bases", []), basis, label,
                                        {"epochs": what_if, "sweep": not args.no_sweep, **result})
    else:
        report.update(result)
    atomic_write_json(out, report)
    print(f"{result['runs']} runs, {result['work_seconds'] / 3600:.1f} h of one-thread work, about "
          f"{result['estimated_wall_seconds'] / 3600:.1f} h on {args.jobs} workers (lower bound); wrote {display_path(out)}")


if __name__ == "__main__":
    main()
