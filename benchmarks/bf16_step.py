"""Would bfloat16 autocast speed up CPU fine-tuning on a CPU with bfloat16 matrix units?

`make models` is bound by fine-tuning steps on 2 cores (issue 12 asks for at most 2 hours). Some
CPUs multiply bfloat16 matrices in hardware (Intel's AMX and AVX512-BF16; the results list what
this one has); torch uses them under ``torch.autocast("cpu", dtype=torch.bfloat16)``. For each
family's classifier on its published backbone (built as fine-tuning builds it), this times one
training step (forward, backward, AdamW) of the words recipe's batch in float32, under bfloat16
autocast, and under bfloat16 autocast with the attention computed eagerly
(``finetune.BF16_CPU_ATTENTION``: torch's fused attention backward is slow in bfloat16 on a CPU),
alternating rounds in one process on one thread so the ratios are fair on a noisy machine, and
compares the losses on the same weights and clips (how far bfloat16 moves the arithmetic). It
measures speed only: whether bfloat16 training reaches the same accuracy takes training runs
(chapter 02). Usage (alone on the machine; about three minutes):

    python benchmarks/bf16_step.py [--profile mini] [--repeats 5] [--rounds 2]

Writes ``results/<profile>/bf16_step.json``, one entry per CPU platform (earlier ones kept).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import statistics
from pathlib import Path

import torch
from finetune_step_profile import median_seconds

from redundancy import pipeline
from redundancy.audio import SAMPLE_RATE
from redundancy.commands import WORDS
from redundancy.config import load_profile
from redundancy.cpu_platform import corpus_platform
from redundancy.finetune import BF16_CPU_ATTENTION, build_classifier
from redundancy.models import quiet_loading
from redundancy.paths import display_path, results_dir

MATRIX_FLAGS = ("amx_bf16", "amx_tile", "avx512_bf16", "avx512_fp16")


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> list[str]:
    """Which of the bfloat16-related instruction sets this CPU reports."""
    try:
        words = set(cpuinfo.read_text().split())
    except OSError:
        return []
    return [flag for flag in MATRIX_FLAGS if flag in words]


VARIANTS = ("float32", "bfloat16 autocast", "bfloat16 autocast, eager attention")


def time_family(backbone: Path, batch_size: int, repeats: int, rounds: int) -> dict[str, object]:
    """Seconds per training step of each of :data:`VARIANTS` (the first: float32 with the family's
    own attention, as the float32 recipe trains), and the first loss of each."""
    names = list(WORDS)
    torch.manual_seed(0)
    clips = torch.randn(batch_size, SAMPLE_RATE)
    labels = torch.randint(0, len(names), (batch_size,))
    with quiet_loading():
        model = build_classifier(backbone, len(names), names, False, 0.0, None)
    model.train()
    own_attention = model.config._attn_implementation
    setups = {"float32": (contextlib.nullcontext, own_attention),
              "bfloat16 autocast": (_bf16, own_attention),
              "bfloat16 autocast, eager attention": (_bf16, BF16_CPU_ATTENTION)}
    state = {k: v.clone() for k, v in model.state_dict().items()}
    losses = {}
    for name, (context, attention) in setups.items():
        model.set_attn_implementation(attention)
        model.load_state_dict(state)
        torch.manual_seed(1)
        with context():
            losses[name] = model(input_values=clips, labels=labels).loss.item()
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)

    def step(context) -> None:
        with context():
            loss = model(input_values=clips, labels=labels).loss
        loss.backward()
        optimiser.step()
        optimiser.zero_grad()

    seconds: dict[str, list[float]] = {name: [] for name in setups}
    for _ in range(rounds):
        for name, (context, attention) in setups.items():
            model.set_attn_implementation(attention)
            seconds[name].append(median_seconds(lambda: step(context), repeats))
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    return {"attention": own_attention, "step_s": medians, "rounds_s": seconds,
            "speedup": {name: medians["float32"] / medians[name] for name in setups if name != "float32"},
            "first_loss": losses,
            "first_loss_difference": {name: losses[name] - losses["float32"] for name in setups if name != "float32"}}


def _bf16():
    return torch.autocast("cpu", dtype=torch.bfloat16)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="mini")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    P = load_profile(args.profile)
    batch = P.finetune_for("words").batch_size
    report = {"profile": P.name, "batch_size": batch, "threads": 1, "platform": corpus_platform(),
              "cpu": platform.processor() or platform.machine(), "bf16_flags": cpu_flags(),
              "torch": torch.__version__, "families": {}}
    print(f"{report['platform']}, bfloat16-related flags: {report['bf16_flags'] or 'none'}")
    for family in P.model.families:
        result = time_family(pipeline.published_dir(P, family, "pretrained"), batch, args.repeats, args.rounds)
        report["families"][family] = result
        print(f"{family} ({result['attention']} attention): s per step of {batch} clips: "
              + ", ".join(f"{k} {v:.3f}" for k, v in result["step_s"].items())
              + " (" + ", ".join(f"x{v:.2f}" for v in result["speedup"].values()) + "); bfloat16 moves the first loss by "
              + ", ".join(f"{v:+.1e}" for v in result["first_loss_difference"].values()), flush=True)
    out = results_dir(P.name) / "bf16_step.json"
    earlier = json.loads(out.read_text()) if out.is_file() else {}
    platforms = earlier.get("platforms", {}) | {report["platform"]: report}
    out.write_text(json.dumps({"platforms": platforms}, indent=1) + "\n")
    print(f"wrote {display_path(out)}")


if __name__ == "__main__":
    main()
