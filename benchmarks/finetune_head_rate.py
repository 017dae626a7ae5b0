"""How fast does a fine-tuning recipe learn? One epoch of words on a published backbone, with the
head at its own learning rate (the study behind ``FinetuneConfig.head_lr_multiplier``).

It trains exactly what ``redundancy.finetune`` trains (the same classifier, frozen CNN with its
outputs computed once, AdamW, linear warm-up over 10 % then linear decay, gradient clipping at 1),
in a plain loop so that one variant takes about 3 minutes on one thread, and reports validation
accuracy four times. It never touches the test split. Usage:

    python benchmarks/finetune_head_rate.py wav2vec2 --lr 5e-4 --head 30 [--bs 32] [--epochs 1]

Each run appends its curve to ``results/<profile>/head_rate_study.json``. Run two at a time on a
2-core machine, never more (they slow each other down).
"""

from __future__ import annotations

import argparse
import json
import math
import time

import torch
from transformers import get_linear_schedule_with_warmup

from redundancy import pipeline, publish
from redundancy.commands import load_split
from redundancy.finetune import (PrecomputedFeatures, _features_of, build_classifier, cached_cnn_features,
                                 optimizer_groups)
from redundancy.models import base_model
from redundancy.paths import results_dir
from redundancy.preprocess import should_normalize


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("family")
    parser.add_argument("--profile", default="mini")
    parser.add_argument("--task", default="words")
    parser.add_argument("--lr", type=float, default=5e-4, help="backbone learning rate")
    parser.add_argument("--head", type=float, default=1.0, help="head learning rate = lr x head")
    parser.add_argument("--bs", type=int, default=32)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--warmup", type=float, default=0.1)
    parser.add_argument("--evaluations", type=int, default=4)
    args = parser.parse_args()
    torch.set_num_threads(1)

    root = pipeline.corpus_root(args.profile, progress=False)
    source = publish.model_path(args.profile, args.family, "pretrained")
    train, validation = load_split(root, args.task, "train"), load_split(root, args.task, "validation")
    torch.manual_seed(0)
    model = build_classifier(source, len(train.classes), list(train.classes), False, 0.0)
    model.freeze_feature_encoder()
    backbone = base_model(model)
    folder, index = cached_cnn_features(source, backbone.feature_extractor, root, should_normalize(source), "cpu", False)
    x_train, x_val = _features_of(folder, index, train), _features_of(folder, index, validation)
    y_train, y_val = torch.as_tensor(train.labels), torch.as_tensor(validation.labels)
    backbone.feature_extractor = PrecomputedFeatures()

    # the Trainer's parameter groups and linear schedule (weight decay 0, as the mini recipe)
    optimizer = torch.optim.AdamW(optimizer_groups(model, args.lr, args.head, 0.0, set()))
    steps_per_epoch = math.ceil(len(y_train) / args.bs)
    total = int(args.epochs * steps_per_epoch)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(args.warmup * total), total)
    every = max(1, total // args.evaluations)

    @torch.inference_mode()
    def accuracy() -> float:
        model.eval()
        hits = sum(int((model(input_values=x_val[i:i + 256]).logits.argmax(-1) == y_val[i:i + 256]).sum())
                   for i in range(0, len(y_val), 256))
        model.train()
        return hits / len(y_val)

    generator = torch.Generator().manual_seed(0)
    start, step, curve = time.perf_counter(), 0, []
    model.train()
    while step < total:
        for batch in torch.randperm(len(y_train), generator=generator).split(args.bs):
            if step >= total:
                break
            loss = model(input_values=x_train[batch], labels=y_train[batch]).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            step += 1
            if step % every == 0 or step == total:
                curve.append({"epoch": round(step / steps_per_epoch, 3), "validation_accuracy": accuracy(),
                              "train_loss": float(loss)})
                print(curve[-1], flush=True)
    record = {"family": args.family, "task": args.task, "learning_rate": args.lr, "head_lr_multiplier": args.head,
              "batch_size": args.bs, "epochs": args.epochs, "curve": curve,
              "seconds": round(time.perf_counter() - start, 1), "threads": 1}
    out = results_dir(args.profile) / "head_rate_study.json"
    rows = json.loads(out.read_text()) if out.is_file() else []
    out.write_text(json.dumps(rows + [record], indent=1))
    print(json.dumps(record))


if __name__ == "__main__":
    main()
