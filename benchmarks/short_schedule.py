"""How much accuracy would a schedule short enough for a 2-hour `make models` cost?

`make models` on the mini profile took about 3.4 h on 2 cores with words at 3 epochs of batch 32
(9 runs) and speakers at 30 (3 runs, 11,490 s of the 24,358 s of work); issue 12 asks for at most 2.
This study measured the words recipe published since (2 epochs of batch 8: about 2.5 h in all
with the speakers runs measured on the same CPU, results/mini/make_models_time.json). This fine-tunes one family's published backbone on one
task (seed 0 unless ``--seed``), with the published recipe of that task and family (its learning rate resolved as
`make models` resolves it) except the number of epochs (validation passes scale with it, so the
checkpoint is picked as often per epoch), and compares it clip by clip with the published
model of that seed on the same test clips (paired bootstrap), with both training times. Into the cache; nothing
is published. Usage (one thread; two runs at once on 2 cores):

    python benchmarks/short_schedule.py --model hubert --task speakers --epochs 16
    python benchmarks/short_schedule.py --model hubert --task words --epochs 2 --batch-size 8
    python benchmarks/short_schedule.py --model hubert --task words --epochs 2 --batch-size 8 --seed 1
    python benchmarks/short_schedule.py --model hubert --task words --epochs 2 --batch-size 8 --control random-trainable-cnn

``--batch-size`` (and ``--learning-rate``) change the batch (and the rate) too: a smaller batch makes
more updates per epoch for about the same compute per epoch. Adds an entry to
``results/<profile>/short_schedule_study.json`` (one per family, task, epochs, batch and rate).
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from speakers_regularisation import record

from redundancy import pipeline, publish
from redundancy.baselines import schedule_trial_entry
from redundancy.config import load_profile, with_task_changes, with_task_epochs
from redundancy.cpu_platform import corpus_platform
from redundancy.make_models import Run, run_profile, train_run
from redundancy.paths import display_path, results_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="mini")
    parser.add_argument("--model", default="hubert", help="family")
    parser.add_argument("--task", default="speakers", choices=("words", "speakers"))
    parser.add_argument("--epochs", type=float, required=True)
    parser.add_argument("--batch-size", type=int, default=None, help="default: the published recipe's")
    parser.add_argument("--learning-rate", type=float, default=None, help="default: the one make models resolves")
    parser.add_argument("--seed", type=int, default=0, help="fine-tuning seed; compared with the published model of that seed")
    parser.add_argument("--control", default=None, choices=publish.CONTROLS,
                        help="a random-init control (words) instead of the pre-trained backbone")
    args = parser.parse_args()
    profile = load_profile(args.profile)
    if args.model not in profile.model.families:
        raise SystemExit(f"unknown family {args.model!r}; the {profile.name} profile has {list(profile.model.families)}")
    short = with_task_epochs(profile, args.model, args.task, args.epochs)
    if args.batch_size is not None and args.batch_size < 1:
        raise SystemExit(f"--batch-size must be at least 1, not {args.batch_size}")
    if args.learning_rate is not None and not args.learning_rate > 0:
        raise SystemExit(f"--learning-rate must be positive, not {args.learning_rate}")
    short = with_task_changes(short, args.model, args.task, **{
        name: value for name, value in (("batch_size", args.batch_size), ("learning_rate", args.learning_rate))
        if value is not None})
    published_rate = publish.chosen_learning_rate(profile.name, args.model)
    rate = args.learning_rate if args.learning_rate is not None else published_rate
    backbone = pipeline.published_dir(profile, args.model, "pretrained")
    if args.control and args.task != "words":
        raise SystemExit(f"the random-init controls train words only, not {args.task}")
    published = publish.model_path(profile.name, args.model, args.task, args.seed, args.control)
    if not published.is_dir():
        raise SystemExit(f"no published {args.model} {args.task} model of seed {args.seed}"
                         f"{' (' + args.control + ')' if args.control else ''} to compare with ({display_path(published)})")
    publish.check_published(published, profile, weights=False)
    run = Run(args.model, args.task, args.seed, args.control, learning_rate=rate, backbone=str(backbone))
    recipe = run_profile(short, run).finetune
    published_recipe = run_profile(profile, dataclasses.replace(run, learning_rate=published_rate)).finetune
    folder = Path(train_run(short, run, "cpu", 1))
    published_epochs = profile.finetune_for(args.task, args.model).epochs
    trial = schedule_trial_entry(folder, published, published_epochs)
    low, high = trial["paired_difference"]["ci95"]
    print(f"{run.label}, {args.epochs:g} epochs, batch {recipe.batch_size}, lr {recipe.learning_rate:g}: test "
          f"{trial['test_accuracy']:.3f} against the published {trial['published']['test_accuracy']:.3f} "
          f"({published_epochs:g} epochs), paired {trial['paired_difference']['difference']:+.3f} "
          f"[{low:+.3f}, {high:+.3f}]; training {trial['train_seconds']:.0f} s against "
          f"{trial['published']['train_seconds']:.0f} s")
    out = results_dir(profile.name) / "short_schedule_study.json"
    key = f"{args.model} {args.task}: {args.epochs:g} epochs"
    if (recipe.batch_size, recipe.learning_rate) != (published_recipe.batch_size, published_recipe.learning_rate):
        key += f", batch {recipe.batch_size}, lr {recipe.learning_rate:g}"
    if args.seed:
        key += f", seed {args.seed}"
    if args.control:
        key += f", {args.control}"
    record(out, key, {
        "profile": profile.name, "model": args.model, "task": args.task, "seed": args.seed, "control": args.control, "threads": 1,
        "platform": corpus_platform(), "epochs": recipe.epochs, "evaluations": recipe.evaluations,
        "learning_rate": recipe.learning_rate, "batch_size": recipe.batch_size,
        "published_batch_size": published_recipe.batch_size, "published_learning_rate": published_recipe.learning_rate,
        "train_crop_seconds": recipe.train_crop_seconds, **trial,
    })
    print("wrote", display_path(out))


if __name__ == "__main__":
    main()
