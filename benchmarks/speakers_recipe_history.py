"""Record the published speakers models' recipe and results before a new set replaces them.

Each published speakers set is the outcome of one recipe (our extension; chapter 02 says how each
was chosen). Git keeps the old weights, but the book should show the old curves next to the new
ones without checking out history: run this before `make models ONLY_STALE=1` publishes a new
speakers recipe, and again after it. Each run adds (or refreshes) one entry per recipe hash:
the recipe's settings, and per family the validation curve, best validation accuracy, test
accuracy with its interval, final train loss and training time, read from the published folders,
and the test predictions (so a later set is compared with it clip by clip, a paired difference).

    python benchmarks/speakers_recipe_history.py [--profile mini]

Writes ``results/<profile>/speakers_recipe_history.json``.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from speakers_recipe import summarise

from redundancy import publish
from redundancy.config import load_profile
from redundancy.paths import display_path, results_dir

#: The recipe settings the history shows (the rest is the shared mini recipe, in the provenance).
SHOWN = ("epochs", "learning_rate", "dropout", "mask_time_prob", "freeze_feature_encoder", "batch_size",
         "pooling", "train_crop_seconds", "mixed_precision")
#: Settings added to the recipe after some sets were published, with the value those sets had.
BEFORE_THE_SETTING = {"pooling": "mean", "train_crop_seconds": 0.0, "mixed_precision": "no"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="mini")
    args = parser.parse_args()
    P = load_profile(args.profile)
    out = results_dir(P.name) / "speakers_recipe_history.json"
    history = json.loads(out.read_text()) if out.is_file() else {"profile": P.name, "sets": []}
    families, hashes = {}, {}
    for family in P.model.families:
        folder = publish.model_path(P.name, family, "speakers", 0)
        provenance = publish.read_provenance(folder)
        hashes[family] = provenance["recipe_hash"]
        tested = np.load(folder / "test_predictions.npz")
        # the predictions stay when the weights are replaced: later sets are compared clip by clip
        families[family] = summarise(folder) | {
            "recipe_hash": provenance["recipe_hash"],
            "recipe": {key: provenance["finetune"].get(key, BEFORE_THE_SETTING.get(key)) for key in SHOWN},
            "device": provenance["device"], "git_commit": provenance.get("git_commit"),
            "test_predictions": tested["predictions"].tolist(), "test_labels": tested["labels"].tolist()}
    # a set may hold a recipe per family (Profile.family_task_finetune); one shared recipe keeps its hash
    recipe_hash = publish.set_hash(hashes)
    entry = {"recipe_hash": recipe_hash, "families": families}
    shared = {json.dumps(result["recipe"], sort_keys=True) for result in families.values()}
    if len(shared) == 1:
        entry["recipe"] = families[P.model.families[0]]["recipe"]
    history["sets"] = [s for s in history["sets"] if s["recipe_hash"] != recipe_hash] + [entry]
    out.write_text(json.dumps(history, indent=1))
    for family, result in families.items():
        print(f"{family}: {result['recipe']}: best validation {result['best_validation_accuracy']:.3f}, "
              f"test {result['test_accuracy']:.3f}")
    print(f"set {recipe_hash}: wrote {display_path(out)} ({len(history['sets'])} sets)")


if __name__ == "__main__":
    main()
