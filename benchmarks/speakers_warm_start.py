"""Does a speakers run learn faster from the words-fine-tuned backbone than from the pre-trained one?

Speakers is most of `make models` (30 epochs a family, 11,490 s of its 24,358 s of one-thread work;
results/mini/make_models_time.json), and 6 epochs or fewer would bring it under 2 hours
(results/mini/make_models_time_what_if.json). A backbone that has already learned this corpus's
audio on words (seed 0, published) might give speakers a head start. This fine-tunes speakers from
that backbone (its words head left out) with the published speakers recipe of the family except the
number of epochs, and compares it clip by clip with the published speakers model (fine-tuned from
the pre-trained backbone for 30 epochs). Into the cache; nothing is published. Usage (one thread; two
runs at once on 2 cores):

    python benchmarks/speakers_warm_start.py --model hubert --epochs 6

Adds an entry to ``results/<profile>/speakers_warm_start_study.json`` (one per family and epochs).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from speakers_regularisation import record

from redundancy import publish
from redundancy.baselines import schedule_trial_entry
from redundancy.config import load_profile, with_task_epochs
from redundancy.cpu_platform import corpus_platform
from redundancy.make_models import Run, run_profile, train_run
from redundancy.models import load_backbone
from redundancy.paths import cache_root, display_path, results_dir


def words_backbone(profile_name: str, family: str) -> Path:
    """The backbone of the published words model (seed 0), saved without its head, in the cache."""
    words = publish.model_path(profile_name, family, "words", 0)
    sha = publish.read_provenance(words)["weights_sha256"][:16]
    folder = cache_root() / "speakers_warm_start" / f"{family}-words-seed0-{sha}"
    if not (folder / "config.json").is_file():
        model = load_backbone(words, dtype=torch.float32)
        model.save_pretrained(folder)
        extractor = words / "preprocessor_config.json"
        if extractor.is_file():
            (folder / extractor.name).write_text(extractor.read_text())
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="mini")
    parser.add_argument("--model", default="hubert", help="family")
    parser.add_argument("--epochs", type=float, required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    profile = load_profile(args.profile)
    if args.model not in profile.model.families:
        raise SystemExit(f"unknown family {args.model!r}; the {profile.name} profile has {list(profile.model.families)}")
    published = publish.model_path(profile.name, args.model, "speakers", 0)
    publish.check_published(published, profile, weights=False)
    short = with_task_epochs(profile, args.model, "speakers", args.epochs)
    run = Run(args.model, "speakers", 0, learning_rate=publish.chosen_learning_rate(profile.name, args.model),
              backbone=str(words_backbone(profile.name, args.model)))
    recipe = run_profile(short, run).finetune
    folder = Path(train_run(short, run, "cpu", 1))  # a cached run comes back at once; its train_seconds stay
    published_epochs = profile.finetune_for("speakers", args.model).epochs
    trial = schedule_trial_entry(folder, published, published_epochs)
    trial["published"]["started_from"] = f"{args.model}/pretrained"
    low, high = trial["paired_difference"]["ci95"]
    print(f"{args.model} speakers from the words backbone, {args.epochs:g} epochs: test {trial['test_accuracy']:.3f} "
          f"against the published {trial['published']['test_accuracy']:.3f} ({published_epochs:g} epochs from the "
          f"pre-trained backbone), paired {trial['paired_difference']['difference']:+.3f} [{low:+.3f}, {high:+.3f}]; "
          f"training {trial['train_seconds']:.0f} s against {trial['published']['train_seconds']:.0f} s")
    out = results_dir(profile.name) / "speakers_warm_start_study.json"
    record(out, f"{args.model}: {args.epochs:g} epochs", {
        "profile": profile.name, "model": args.model, "task": "speakers", "seed": 0, "threads": 1,
        "platform": corpus_platform(), "started_from": f"{args.model}/words-seed0",
        "backbone": "the published words model (seed 0) without its head",
        "epochs": recipe.epochs, "evaluations": recipe.evaluations, "learning_rate": recipe.learning_rate,
        "train_crop_seconds": recipe.train_crop_seconds, **trial,
    })
    print("wrote", display_path(out))


if __name__ == "__main__":
    main()
