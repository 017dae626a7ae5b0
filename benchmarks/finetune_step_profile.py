"""Where does a fine-tuning step of the mini models spend its time on a CPU?

`make models` on 2 cores is bound by fine-tuning with the CNN trained (issue 12 asks for at most
2 hours; the mini recipe takes several). For each family's published backbone with the
classification head (built as fine-tuning builds it, ``finetune.build_classifier``), this times one
training step (forward, backward, AdamW) without regularisation, with SpecAugment time masks
(p = 0.05, the hub configs'), with backbone dropout 0.1, and with the lowest 2 or 3 CNN blocks
frozen (their outputs computed once, as ``FinetuneConfig.frozen_cnn_blocks`` trains); and it splits
the plain step into the CNN feature encoder, block by block, and the rest (feature projection,
transformer, head). All in one run on one thread, so the ratios can be compared side by side.
Inputs are random 1 s clips at the recipe's batch size: the time of these operations does not
depend on the values. Usage (alone on the machine; about two minutes):

    python benchmarks/finetune_step_profile.py [--profile mini] [--repeats 5]

Writes ``results/<profile>/finetune_step_profile.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path
from typing import Any, Callable

import torch

from redundancy import pipeline
from redundancy.audio import SAMPLE_RATE
from redundancy.commands import WORDS
from redundancy.config import load_profile
from redundancy.finetune import LowerCNNBlocks, UpperCNNBlocks, build_classifier, freeze_lower_cnn_blocks
from redundancy.models import base_model, quiet_loading
from redundancy.paths import display_path, results_dir


def median_seconds(work: Callable[[], None], repeats: int) -> float:
    """Median wall time of ``work`` after one warm-up call."""
    work()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


#: name -> (mask_time_prob, dropout) as ``FinetuneConfig`` sets them.
VARIANTS = {"plain": (0.0, None), "time masks p=0.05": (0.05, None), "dropout 0.1": (0.0, 0.1)}
#: ``FinetuneConfig.frozen_cnn_blocks`` values timed as well (the plain recipe otherwise).
FROZEN_BLOCKS = (2, 3)


def step_timer(model: torch.nn.Module, inputs: torch.Tensor, n_classes: int) -> tuple[Callable[[], None], Any]:
    """One training step (forward, backward, AdamW) of ``model`` on ``inputs``, and its optimiser."""
    model.train()
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    labels = torch.randint(0, n_classes, (len(inputs),))

    def step() -> None:
        model(input_values=inputs, labels=labels).loss.backward()
        optimiser.step()
        optimiser.zero_grad()

    return step, optimiser


def profile_family(backbone: Path, batch_size: int, repeats: int) -> dict[str, Any]:
    """Seconds per training step for each of :data:`VARIANTS`, and per CNN block (forward and
    backward) of the plain one, for the classifier on one pre-trained backbone."""
    names = list(WORDS)
    clips = torch.randn(batch_size, SAMPLE_RATE)
    steps = {}
    for variant, (mask_time_prob, dropout) in VARIANTS.items():
        with quiet_loading():
            model = build_classifier(backbone, len(names), names, False, mask_time_prob, dropout)
        step, optimiser = step_timer(model, clips, len(names))
        steps[variant] = median_seconds(step, repeats)
    for blocks in FROZEN_BLOCKS:  # as fine-tuning runs it: the frozen blocks' outputs were computed once
        with quiet_loading():
            model = build_classifier(backbone, len(names), names, False, 0.0, None)
        inner = base_model(model)
        freeze_lower_cnn_blocks(inner.feature_extractor, blocks)
        with torch.no_grad():
            lower = LowerCNNBlocks(inner.feature_extractor, blocks)(clips)
        inner.feature_extractor = UpperCNNBlocks(inner.feature_extractor, blocks)
        step, optimiser = step_timer(model, lower, len(names))
        steps[f"lowest {blocks} CNN blocks frozen"] = median_seconds(step, repeats)
    with quiet_loading():
        model = build_classifier(backbone, len(names), names, False, 0.0, None)
    step, optimiser = step_timer(model, clips, len(names))

    encoder = base_model(model).feature_extractor

    def cnn() -> None:
        encoder(clips).sum().backward()
        optimiser.zero_grad()

    blocks = []
    hidden = clips[:, None]
    for index, block in enumerate(encoder.conv_layers):
        block_input = hidden.detach().requires_grad_(index > 0)

        def run(block=block, block_input=block_input) -> None:
            block(block_input).sum().backward()
            optimiser.zero_grad()

        blocks.append({"block": index, "input_shape": list(block_input.shape),
                       "seconds": median_seconds(run, repeats)})
        with torch.no_grad():
            hidden = block(block_input)
    full, encoder_s = median_seconds(step, repeats), median_seconds(cnn, repeats)
    return {"step_s": full, "variants_step_s": steps, "cnn_s": encoder_s, "cnn_share": encoder_s / full,
            "cnn_blocks": blocks}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="mini")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    P = load_profile(args.profile)
    batch = P.finetune_for("words").batch_size
    report = {"profile": P.name, "batch_size": batch, "threads": 1, "machine": platform.machine(),
              "torch": torch.__version__, "families": {}}
    for family in P.model.families:
        result = profile_family(pipeline.published_dir(P, family, "pretrained"), batch, args.repeats)
        report["families"][family] = result
        plain = result["variants_step_s"]["plain"]
        print(f"{family}: s per step of {batch} clips: "
              + ", ".join(f"{name} {t:.3f} (x{t / plain:.2f})" for name, t in result["variants_step_s"].items()))
        print(f"  plain step again {result['step_s']:.3f} s; CNN forward+backward "
              f"{result['cnn_s']:.3f} s ({result['cnn_share']:.0%}); per CNN block "
              + ", ".join(f"{b['seconds']:.3f}" for b in result["cnn_blocks"]))
    out = results_dir(P.name) / "finetune_step_profile.json"
    out.write_text(json.dumps(report, indent=1))
    print(f"wrote {display_path(out)}")


if __name__ == "__main__":
    main()
