"""Do the published backbones know the speakers? A per-layer linear probe on frozen features.

The speakers models of the first published set reached 0.08-0.23 after 3 epochs (chance 1/128).
Was that the representation or the schedule? For each family this fits the probe of :mod:`redundancy.probe` on
every layer of three frozen backbones: the pre-trained one, its random-init twin, and the backbone
of the speakers model fine-tuned from it; features are the mean, or the mean and standard deviation
(statistics pooling, as in speaker embeddings), over frames. Fit on ``--n-train`` clips of the
speakers train split, scored on its validation split. Usage (one thread, about 10 minutes here):

    python benchmarks/speakers_probe.py [--profile mini] [--n-train 3840]

Writes ``results/<profile>/speakers_probe.json``, with the weights hash of each published model it
read (chapter 02 says when the published models have changed since).
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from redundancy import pipeline, publish
from redundancy.config import load_profile
from redundancy.models import load_backbone, random_twin
from redundancy.paths import display_path, results_dir
from redundancy.preprocess import should_normalize
from redundancy.probe import POOLINGS, layer_probes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="mini")
    parser.add_argument("--n-train", type=int, default=3840, help="train clips the probe is fitted on (30 per voice)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    P = load_profile(args.profile)
    root = pipeline.corpus_root(P, progress=False)
    split_kw = dict(min_utterances=P.corpus.speaker_min_utterances, seed=P.corpus.speaker_split_seed)
    rows: dict[str, dict[str, dict[str, list[float]]]] = {}
    for family in pipeline.model_names(P):
        pretrained = pipeline.model_dir(P, family, "pretrained", "cpu")
        backbones = {
            "pretrained": load_backbone(pretrained, dtype=torch.float32),
            "speakers_finetuned": load_backbone(pipeline.model_dir(P, family, "speakers", "cpu", seed=0),
                                                dtype=torch.float32),
        }
        backbones["random_init"] = random_twin(pretrained)
        normalize = should_normalize(pretrained)
        rows[family] = {}
        for kind, model in backbones.items():
            started = time.perf_counter()
            probes = layer_probes(model, root, normalize, n_train=args.n_train, task="speakers",
                                  poolings=POOLINGS, split_kw=split_kw)
            for pooling, probe in probes.items():
                rows[family][f"{kind}/{pooling}"] = probe
                best = max(range(len(probe["accuracy"])), key=probe["accuracy"].__getitem__)
                print(f"{family:9s} {kind:19s} {pooling:8s} layer 0 {probe['accuracy'][0]:.3f}  "
                      f"best {probe['accuracy'][best]:.3f} (layer {best})  last {probe['accuracy'][-1]:.3f}  "
                      f"({time.perf_counter() - started:.0f} s)", flush=True)
    out = results_dir(P.name) / "speakers_probe.json"
    out.write_text(json.dumps({"profile": P.name, "task": "speakers", "n_train": args.n_train, "threads": 1,
                               "evaluated_on": "speakers validation split", "models": rows,
                               "weights": publish.weights_record(P.name, {f: ("pretrained", "speakers") for f in rows})},
                              indent=2))
    print("wrote", display_path(out))


if __name__ == "__main__":
    main()
