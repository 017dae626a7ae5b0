"""Bootstrap intervals and input preparation."""

import numpy as np
import pytest
import torch

from redundancy.preprocess import prepare_inputs, save_feature_extractor, should_normalize
from redundancy.stats import bootstrap_mean_ci


def test_bootstrap_interval_covers_mean_and_shrinks_with_n():
    rng = np.random.default_rng(0)
    small = rng.binomial(1, 0.7, size=50)
    large = rng.binomial(1, 0.7, size=5000)
    lo_s, hi_s = bootstrap_mean_ci(small, n_boot=500)
    lo_l, hi_l = bootstrap_mean_ci(large, n_boot=500)
    assert lo_s <= small.mean() <= hi_s and lo_l <= large.mean() <= hi_l
    assert (hi_l - lo_l) < (hi_s - lo_s) / 3
    assert bootstrap_mean_ci(small, seed=1) == bootstrap_mean_ci(small, seed=1)


def test_bootstrap_refuses_empty():
    with pytest.raises(ValueError, match="empty"):
        bootstrap_mean_ci(np.array([]))


def test_prepare_inputs_matches_wav2vec2_feature_extractor():
    from transformers import Wav2Vec2FeatureExtractor

    x = np.random.default_rng(0).normal(0.1, 0.3, size=(3, 16000)).astype(np.float32)
    ours = prepare_inputs(x, normalize=True).numpy()
    theirs = Wav2Vec2FeatureExtractor(do_normalize=True)(list(x), sampling_rate=16000, return_tensors="np")
    np.testing.assert_allclose(ours, theirs["input_values"], atol=1e-5)
    assert torch.equal(prepare_inputs(x, normalize=False), torch.as_tensor(x))
    with pytest.raises(ValueError, match="batch, samples"):
        prepare_inputs(np.zeros((1, 2, 3)))


def test_should_normalize_reads_the_checkpoint(tmp_path):
    save_feature_extractor(tmp_path, normalize=False)
    assert should_normalize(tmp_path) is False
    (tmp_path / "bare").mkdir()
    assert should_normalize(tmp_path / "bare") is True  # no preprocessor config: the default
    with pytest.raises(FileNotFoundError, match="no checkpoint folder"):
        should_normalize(tmp_path / "missing")
