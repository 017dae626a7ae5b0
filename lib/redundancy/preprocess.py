"""Model input preparation: the one place that turns 16 kHz clips into ``input_values``.

Every checkpoint ships a feature-extractor config saying whether its inputs are normalised to zero
mean and unit variance per utterance (``do_normalize``). Fine-tuning, hidden-state extraction,
pruning and timing all go through :func:`prepare_inputs`, so a model always sees the inputs it was
trained on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .audio import SAMPLE_RATE


def should_normalize(model_path: str | Path | None) -> bool:
    """``do_normalize`` of the checkpoint's feature extractor (True when it has none saved)."""
    if model_path is None:
        return True
    path = Path(str(model_path))
    config = path / "preprocessor_config.json"
    if path.is_dir():
        if not config.is_file():
            return True
        import json

        return bool(json.loads(config.read_text()).get("do_normalize", True))
    if path.is_absolute() or str(model_path).startswith("."):
        raise FileNotFoundError(f"no checkpoint folder at {path}")
    from transformers import AutoFeatureExtractor  # hub name: read its config (downloads for users)

    return bool(getattr(AutoFeatureExtractor.from_pretrained(str(model_path)), "do_normalize", True))


def prepare_inputs(waveforms: np.ndarray | torch.Tensor, normalize: bool = True) -> torch.Tensor:
    """(batch, samples) float32 tensor, normalised per utterance as Wav2Vec2FeatureExtractor does."""
    x = torch.as_tensor(np.asarray(waveforms) if not torch.is_tensor(waveforms) else waveforms,
                        dtype=torch.float32)
    if x.ndim == 1:
        x = x.unsqueeze(0)
    if x.ndim != 2:
        raise ValueError(f"expected waveforms of shape (batch, samples), got {tuple(x.shape)}")
    if normalize:
        mean = x.mean(dim=1, keepdim=True)
        var = x.var(dim=1, keepdim=True, unbiased=False)
        x = (x - mean) / torch.sqrt(var + 1e-7)
    return x


def save_feature_extractor(folder: Path, normalize: bool = True) -> None:
    """Write the standard preprocessor_config.json next to a checkpoint we create."""
    from transformers import Wav2Vec2FeatureExtractor

    Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=SAMPLE_RATE, padding_value=0.0, do_normalize=normalize,
        return_attention_mask=False,
    ).save_pretrained(str(folder))
