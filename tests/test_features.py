"""Hidden states: layer 0 is the feature projection, then every block; memory-mapped on disk."""

import numpy as np
import pytest
import torch
import transformers

from redundancy.config import load_profile
from redundancy.features import LayerStates, cached_hidden_states, extract_hidden_states
from redundancy.models import tiny_config
from redundancy.preprocess import prepare_inputs

MODEL_CFG = load_profile("smoke").model


def _model(family="wav2vec2", stable=False, cls=transformers.AutoModel):
    torch.manual_seed(0)
    cfg = tiny_config(family, MODEL_CFG)
    if stable:
        cfg.do_stable_layer_norm, cfg.feat_extract_norm = True, "layer"
    cfg.num_labels = 3
    return cls.from_config(cfg).eval()


@pytest.fixture(scope="module")
def waves():
    return np.random.default_rng(0).standard_normal((5, 16000)).astype(np.float32)


def _reference(model, waves, normalize=True):
    with torch.inference_mode():
        x = prepare_inputs(waves, normalize)
        features = model.feature_extractor(x).transpose(1, 2)
        projected = model.feature_projection(features)
        projected = projected[0] if isinstance(projected, tuple) else projected  # HuBERT: no tuple
        out = model(x, output_hidden_states=True)
    return projected, out


@pytest.mark.parametrize("family", ["wav2vec2", "hubert", "wavlm"])
def test_layers_shapes_and_files(family, waves, tmp_path):
    model = _model(family)
    states = extract_hidden_states(model, waves, batch_size=2, device="cpu", out_dir=tmp_path, progress=False)
    assert states.n_layers == MODEL_CFG.num_hidden_layers + 1
    assert states.n_utterances == 5
    assert sorted(p.name for p in tmp_path.glob("layer_*.npy")) == [f"layer_{l:02d}.npy" for l in range(5)]
    assert isinstance(states[0], np.memmap) and states[0].dtype == np.float32
    assert states[3].shape == (5, 49, MODEL_CFG.hidden_size)
    assert states.flat(1).shape == (5, 49 * MODEL_CFG.hidden_size)
    np.testing.assert_allclose(states.mean_pooled(2), np.asarray(states[2]).mean(1), atol=1e-6)
    projected, out = _reference(model, waves)
    np.testing.assert_allclose(states[0], projected.numpy(), atol=1e-5)
    np.testing.assert_allclose(states[-1], out.last_hidden_state.numpy(), atol=1e-5)  # post-LN
    np.testing.assert_allclose(states[2], out.hidden_states[2].numpy(), atol=1e-5)
    assert model.training is False


def test_pre_ln_last_layer_has_the_final_layer_norm(waves, tmp_path):
    model = _model("wav2vec2", stable=True)
    states = extract_hidden_states(model, waves, batch_size=5, device="cpu", out_dir=tmp_path,
                                   progress=False, normalize=False)
    _, out = _reference(model, waves, normalize=False)
    np.testing.assert_allclose(states[-1], out.last_hidden_state.numpy(), atol=1e-5)
    np.testing.assert_allclose(states[3], out.hidden_states[3].numpy(), atol=1e-5)
    assert not np.allclose(states[-1], out.hidden_states[-1].numpy(), atol=1e-3)


def test_task_model_gives_its_backbone_states(waves, tmp_path):
    clf = _model("hubert", cls=transformers.AutoModelForAudioClassification)
    states = extract_hidden_states(clf, waves, batch_size=3, device="cpu", out_dir=tmp_path / "a", progress=False)
    _, out = _reference(clf.hubert, waves)
    np.testing.assert_allclose(states[-1], out.last_hidden_state.numpy(), atol=1e-5)


def test_cached_hidden_states_builds_once(waves, tmp_path, monkeypatch):
    monkeypatch.setenv("REDUNDANCY_CACHE", str(tmp_path / "cache"))
    ckpt = tmp_path / "ckpt"
    _model("wavlm", cls=transformers.AutoModelForAudioClassification).save_pretrained(ckpt)
    first = cached_hidden_states(ckpt, waves, "data-a", batch_size=4, device="cpu")
    again = cached_hidden_states(ckpt, waves, "data-a", batch_size=2, device="cpu")
    assert first.folder == again.folder and first.folder.parent.name == "hidden-states"
    assert (first.folder / "_manifest.json").is_file()
    other = cached_hidden_states(ckpt, waves[:3], "data-b", batch_size=4, device="cpu")
    assert other.folder != first.folder and other.n_utterances == 3
    np.testing.assert_allclose(other[2], first[2][:3], atol=1e-5)


def test_bad_inputs_are_named(tmp_path):
    with pytest.raises(ValueError, match="waveforms must be a non-empty"):
        extract_hidden_states(_model(), np.zeros(16000, np.float32), batch_size=2, device="cpu",
                              out_dir=tmp_path, progress=False)
    with pytest.raises(FileNotFoundError, match="not a model checkpoint folder"):
        cached_hidden_states(tmp_path, np.zeros((2, 16000), np.float32), "x", batch_size=2, device="cpu")
    with pytest.raises(FileNotFoundError, match="nor a hub name"):
        cached_hidden_states(tmp_path / "missing", np.zeros((2, 16000), np.float32), "x", batch_size=2,
                             device="cpu")
    with pytest.raises(FileNotFoundError, match="hidden_states.json is missing"):
        LayerStates(tmp_path)
