"""Is pre-training worth anything once the CNN may train? The fair comparison with the control.

The study that changed the mini recipe, kept as its record. When it ran, the published words
models fine-tuned with the CNN feature encoder frozen (the paper does not say which parts it
froze), and a random-init control whose CNN trains beat them all. This study fine-tunes each published pre-trained backbone once more (words, seed 0, the
family's swept learning rate, everything else the profile's recipe) with its CNN trainable, so
that both sides of the comparison train the same parameters. It reports test accuracy and the
paired bootstrap margin against both published controls (``baselines.pretraining_margins``) and
writes ``results/<profile>/trainable_cnn_study.json``, which chapter 02 shows. Its result is why
the mini recipe now trains the CNN; for a profile whose recipe already does, the published models
are that comparison (chapter 02's margins), and the study refuses to run. Usage (about 40 minutes
on 2 cores for the three families, frozen-CNN recipe only):

    python benchmarks/pretrained_trainable_cnn.py [--profile mini] [--jobs 2] [--families wav2vec2 hubert]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from redundancy import publish
from redundancy.baselines import pretraining_margins
from redundancy.cache import atomic_write_json
from redundancy.config import Profile, load_profile
from redundancy.finetune import read_metrics
from redundancy.paths import results_dir


def swept_learning_rate(profile: Profile, family: str) -> float:
    """The backbone rate ``make models`` chose for the family (the profile's rate without a sweep)."""
    return publish.chosen_learning_rate(profile.name, family) or profile.finetune.learning_rate


def train(profile_name: str, family: str, threads: int) -> tuple[str, float, float]:
    """Fine-tune the published backbone with its CNN trainable; (cached folder, rate, seconds)."""
    import torch

    from redundancy import pipeline
    from redundancy.finetune import finetune

    torch.set_num_threads(threads)
    profile = load_profile(profile_name)
    rate = swept_learning_rate(profile, family)
    cfg = dataclasses.replace(profile.finetune, learning_rate=rate)
    source = publish.model_path(profile.name, family, "pretrained")
    publish.check_published(source, profile)
    start = time.perf_counter()
    folder = finetune(source, "words", cfg, corpus_root=pipeline.corpus_root(profile, progress=False),
                      speaker_min_utterances=profile.corpus.speaker_min_utterances,
                      speaker_split_seed=profile.corpus.speaker_split_seed, train_cnn=True, seed=0,
                      device="cpu", progress=False)
    return str(folder), rate, time.perf_counter() - start


def study_row(profile: Profile, family: str, folder: Path, rate: float, seconds: float) -> dict:
    """Accuracy of the trainable-CNN run and its margins against the published controls."""
    metrics = read_metrics(folder)
    folders = {f"{family}/{publish.folder_name('words', 0)}": str(folder)}
    for control in publish.CONTROLS:
        folders[f"{family}/{publish.folder_name('words', 0, control)}"] = str(
            publish.model_path(profile.name, family, "words", 0, control))
    frozen = publish.model_path(profile.name, family, "words", 0)
    return {"family": family, "seed": 0, "learning_rate": rate, "cnn": "trainable",
            "accuracy": metrics["accuracy"], "ci95": metrics["ci95"], "n_test": metrics["n_test"],
            "best_validation_accuracy": metrics.get("best_validation_accuracy"),
            "frozen_cnn_accuracy": read_metrics(frozen)["accuracy"],
            "seconds": seconds, "margins": pretraining_margins(folders)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="mini")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time, one thread each")
    parser.add_argument("--families", nargs="*", default=None)
    args = parser.parse_args()
    profile = load_profile(args.profile)
    if not profile.finetune.freeze_feature_encoder:
        raise SystemExit(f"the {profile.name} recipe already trains the CNN: its published models are this "
                         "comparison (chapter 02's margins over both controls); the study compares a frozen-CNN "
                         "recipe's published runs with trainable-CNN ones")
    families = args.families or list(profile.model.families)
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = {family: pool.submit(train, profile.name, family, 1 if args.jobs > 1 else 2)
                   for family in families}
        rows = []
        for family, future in futures.items():
            folder, rate, seconds = future.result()
            rows.append(study_row(profile, family, Path(folder), rate, seconds))
            print(json.dumps({k: v for k, v in rows[-1].items() if k != "margins"}))
    out = results_dir(profile.name) / "trainable_cnn_study.json"
    atomic_write_json(out, {"profile": profile.name, "recipe_hash": publish.recipe_hash(profile),
                            "note": f"words, seed 0, CNN trainable, jobs={args.jobs} (seconds with runs in parallel)",
                            "rows": rows})
    print("wrote", out)


if __name__ == "__main__":
    main()
