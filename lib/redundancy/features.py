"""Hidden states of every layer, extracted once per model and split, memory-mapped, reused by all.

Layer 0 is the output of the feature projection (CNN features -> LayerNorm -> Linear to D), the
input the mimicking layers start from; layer ``l >= 1`` is the output of transformer block ``l``.
Each layer is stored as ``layer_XX.npy`` of shape (n, T, D) float32 and opened memory-mapped, so a
24-layer, 1024-wide model on thousands of clips never needs all of it in RAM.

What ``hidden_states`` holds in transformers 5.24 (read in ``utils/output_capturing.py``): a forward
hook on each encoder layer records the layer's *input* once (entry 0: after the positional
convolution, plus the encoder LayerNorm for post-LN models) and then every block's output, and the
backbones use ``tie_last_hidden_states=False``. So entry ``l`` is the raw output of block ``l`` for
both post-LN (base, ``do_stable_layer_norm=False``) and pre-LN (large, stable layer norm) models. For
post-LN models the last entry equals ``last_hidden_state``. For pre-LN models ``last_hidden_state``
is that entry passed through the encoder's final LayerNorm. transformers 4.x, which the authors used,
put the normalised tensor in the last entry. We do the same (``final_layer_norm=True``), so the last
layer is always the model's output. Entry 0 is not used: layer 0 comes from a hook on
``feature_projection`` (wav2vec2 and WavLM return ``(hidden_states, norm_hidden_states)``, we keep
element 0; HuBERT returns the tensor).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from .models import base_model, encoder_layers, load_backbone

LAYER_FILE = "layer_{:02d}.npy"
META_FILE = "hidden_states.json"


class LayerStates:
    """Per-layer hidden states on disk: ``states[l]`` is a read-only memmap of shape (n, T, D)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        meta_path = self.folder / META_FILE
        if not meta_path.is_file():
            raise FileNotFoundError(f"{self.folder} holds no hidden states: {META_FILE} is missing")
        meta = json.loads(meta_path.read_text())
        self.n_layers: int = int(meta["n_layers"])
        self.n_utterances: int = int(meta["n_utterances"])
        self.n_frames: int = int(meta["n_frames"])
        self.hidden_size: int = int(meta["hidden_size"])
        missing = [LAYER_FILE.format(l) for l in range(self.n_layers) if not self._path(l).is_file()]
        if missing:
            raise FileNotFoundError(f"{self.folder}: missing layer files {missing}")

    def _path(self, layer: int) -> Path:
        return self.folder / LAYER_FILE.format(layer)

    def __len__(self) -> int:
        return self.n_layers

    def __getitem__(self, layer: int) -> np.ndarray:
        if not -self.n_layers <= layer < self.n_layers:
            raise IndexError(f"layer {layer} out of range: this model has layers 0..{self.n_layers - 1}")
        return np.load(self._path(layer % self.n_layers), mmap_mode="r")

    def __iter__(self) -> Iterator[np.ndarray]:
        return (self[l] for l in range(self.n_layers))

    def flat(self, layer: int) -> np.ndarray:
        """(n, T*D) view: each utterance flattened over time, the authors' representation."""
        states = self[layer]
        return states.reshape(states.shape[0], -1)

    def mean_pooled(self, layer: int, chunk: int = 256) -> np.ndarray:
        """(n, D) float32 mean over frames (computed in chunks, so only (chunk, T, D) is in RAM)."""
        states = self[layer]
        out = np.empty((states.shape[0], states.shape[2]), dtype=np.float32)
        for start in range(0, states.shape[0], chunk):
            out[start:start + chunk] = states[start:start + chunk].mean(axis=1, dtype=np.float64)
        return out

    def representations(self, pooling: str = "flatten") -> list[np.ndarray]:
        """All layers as (n, d) arrays: ``flatten`` (memmap views, T*D) or ``mean`` (in RAM, D)."""
        if pooling == "flatten":
            return [self.flat(l) for l in range(self.n_layers)]
        if pooling == "mean":
            return [self.mean_pooled(l) for l in range(self.n_layers)]
        raise ValueError(f"unknown pooling {pooling!r}: use 'flatten' or 'mean'")

    def __repr__(self) -> str:
        return (f"LayerStates({self.folder}, layers={self.n_layers}, n={self.n_utterances}, "
                f"T={self.n_frames}, D={self.hidden_size})")


def _check_waveforms(waveforms: np.ndarray) -> np.ndarray:
    waveforms = np.asarray(waveforms)
    if waveforms.ndim != 2 or waveforms.shape[0] == 0:
        raise ValueError(
            f"waveforms must be a non-empty (n, samples) array of equal-length clips, got shape {waveforms.shape}"
        )
    if not np.issubdtype(waveforms.dtype, np.floating):
        raise ValueError(f"waveforms must be floating point, got dtype {waveforms.dtype}")
    return waveforms


def _forward_layers(backbone: torch.nn.Module, batch: torch.Tensor, final_layer_norm: bool) -> list[torch.Tensor]:
    """[feature projection output, block 1 output, ..., block L output] for one batch."""
    captured: list[torch.Tensor] = []

    def hook(_module, _args, output):
        captured.append(output[0] if isinstance(output, tuple) else output)

    handle = backbone.feature_projection.register_forward_hook(hook)
    try:
        out = backbone(batch, output_hidden_states=True)
    finally:
        handle.remove()
    n_blocks = len(encoder_layers(backbone))
    blocks = list(out.hidden_states[1:])
    if len(blocks) != n_blocks or len(captured) != 1:
        raise RuntimeError(
            f"{type(backbone).__name__}: expected {n_blocks} block outputs and one feature projection "
            f"output, got {len(blocks)} and {len(captured)}"
        )
    if final_layer_norm:
        blocks[-1] = out.last_hidden_state  # identical for post-LN; final LayerNorm for pre-LN
    return [captured[0], *blocks]


def extract_hidden_states(
    model: torch.nn.Module,
    waveforms: np.ndarray,
    *,
    batch_size: int,
    device: str,
    out_dir: Path,
    progress: bool = True,
    normalize: bool = True,
    final_layer_norm: bool = True,
) -> LayerStates:
    """Run ``model`` once over ``waveforms`` (n, samples) and write every layer to ``out_dir``.

    Works for a backbone or a task model (its backbone is used via ``base_model``; the head is
    skipped). Eval mode, ``torch.inference_mode()``, batches of ``batch_size``. Inputs go through
    ``preprocess.prepare_inputs`` (``normalize``: zero mean, unit variance per clip, as the
    checkpoint's feature extractor says), the same path as fine-tuning.
    """
    from .preprocess import prepare_inputs

    from tqdm import tqdm

    waveforms = _check_waveforms(waveforms)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    backbone = base_model(model)
    was_training = backbone.training
    backbone.eval().to(device)
    dtype = next(backbone.parameters()).dtype
    n = waveforms.shape[0]
    files: list[np.ndarray] | None = None
    try:
        with torch.inference_mode():
            for start in tqdm(range(0, n, batch_size), desc="hidden states", disable=not progress,
                              unit="batch"):
                batch = prepare_inputs(waveforms[start:start + batch_size], normalize).to(device, dtype)
                layers = _forward_layers(backbone, batch, final_layer_norm)
                if files is None:
                    shape = (n, *layers[0].shape[1:])
                    files = [np.lib.format.open_memmap(out_dir / LAYER_FILE.format(l), mode="w+",
                                                       dtype=np.float32, shape=shape)
                             for l in range(len(layers))]
                for memmap, states in zip(files, layers):
                    memmap[start:start + batch.shape[0]] = states.float().cpu().numpy()
    finally:
        backbone.train(was_training)
    assert files is not None
    for memmap in files:
        memmap.flush()
    _, n_frames, hidden = files[0].shape
    meta = {"n_layers": len(files), "n_utterances": n, "n_frames": n_frames, "hidden_size": hidden,
            "layer_0": "feature projection output", "final_layer_norm": final_layer_norm,
            "normalize": normalize}
    del files
    (out_dir / META_FILE).write_text(json.dumps(meta, indent=2))
    return LayerStates(out_dir)


def cached_hidden_states(
    model_path: Path | str,
    waveforms: np.ndarray,
    data_key: str,
    *,
    batch_size: int,
    device: str,
    progress: bool = True,
) -> LayerStates:
    """Hidden states of a checkpoint on ``waveforms``, through the cache.

    ``model_path``: a checkpoint folder (a cached artifact of this project, or any local folder) or,
    in the paper profile, a registry hub name (downloaded by transformers). ``load_backbone`` loads
    the backbone of backbone and classifier checkpoints alike, in float32. The key combines the checkpoint's key (or its
    path / hub name) and ``data_key`` (which names the waveforms); batch size and device do not enter
    it (they change the result only by float noise).
    """
    from . import cache
    from .preprocess import should_normalize

    source = str(model_path)
    path = Path(source)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"{path} is not a model checkpoint folder (no config.json)")
        from .publish import source_key

        model_key = source_key(path)
    elif path.is_absolute() or source.startswith(".") or source.count("/") != 1:
        raise FileNotFoundError(f"{source} is not a model checkpoint folder nor a hub name (owner/model)")
    else:
        model_key = source  # hub name
    waveforms = _check_waveforms(waveforms)
    normalize = should_normalize(source)

    def build(tmp: Path) -> None:
        model = load_backbone(source, dtype=torch.float32)
        extract_hidden_states(model, waveforms, batch_size=batch_size, device=device, out_dir=tmp,
                              progress=progress, normalize=normalize)

    config = {"layers": "feature_projection+blocks", "final_layer_norm": True, "dtype": "float32",
              "normalize": normalize}
    folder = cache.build_artifact("hidden-states", config, build, inputs=[model_key, data_key])
    return LayerStates(folder)


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    """``hidden-states MODEL WAVEFORMS.npy OUT``: extract a model's layers without the cache."""
    parser = subparsers.add_parser("hidden-states", help="extract per-layer hidden states to .npy files")
    parser.add_argument("model", type=Path, help="checkpoint folder (save_pretrained layout)")
    parser.add_argument("waveforms", type=Path, help=".npy array (n, samples) of 16 kHz clips")
    parser.add_argument("out", type=Path, help="output folder for layer_XX.npy")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default="auto")
    parser.set_defaults(func=_cli_hidden_states)


def _cli_hidden_states(args: argparse.Namespace) -> int:
    from .config import resolve_device

    if not args.waveforms.is_file():
        raise FileNotFoundError(f"no waveform file {args.waveforms}")
    from .preprocess import should_normalize

    model = load_backbone(args.model, dtype=torch.float32)
    states = extract_hidden_states(model, np.load(args.waveforms), batch_size=args.batch_size,
                                   device=resolve_device(args.device), out_dir=args.out,
                                   normalize=should_normalize(args.model))
    print(states)
    return 0
