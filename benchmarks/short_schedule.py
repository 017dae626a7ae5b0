"""How much accuracy would a schedule short enough for a 2-hour `make models` cost?

`make models` on the mini profile takes about 3.4 h on 2 cores (results/mini/make_models_time.json);
issue 12 asks for at most 2. Training epochs are most of it: words 3 epochs (9 runs), speakers 30
(3 runs, 11,490 s of the 24,358 s of work). This fine-tunes one family's published backbone on one
task, seed 0, with the published recipe of that task and family (its learning rate resolved as
`make models` resolves it) except the number of epochs (validation passes scale with it, so the
checkpoint is picked as often per epoch), and compares it clip by clip with the published seed-0
model on the same test clips (paired bootstrap), with both training times. Into the cache; nothing
is published. Usage (one thread; two runs at once on 2 cores):

    python benchmarks/short_schedule.py --model hubert --task speakers --epochs 16

Adds an entry to ``results/<profile>/short_schedule_study.json`` (one per family, task and epochs).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from speakers_regularisation import record

from redundancy import pipeline, publish
from redundancy.baselines import schedule_trial_entry
from redundancy.config import load_profile, with_task_epochs
from redundancy.cpu_platform import corpus_platform
from redundancy.make_models import Run, run_profile, train_run
from redundancy.paths import display_path, results_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="mini")
    parser.add_argument("--model", default="hubert", help="family")
    parser.add_argument("--task", default="speakers", choices=("words", "speakers"))
    parser.add_argument("--epochs", type=float, required=True)
    args = parser.parse_args()
    profile = load_profile(args.profile)
    if args.model not in profile.model.families:
        raise SystemExit(f"unknown family {args.model!r}; the {profile.name} profile has {list(profile.model.families)}")
    short = with_task_epochs(profile, args.model, args.task, args.epochs)
    backbone = pipeline.published_dir(profile, args.model, "pretrained")
    published = publish.model_path(profile.name, args.model, args.task, 0)
    publish.check_published(published, profile, weights=False)
    run = Run(args.model, args.task, 0, learning_rate=publish.chosen_learning_rate(profile.name, args.model),
              backbone=str(backbone))
    recipe = run_profile(short, run).finetune
    started = time.perf_counter()
    folder = Path(train_run(short, run, "cpu", 1))
    seconds = time.perf_counter() - started
    published_epochs = profile.finetune_for(args.task, args.model).epochs
    trial = schedule_trial_entry(folder, published, published_epochs)
    low, high = trial["paired_difference"]["ci95"]
    print(f"{args.model} {args.task}, {args.epochs:g} epochs at lr {recipe.learning_rate:g}: test "
          f"{trial['test_accuracy']:.3f} against the published {trial['published']['test_accuracy']:.3f} "
          f"({published_epochs:g} epochs), paired {trial['paired_difference']['difference']:+.3f} "
          f"[{low:+.3f}, {high:+.3f}]; training {trial['train_seconds']:.0f} s against "
          f"{trial['published']['train_seconds']:.0f} s")
    out = results_dir(profile.name) / "short_schedule_study.json"
    record(out, f"{args.model} {args.task}: {args.epochs:g} epochs", {
        "profile": profile.name, "model": args.model, "task": args.task, "seed": 0, "threads": 1,
        "platform": corpus_platform(), "epochs": recipe.epochs, "evaluations": recipe.evaluations,
        "learning_rate": recipe.learning_rate, "train_crop_seconds": recipe.train_crop_seconds,
        "seconds": seconds, **trial,
    })
    print("wrote", display_path(out))


if __name__ == "__main__":
    main()
