"""Benchmark: a pruning sweep from cached block inputs against rebuilding each pruned model.

The library (:mod:`redundancy.prune_eval`) runs the full model once per batch of clips and starts
every pruned model from the state before its first removed block, sharing states between depths;
the backward sweep needs no block at all. The reference does what a direct implementation would:
for every depth, ``remove_layers`` then a full forward pass of the pruned model. Both run in the same
process, on the same clips, with a randomly initialised classifier of the mini size (timing does not
depend on the weights); the predictions must agree.

    .venv/bin/python benchmarks/pruning.py                  # 500 clips, 12 blocks, width 96
    .venv/bin/python benchmarks/pruning.py --family wavlm --clips 256
"""

from __future__ import annotations

import argparse
import time

import torch

from redundancy import pruning
from redundancy.config import load_profile
from redundancy.models import tiny_config
from redundancy.prune_eval import BlockRunner, keep_freed_memory
from redundancy.prune_sweep import score_orders


def main(argv: list[str] | None = None) -> int:
    mini = load_profile("mini")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--family", default="wav2vec2", choices=("wav2vec2", "hubert", "wavlm"))
    parser.add_argument("--clips", type=int, default=500, help="test clips (mini: about 500)")
    parser.add_argument("--layers", type=int, default=mini.model.num_hidden_layers)
    parser.add_argument("--batch-size", type=int, default=mini.analysis.prune_batch_size)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    keep_freed_memory()
    from transformers import AutoModelForAudioClassification

    torch.manual_seed(0)
    config = tiny_config(args.family, mini.model)
    config.num_hidden_layers, config.num_labels = args.layers, 35
    model = AutoModelForAudioClassification.from_config(config).eval()
    x = torch.randn(args.clips, 16000, generator=torch.Generator().manual_seed(1))
    y = torch.randint(0, 35, (args.clips,)).numpy()
    L = args.layers
    orders = {"backward": [pruning.backward_sweep_order(L)], "forward": [pruning.forward_order(L)],
              "random": [pruning.random_order(L, s) for s in range(3)]}

    start = time.perf_counter()
    with torch.inference_mode():
        correct, work = score_orders(BlockRunner(model), x, y, orders, args.batch_size)
    ours = time.perf_counter() - start

    start = time.perf_counter()
    reference = {name: [[0] * L for _ in runs] for name, runs in orders.items()}
    with torch.inference_mode():
        for name, runs in orders.items():
            for r, order in enumerate(runs):
                for m in range(L):
                    pruned = pruning.remove_layers(model, order[:m])
                    for s in range(0, args.clips, args.batch_size):
                        logits = pruned(x[s:s + args.batch_size]).logits
                        reference[name][r][m] += int((logits.argmax(-1).numpy() == y[s:s + args.batch_size]).sum())
    rebuild = time.perf_counter() - start
    assert reference == correct, "the two evaluations disagree"
    n_models = sum(len(runs) for runs in orders.values()) * L
    print(f"{args.family}, {L} blocks, {args.clips} clips, {n_models} pruned models "
          f"(orders: {', '.join(f'{k} x{len(v)}' for k, v in orders.items())}), {args.threads} thread(s)")
    print(f"  blocks run: cached inputs {work['blocks_run']}, rebuild {work['blocks_rebuild']}")
    print(f"  seconds:    cached inputs {ours:.2f}, rebuild {rebuild:.2f}, ratio {rebuild / ours:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
