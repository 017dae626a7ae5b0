"""Does a longer schedule lift a fine-tuned model on speakers the way it lifts the TDNN?

A study of the first published set, whose speakers models trained for 3 epochs (0.08-0.23 test
accuracy) while a speaker network trained from scratch passed 0.80 after about 15
(``benchmarks/speakers_ceiling.py``). It fine-tunes one published pre-trained backbone on speakers
for ``--epochs`` epochs, with one validation pass per epoch, at the family's swept *words* learning
rate (what the speakers recipe used then; today's speakers recipe sets its own rate, 1e-3), the head
at its recipe's multiplier and the CNN trained, and records the validation curve, the test accuracy
of the best checkpoint and the published speakers model's accuracy with its epochs. The recorded
run (HuBERT, 8 epochs: 0.613 against 0.227 for the 3-epoch model published then) used that set's
speakers recipe; the other settings (crop windows, masks, dropout) now follow today's, so a rerun
measures a mixed recipe. To measure today's recipe with only the epochs changed, use
``benchmarks/short_schedule.py --task speakers --epochs N``. The run goes to the cache, never to
``models/``. Usage (one thread; about 5 minutes per epoch here):

    python benchmarks/speakers_schedule.py [--profile mini] [--model hubert] [--epochs 8]

Writes ``results/<profile>/speakers_schedule_study.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import torch

from redundancy import pipeline, publish
from redundancy.config import load_profile
from redundancy.finetune import finetune, read_metrics, read_validation_curve
from redundancy.paths import display_path, results_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="mini")
    parser.add_argument("--model", default="hubert")
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(1)
    P = load_profile(args.profile)
    source = pipeline.published_dir(P, args.model, "pretrained")
    published = pipeline.published_dir(P, args.model, "speakers")
    rate = publish.chosen_learning_rate(P.name, args.model) or P.finetune.learning_rate
    cfg = dataclasses.replace(P.finetune_for("speakers", args.model), epochs=float(args.epochs), evaluations=args.epochs,
                              learning_rate=float(rate), lr_candidates=())
    started = time.perf_counter()
    folder = finetune(source, "speakers", cfg, corpus_root=pipeline.corpus_root(P, progress=False),
                      speaker_min_utterances=P.corpus.speaker_min_utterances,
                      speaker_split_seed=P.corpus.speaker_split_seed, seed=0, device="cpu", progress=True)
    metrics = read_metrics(folder)
    curve = read_validation_curve(folder)
    print(f"{args.model} speakers, {args.epochs} epochs at lr {rate:g}: test {metrics['accuracy']:.3f}; validation",
          ", ".join(f"{p['accuracy']:.3f}" for p in curve))
    out = results_dir(P.name) / "speakers_schedule_study.json"
    out.write_text(json.dumps({
        "profile": P.name, "model": args.model, "task": "speakers", "epochs": args.epochs, "learning_rate": rate,
        "head_lr_multiplier": cfg.head_lr_multiplier, "train_cnn": not cfg.freeze_feature_encoder,
        "test_accuracy": metrics["accuracy"], "validation": curve, "threads": 1,
        "seconds": time.perf_counter() - started,
        "published": {"epochs": P.finetune_for("speakers", args.model).epochs,
                      "accuracy": read_metrics(published)["accuracy"]},
    }, indent=2))
    print("wrote", display_path(out))


if __name__ == "__main__":
    main()
