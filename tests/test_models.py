"""The model registry, loading by name or folder, and the tiny configurations."""

import json

import pytest
import torch

from redundancy.config import FAMILIES, load_profile
from redundancy.models import (
    HUB_CHECKPOINTS,
    backbone_class,
    encoder_layers,
    family_of,
    load_backbone,
    tiny_config,
)


def test_registry_lists_the_papers_checkpoints():
    assert set(HUB_CHECKPOINTS) == {
        "facebook/wav2vec2-base", "facebook/wav2vec2-large", "microsoft/wavlm-base",
        "microsoft/wavlm-large", "facebook/hubert-base-ls960", "facebook/hubert-large-ll60k",
    }
    assert {c.family for c in HUB_CHECKPOINTS.values()} == set(FAMILIES)
    assert {c.size for c in HUB_CHECKPOINTS.values()} == {"base", "large"}
    assert HUB_CHECKPOINTS["microsoft/wavlm-large"].family == "wavlm"


def test_real_wav2vec2_base_folder_loads_like_a_hub_name(tmp_path):
    """save_pretrained of the real wav2vec2-base architecture (random weights) -> load_backbone."""
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    config = Wav2Vec2Config()  # the defaults are facebook/wav2vec2-base
    assert config.layerdrop > 0  # transformers' default, which loading must switch off
    Wav2Vec2Model(config).save_pretrained(str(tmp_path))
    model = load_backbone(tmp_path)
    assert type(model).__name__ == "Wav2Vec2Model"
    assert model.config.layerdrop == 0.0
    assert len(encoder_layers(model)) == 12 and model.config.hidden_size == 768
    assert family_of(model) == HUB_CHECKPOINTS["facebook/wav2vec2-base"].family
    half = load_backbone(str(tmp_path), dtype=torch.float16)
    assert next(half.parameters()).dtype == torch.float16


def test_unknown_name_lists_the_registry():
    with pytest.raises(ValueError, match="unknown model 'facebook/wav2vec3'.*facebook/wav2vec2-base"):
        load_backbone("facebook/wav2vec3")


def test_folder_without_config_is_refused(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="has no config.json"):
        load_backbone(tmp_path)


def test_unknown_family_is_refused():
    smoke = load_profile("smoke")
    with pytest.raises(ValueError, match="unknown family 'bert'"):
        tiny_config("bert", smoke.model)
    with pytest.raises(ValueError, match="unknown family 'bert'"):
        backbone_class("bert")


@pytest.mark.parametrize("family", FAMILIES)
def test_tiny_configs_keep_the_real_geometry(family):
    mini = load_profile("mini")
    config = tiny_config(family, mini.model)
    assert family_of(config) == family
    assert config.layerdrop == 0.0 and not config.do_stable_layer_norm  # post-LN like the base models
    assert 8 <= config.num_hidden_layers == mini.model.num_hidden_layers
    assert list(config.conv_kernel) == [10, 3, 3, 3, 3, 2, 2]
    assert list(config.conv_stride) == [5, 2, 2, 2, 2, 2, 2]
    model = backbone_class(family)(tiny_config(family, load_profile("smoke").model)).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 16000)).last_hidden_state
    assert out.shape[1] == 49  # 20 ms frames: one second -> 49 frames
    if family == "wavlm":
        assert hasattr(encoder_layers(model)[0].attention, "gru_rel_pos_linear")  # gated rel. pos. bias


def test_saved_tiny_backbone_roundtrips(tmp_path):
    smoke = load_profile("smoke")
    model = backbone_class("wavlm")(tiny_config("wavlm", smoke.model)).eval()
    model.save_pretrained(str(tmp_path))
    assert json.loads((tmp_path / "config.json").read_text())["layerdrop"] == 0.0
    again = load_backbone(tmp_path).eval()
    x = torch.randn(1, 8000)
    with torch.no_grad():
        torch.testing.assert_close(again(x).last_hidden_state, model(x).last_hidden_state)


def test_a_classifier_loads_as_its_backbone_quietly_and_a_missing_weight_is_an_error(tmp_path, capfd):
    """The head of a fine-tuned folder is dropped without a load report; a backbone weight missing
    from the checkpoint would be left random, so it fails instead."""
    from safetensors.torch import load_file, save_file
    from transformers import AutoModelForAudioClassification
    from transformers.utils import logging as hf_logging

    smoke = load_profile("smoke")
    config = tiny_config("wav2vec2", smoke.model)
    config.num_labels = 3
    AutoModelForAudioClassification.from_config(config).save_pretrained(str(tmp_path))
    level = hf_logging.get_verbosity()
    model = load_backbone(tmp_path)
    assert type(model).__name__ == "Wav2Vec2Model"
    assert "LOAD REPORT" not in capfd.readouterr().err
    assert hf_logging.get_verbosity() == level  # quiet_loading restores transformers' settings

    weights = load_file(str(tmp_path / "model.safetensors"))
    dropped = next(k for k in weights if k.startswith("wav2vec2.encoder.layers.0."))
    save_file({k: v for k, v in weights.items() if k != dropped}, str(tmp_path / "model.safetensors"),
              metadata={"format": "pt"})
    with pytest.raises(ValueError, match="1 backbone weights are missing"):
        load_backbone(tmp_path)


def test_load_classifier_reads_a_float16_folder_in_float32(tmp_path):
    """Published folders store float16; every chapter computes in float32, eager attention on request."""
    from transformers import AutoModelForAudioClassification

    from redundancy.models import load_classifier

    config = tiny_config("hubert", load_profile("smoke").model)
    config.num_labels = 3
    AutoModelForAudioClassification.from_config(config).half().save_pretrained(str(tmp_path))
    model = load_classifier(tmp_path)
    assert next(model.parameters()).dtype == torch.float32 and model.config.num_labels == 3
    assert load_classifier(tmp_path, eager_attention=True).config._attn_implementation == "eager"
