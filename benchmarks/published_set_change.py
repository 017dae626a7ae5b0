"""What did a new set of models change? Every fine-tuned model against the one a commit published.

When `make models` trains a new recipe, git keeps the old weights, but the book should say what the
change did without checking out history, whether or not the new set is then published. Run this
after `make models` has written the new set into ``models/<profile>/`` and before it is committed
(or put back with ``git checkout models/``): for every fine-tuned model (family, task, seed,
control) whose recipe changed since the commit ``--before`` (default ``HEAD``), it pairs the two
models' test predictions on the same clips (a paired bootstrap 95 % interval of the difference) and
records both accuracies, training seconds and recipe hashes, and both learning-rate sweeps.
Nothing is trained.

    python benchmarks/published_set_change.py --label "bfloat16 autocast" [--before HEAD] [--profile mini]
        [--out published_set_change.json]

Writes ``results/<profile>/<--out>`` (one record: this change).
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
from pathlib import Path

import numpy as np

from redundancy import publish
from redundancy.baselines import paired_prediction_difference
from redundancy.config import load_profile
from redundancy.paths import display_path, project_root, results_dir


def from_git(ref: str, path: Path) -> bytes | None:
    """A file's bytes as commit ``ref`` has it (None: not there)."""
    root = project_root()
    relative = path.resolve().relative_to(root).as_posix()
    shown = subprocess.run(["git", "show", f"{ref}:{relative}"], cwd=root, capture_output=True)
    return shown.stdout if shown.returncode == 0 else None


def compare(folder: Path, ref: str) -> dict | None:
    """One published classifier against the one commit ``ref`` published in the same folder."""
    old_predictions, old_metrics, old_provenance = (from_git(ref, folder / name) for name in
                                                    ("test_predictions.npz", "metrics.json", publish.PROVENANCE_FILE))
    if old_predictions is None or old_metrics is None or old_provenance is None:
        return None
    before = np.load(io.BytesIO(old_predictions))
    after = np.load(folder / "test_predictions.npz")
    if not np.array_equal(before["labels"], after["labels"]):
        raise SystemExit(f"{display_path(folder)}: tested on other clips than at {ref}: not comparable")
    now, earlier, difference, low, high = paired_prediction_difference(after["predictions"], before["predictions"],
                                                                       after["labels"])
    metrics, provenance = json.loads((folder / "metrics.json").read_text()), publish.read_provenance(folder)
    return {"before": earlier, "after": now, "difference": difference, "ci95": [low, high],
            "train_seconds_before": json.loads(old_metrics).get("train_seconds"),
            "train_seconds_after": metrics.get("train_seconds"),
            "recipe_hash_before": json.loads(old_provenance).get("recipe_hash"),
            "recipe_hash_after": provenance.get("recipe_hash"), "n_test": int(after["labels"].size)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="mini")
    parser.add_argument("--before", default="HEAD", help="the commit that published the earlier set")
    parser.add_argument("--label", required=True, help="what changed, in a few words")
    parser.add_argument("--out", default="published_set_change.json", help="file name under results/<profile>/")
    args = parser.parse_args()
    P = load_profile(args.profile)
    if project_root() is None:
        raise SystemExit("not in a checkout of the project: the earlier set is read from git")
    commit = subprocess.run(["git", "rev-parse", args.before], cwd=project_root(), capture_output=True, text=True,
                            check=True).stdout.strip()
    models = {}
    for folder in sorted(publish.models_root(P.name).glob("*/*/test_predictions.npz")):
        row = compare(folder.parent, commit)
        if row is not None and row["recipe_hash_before"] != row["recipe_hash_after"]:
            models[f"{folder.parent.parent.name}/{folder.parent.name}"] = row
            print(f"{folder.parent.parent.name}/{folder.parent.name}: {row['before']:.3f} -> {row['after']:.3f} "
                  f"({row['difference']:+.3f} [{row['ci95'][0]:+.3f}, {row['ci95'][1]:+.3f}]), "
                  f"{row['train_seconds_before']:.0f} s -> {row['train_seconds_after']:.0f} s", flush=True)
    if not models:
        raise SystemExit(f"no published model changed its recipe since {args.before}: nothing to compare")
    sweep_file = publish.models_root(P.name) / publish.LR_SWEEP_FILE
    sweep_before = from_git(commit, sweep_file)
    out = results_dir(P.name) / args.out
    out.write_text(json.dumps({"profile": P.name, "label": args.label, "before_commit": commit, "models": models,
                               "lr_sweep_before": json.loads(sweep_before) if sweep_before else None,
                               "lr_sweep_after": publish.read_lr_sweep(P.name)}, indent=1, sort_keys=True) + "\n")
    print(f"wrote {display_path(out)} ({len(models)} models)")


if __name__ == "__main__":
    main()
