"""Can the lowest CNN blocks stay frozen, to make `make models` fit 2 hours on 2 cores?

The mini recipe trains the whole CNN feature encoder (chapter 02: frozen, the pre-trained models fell
below a random-init control whose CNN trains). On a CPU the CNN is about half of a training step and
its three lowest blocks (where most frames are) most of that (benchmarks/finetune_step_profile.py).
This fine-tunes each family's published backbone on words (seed 0, the family's swept learning rate,
everything else the published recipe) with its lowest ``--blocks`` CNN blocks frozen and their
outputs computed once (``FinetuneConfig.frozen_cnn_blocks``), and compares it with the published
words model of the same seed: test accuracy, the paired bootstrap interval of the difference on the
same test clips, best validation accuracy and training time. Into the cache; nothing is published.
Usage (about 20 minutes on 2 cores for the three families):

    python benchmarks/partial_cnn_freeze.py [--profile mini] [--blocks 3] [--jobs 2]

Writes ``results/<profile>/partial_cnn_freeze_study.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from redundancy import publish
from redundancy.baselines import paired_accuracy_difference
from redundancy.cache import atomic_write_json
from redundancy.config import Profile, load_profile
from redundancy.finetune import read_metrics
from redundancy.make_models import Run, train_run
from redundancy.paths import display_path, results_dir


def partial_profile(profile: Profile, blocks: int) -> Profile:
    """``profile`` with its lowest ``blocks`` CNN blocks frozen in fine-tuning."""
    return dataclasses.replace(profile, finetune=dataclasses.replace(profile.finetune, frozen_cnn_blocks=blocks))


def train(profile_name: str, family: str, blocks: int) -> tuple[str, float]:
    """Fine-tune the published backbone on words, seed 0, with ``blocks`` frozen; (folder, seconds)."""
    profile = load_profile(profile_name)
    rate = publish.chosen_learning_rate(profile.name, family)
    backbone = publish.model_path(profile.name, family, "pretrained")
    publish.check_published(backbone, profile)
    start = time.perf_counter()
    folder = train_run(partial_profile(profile, blocks), Run(family, "words", 0, learning_rate=rate,
                                                             backbone=str(backbone)), "cpu", 1)
    return folder, time.perf_counter() - start


def paired_difference(new: Path, published: Path) -> dict[str, Any]:
    """Accuracy difference (new - published) on the same test clips, with its bootstrap interval."""
    _, _, difference, low, high = paired_accuracy_difference(new, published)
    return {"difference": difference, "ci95": [low, high]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="mini")
    parser.add_argument("--blocks", type=int, default=3, help="lowest CNN blocks kept frozen")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time, one thread each")
    parser.add_argument("--families", nargs="*", default=None)
    args = parser.parse_args()
    profile = load_profile(args.profile)
    if profile.finetune.freeze_feature_encoder:
        raise SystemExit(f"the {profile.name} recipe freezes the whole CNN: there is nothing to freeze partly")
    families = args.families or list(profile.model.families)
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = {family: pool.submit(train, profile.name, family, args.blocks) for family in families}
        rows = []
        for family, future in futures.items():
            folder, seconds = future.result()
            published = publish.model_path(profile.name, family, "words", 0)
            new, old = read_metrics(Path(folder)), read_metrics(published)
            rows.append({"family": family, "seed": 0, "frozen_cnn_blocks": args.blocks,
                         "accuracy": new["accuracy"], "ci95": new["ci95"],
                         "best_validation_accuracy": new.get("best_validation_accuracy"),
                         "train_seconds": new.get("train_seconds"), "wall_seconds": seconds,
                         "published_accuracy": old["accuracy"],
                         "published_best_validation_accuracy": old.get("best_validation_accuracy"),
                         "published_train_seconds": old.get("train_seconds"),
                         "published_resumed": bool(old.get("resumed")),  # then its seconds are only its last stretch
                         "paired": paired_difference(Path(folder), published)})
            print(json.dumps(rows[-1]), flush=True)
    out = results_dir(profile.name) / "partial_cnn_freeze_study.json"
    # a study of another number of frozen blocks keeps its rows (same families, same published set)
    recipe_hash = publish.task_set_hash(profile, "words")
    earlier = json.loads(out.read_text()) if out.is_file() else {}
    kept = [row for row in earlier.get("rows", []) if earlier.get("recipe_hash") == recipe_hash
            and (row["frozen_cnn_blocks"], row["family"]) not in {(r["frozen_cnn_blocks"], r["family"]) for r in rows}]
    atomic_write_json(out, {"profile": profile.name, "recipe_hash": recipe_hash,
                            "note": f"words, seed 0, one thread a run (jobs={args.jobs} at a time in the latest)",
                            "rows": kept + rows})
    print("wrote", display_path(out))


if __name__ == "__main__":
    main()
