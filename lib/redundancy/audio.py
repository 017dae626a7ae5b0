"""Reading audio: one function every stage uses, so a bad file fails the same clear way everywhere.

torchaudio's own loaders need FFmpeg/torchcodec, which this project cannot rely on, so files are read
with ``soundfile`` (libsndfile: WAV in any PCM/float width, FLAC, OGG...) and only the resampling
uses torchaudio. Everything comes back as float32 mono in [-1, 1] at the requested rate.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import soundfile as sf

SAMPLE_RATE = 16000  # every model in the paper expects 16 kHz input
CLIP_SAMPLES = 16000  # Speech Commands clips: 1 s at 16 kHz (49 frames after the CNN encoder)


class AudioError(ValueError):
    """A file that cannot be used as audio; the message names the file and the problem."""


def load_audio(path: str | Path, target_sr: int = SAMPLE_RATE) -> np.ndarray:
    """Read ``path`` as float32 mono in [-1, 1] at ``target_sr`` Hz.

    Integer PCM (8/16/24/32-bit) is scaled by libsndfile to [-1, 1); several channels are averaged
    (downmix); another rate is resampled (band-limited sinc, torchaudio). Float files whose peaks
    exceed 1, and resampling overshoot, are clipped so callers can rely on the range.
    Raises :class:`AudioError` for a missing file, a file that is not audio, an empty one, or one
    with NaN / infinite samples.
    """
    path = Path(path)
    if not path.exists():
        raise AudioError(f"{path}: no such file")
    if path.is_dir():
        raise AudioError(f"{path}: is a directory, not an audio file")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: file is empty (0 bytes), not audio")
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as error:
        raise AudioError(f"{path}: not a readable audio file ({error})") from error
    if data.shape[0] == 0:
        raise AudioError(f"{path}: audio file is empty (0 samples)")
    if not np.isfinite(data).all():
        bad = int((~np.isfinite(data)).sum())
        raise AudioError(f"{path}: contains NaN or infinite samples ({bad} of {data.size})")
    mono = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    mono = resample(mono, sr, target_sr)
    return np.clip(mono, -1.0, 1.0).astype(np.float32, copy=False)


def resample(x: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample a 1-D float signal (no-op when the rates match); the kernel is cached per rate pair."""
    if orig_sr == target_sr:
        return np.asarray(x, dtype=np.float32)
    import torch

    threads = torch.get_num_threads()
    if x.size < _SHORT:  # a clip: one thread is 10-50x faster than a contended pool, and cheap to set
        torch.set_num_threads(1)
    try:
        with torch.no_grad():
            signal = torch.from_numpy(np.ascontiguousarray(x, np.float32))
            out = _resampler(int(orig_sr), int(target_sr))(signal)
    finally:
        torch.set_num_threads(threads)
    return out.numpy()


_SHORT = 30 * SAMPLE_RATE


@functools.lru_cache(maxsize=8)
def _resampler(orig_sr: int, target_sr: int):
    """torchaudio's Resample precomputes its sinc kernel: build it once per rate pair, not per call."""
    import torchaudio

    return torchaudio.transforms.Resample(orig_sr, target_sr)


def fix_length(x: np.ndarray, n: int = CLIP_SAMPLES) -> np.ndarray:
    """Pad with zeros at the end, or cut the end, so the last axis has exactly ``n`` samples.

    The authors pad or cut every clip to 1 s, which gives every utterance 49 encoder frames.
    """
    if n <= 0:
        raise ValueError(f"fix_length: n must be positive, got {n}")
    x = np.asarray(x)
    length = x.shape[-1]
    if length >= n:
        return x[..., :n]
    pad = [(0, 0)] * (x.ndim - 1) + [(0, n - length)]
    return np.pad(x, pad)
