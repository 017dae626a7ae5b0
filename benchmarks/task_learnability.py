"""How learnable is each task, and in how many epochs, for learners that know nothing about speech?

For words and speakers, each clip of the task's train and test splits is summarised by its log-mel
mean and standard deviation (:mod:`redundancy.learnability`); a linear probe and a small MLP are
fitted on train and scored on test, the MLP after 1, 3, 10, 30 and 60 epochs. Chapter 02 sets the
fine-tuned models (3 epochs) beside these curves. Usage (one thread, about 8 minutes on this CPU):

    python benchmarks/task_learnability.py [--profile mini] [--epochs 60]

Writes ``results/<profile>/task_learnability.json``.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from redundancy import pipeline
from redundancy.commands import load_split
from redundancy.learnability import logmel_stats, task_learnability
from redundancy.paths import display_path, results_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="mini")
    parser.add_argument("--epochs", type=int, default=60)
    args = parser.parse_args()
    torch.set_num_threads(1)
    root = pipeline.corpus_root(args.profile, progress=False)
    rows = []
    for task in ("words", "speakers"):
        started = time.perf_counter()
        train, test = load_split(root, task, "train"), load_split(root, task, "test")
        train_x, test_x = logmel_stats(train.load_all(progress=True)), logmel_stats(test.load_all(progress=True))
        result = task_learnability(train_x, train.labels, test_x, test.labels, len(train.classes), epochs=args.epochs)
        result.update(task=task, seconds=time.perf_counter() - started)
        print(task, f"linear {result['linear_probe']:.3f}", "MLP",
              ", ".join(f"{p['epoch']}: {p['accuracy']:.3f}" for p in result["mlp"]), f"({result['seconds']:.0f} s)")
        rows.append(result)
    out = results_dir(args.profile) / "task_learnability.json"
    out.write_text(json.dumps({"profile": args.profile, "features": "log-mel mean + std (40 mels, 25 ms / 10 ms)",
                               "threads": 1, "rows": rows}, indent=2))
    print("wrote", display_path(out))


if __name__ == "__main__":
    main()
