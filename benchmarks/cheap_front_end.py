"""Would a cheaper CNN front end fit `make models` into 2 hours on 2 cores?

The last route issue 12 left open. On a CPU the real 7-block CNN (kernels 10, 3, 3, 3, 3, 2, 2)
is about half of a fine-tuning step: its lowest blocks run 64 channels at 3,200 and 1,600 frames a
second (benchmarks/finetune_step_profile.py). A two-block front end with the same frames (400
samples seen every 320, so pre-training's MFCC targets still line up,
:func:`redundancy.config.check_front_end`) works like a learned filterbank: 64 filters of 240
samples (15 ms) every 160 samples (10 ms), then pairs of those frames merged. Everything after it
(feature projection, transformer, head, recipes) is unchanged. Two steps:

``time``: one training step (forward, backward, AdamW) of each family's classifier with either
front end, random weights (the time of these operations does not depend on the values), batch
of the recipe, 1 s clips (words) and each family's speakers training window, one thread, side by
side in one run; then `make models`' measured run costs (results/<profile>/make_models_time.json)
scaled by these ratios. About three minutes alone on the machine.

``train``: the cheap front end's whole path for one family: pre-training from scratch, then words
(seed 0, the family's swept rate) and, with ``--tasks words speakers``, speakers (the family's
published recipe), each compared with the published model of the same seed on the same test clips
(paired bootstrap interval), and the backbone's per-layer probe. Into the cache; nothing is
published. HuBERT, the weakest family, on words and speakers: about 45 minutes on 2 cores.

    python benchmarks/cheap_front_end.py time [--profile mini] [--repeats 5]
    python benchmarks/cheap_front_end.py train [--family hubert] [--tasks words speakers] [--jobs 2]

Writes ``results/<profile>/cheap_front_end_study.json`` (its ``step`` and ``runs`` parts; each
command keeps the other's).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import torch

from finetune_step_profile import median_seconds, step_timer
from redundancy import publish
from redundancy.audio import SAMPLE_RATE
from redundancy.baselines import paired_accuracy_difference
from redundancy.cache import atomic_write_json
from redundancy.config import Profile, load_profile
from redundancy.cpu_platform import corpus_platform
from redundancy.finetune import build_classifier, read_metrics
from redundancy.make_models import Run, backbone_probe, train_run
from redundancy.models import quiet_loading, tiny_config
from redundancy.paths import display_path, results_dir

#: The cheaper front end: a learned filterbank (240-sample filters every 160 samples), then pairs of
#: frames merged; the real encoders' frames (400 samples every 320).
CHEAP_FRONT_END: dict[str, tuple[int, ...]] = {"conv_dim": (64, 64), "conv_kernel": (240, 2),
                                               "conv_stride": (160, 2)}
STUDY_FILE = "cheap_front_end_study.json"
#: 2 hours on 2 workers: the one-thread work issue 12 allows.
BUDGET_WORK_SECONDS = 2 * 3600 * 2


def cheap_profile(profile: Profile) -> Profile:
    """``profile`` with :data:`CHEAP_FRONT_END` in place of the real CNN geometry."""
    return dataclasses.replace(profile, model=dataclasses.replace(profile.model, **CHEAP_FRONT_END))


def step_seconds(profile: Profile, family: str, seconds: float, repeats: int) -> float:
    """Median seconds of one training step of ``family``'s classifier (random weights) on clips of
    ``seconds`` at the recipe's batch size, one thread."""
    with tempfile.TemporaryDirectory() as folder:
        tiny_config(family, profile.model).save_pretrained(folder)
        with quiet_loading():
            model = build_classifier(folder, 35, [str(i) for i in range(35)], True, 0.0, None)
    clips = torch.randn(profile.finetune.batch_size, int(seconds * SAMPLE_RATE))
    step, _ = step_timer(model, clips, 35)
    return median_seconds(step, repeats)


def speakers_window(profile: Profile, family: str) -> float:
    """The length of the clips a family's speakers runs train on (whole 1 s clips when 0)."""
    crop = profile.finetune_for("speakers", family).train_crop_seconds
    return crop if crop > 0 else 1.0


def time_steps(profile: Profile, repeats: int) -> dict[str, Any]:
    """Per family and clip length, the step seconds of both front ends and their ratio."""
    torch.set_num_threads(1)
    cheap = cheap_profile(profile)
    rows = {}
    for family in profile.model.families:
        for task, seconds in (("words", 1.0), ("speakers", speakers_window(profile, family))):
            real, new = (step_seconds(p, family, seconds, repeats) for p in (profile, cheap))
            rows.setdefault(family, {})[task] = {"clip_seconds": seconds, "real_s": real, "cheap_s": new,
                                                 "ratio": new / real}
            print(f"{family} {task} ({seconds:g} s clips): real {real:.3f} s, cheap {new:.3f} s a step "
                  f"({new / real:.2f})", flush=True)
    return rows


def projected_work(profile: Profile, steps: dict[str, Any]) -> dict[str, Any]:
    """`make models`' measured one-thread work with each run's cost scaled by its step ratio.

    Words-like runs (words, sweep prefixes, the trainable-CNN control, pre-training) take the mean
    words ratio over families; each speakers run its family's ratio; the frozen-CNN control is left
    as measured (its CNN is frozen and computed once, so a cheaper one saves it little).
    """
    timing = json.loads((results_dir(profile.name) / "make_models_time.json").read_text())
    costs = {kind: entry["wall"] for kind, entry in timing["seconds_per_run"].items()}
    words_ratio = statistics.mean(row["words"]["ratio"] for row in steps.values())
    families = list(profile.model.families)
    seeds = len(profile.finetune.seeds)
    speakers = {f: timing["speakers_seconds"][f]["seconds"] for f in families}
    measured = {
        "pretrained": costs["pretrained"] * len(families),
        "words": costs["words"] * seeds * len(families),
        "random-frozen-cnn": costs["random-frozen-cnn"] * len(families),
        "random-trainable-cnn": costs["random-trainable-cnn"] * len(families),
        "speakers": sum(speakers.values()),
    }
    measured["sweep and the rest"] = timing["work_seconds"] - sum(measured.values())
    scaled = {kind: seconds * (1.0 if kind == "random-frozen-cnn" else words_ratio)
              for kind, seconds in measured.items() if kind != "speakers"}
    scaled["speakers"] = sum(speakers[f] * steps[f]["speakers"]["ratio"] for f in families)
    work = sum(scaled.values())
    return {"words_ratio": words_ratio, "measured_work_s": measured, "cheap_work_s": scaled,
            "measured_total_s": timing["work_seconds"], "cheap_total_s": work,
            "cheap_hours_on_2_workers": work / 2 / 3600, "budget_work_s": BUDGET_WORK_SECONDS,
            "measured_on": timing["platform"]}


def train_one(profile_name: str, run: Run) -> tuple[str, float]:
    """Train ``run`` with the cheap front end in a worker (one thread); (folder, wall seconds)."""
    start = time.perf_counter()
    folder = train_run(cheap_profile(load_profile(profile_name)), run, "cpu", 1)
    return folder, time.perf_counter() - start


def compare(folder: Path, published: Path) -> dict[str, Any]:
    """The cheap run against the published model of the same seed, on the same test clips."""
    new, old = read_metrics(folder), read_metrics(published)
    _, _, difference, low, high = paired_accuracy_difference(folder, published)
    return {"accuracy": new["accuracy"], "ci95": new["ci95"],
            "best_validation_accuracy": new.get("best_validation_accuracy"),
            "train_seconds": new.get("train_seconds"), "published_accuracy": old["accuracy"],
            "published_best_validation_accuracy": old.get("best_validation_accuracy"),
            "published_train_seconds": old.get("train_seconds"),
            "published_resumed": bool(old.get("resumed")),  # then its seconds are only its last stretch
            "paired": {"difference": difference, "ci95": [low, high]}}


def train_family(profile: Profile, family: str, tasks: list[str], jobs: int) -> dict[str, Any]:
    """Pre-train ``family`` with the cheap front end, then fine-tune each task (seed 0) from it."""
    from redundancy import pipeline

    rate = publish.chosen_learning_rate(profile.name, family)
    report: dict[str, Any] = {"family": family, "front_end": {k: list(v) for k, v in CHEAP_FRONT_END.items()}}
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        backbone, seconds = pool.submit(train_one, profile.name, Run(family, "pretrained")).result()
        report["pretrain_wall_seconds"] = seconds
        futures = {task: pool.submit(train_one, profile.name, Run(family, task, 0, learning_rate=rate))
                   for task in tasks}
        for task, future in futures.items():
            folder, seconds = future.result()
            row = compare(Path(folder), publish.model_path(profile.name, family, task, 0))
            report[task] = {"wall_seconds": seconds, **row}
            print(task, json.dumps(report[task]), flush=True)
    # after the training, so that it does not slow the timed runs
    report["probe"] = backbone_probe(Path(backbone), pipeline.corpus_root(profile, progress=False))
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("time", "train"))
    parser.add_argument("--profile", default="mini")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--family", default="hubert")
    parser.add_argument("--tasks", nargs="*", default=["words", "speakers"])
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time, one thread each")
    args = parser.parse_args()
    profile = load_profile(args.profile)
    unknown = sorted(set(args.tasks) - set(profile.finetune.tasks))
    if unknown:
        raise SystemExit(f"--tasks: unknown tasks {unknown}; the {profile.name} profile has {list(profile.finetune.tasks)}")
    out = results_dir(profile.name) / STUDY_FILE
    study = json.loads(out.read_text()) if out.is_file() else {}
    study.update(profile=profile.name, front_end={k: list(v) for k, v in CHEAP_FRONT_END.items()})
    if args.what == "time":
        steps = time_steps(profile, args.repeats)
        study["step"] = {"platform": corpus_platform(), "threads": 1, "batch_size": profile.finetune.batch_size,
                         "families": steps, "projection": projected_work(profile, steps)}
        projection = study["step"]["projection"]
        print(f"make models with the cheap front end: {projection['cheap_total_s']:.0f} s of one-thread work "
              f"(measured: {projection['measured_total_s']:.0f} s), about "
              f"{projection['cheap_hours_on_2_workers']:.2f} h on 2 workers (budget 2 h)")
    else:
        runs = study.get("runs", {})
        runs[args.family] = {"platform": corpus_platform(), "jobs": args.jobs,
                             **train_family(profile, args.family, args.tasks, args.jobs)}
        study["runs"] = runs
    atomic_write_json(out, study)
    print("wrote", display_path(out))


if __name__ == "__main__":
    main()
