"""Sizes per component: computed from the model, adding up, and agreeing with hand counts."""

import pytest
import torch

from redundancy.architectures import build_random, real_config
from redundancy.config import load_profile
from redundancy.mimic import mimic_model
from redundancy.models import tiny_config
from redundancy.size import COMPONENTS, count_parameters, macs_by_component, parameters_by_component

P = load_profile("smoke")


def _tiny(family, num_labels=5):
    from transformers import AutoModelForAudioClassification

    config = tiny_config(family, P.model)
    config.num_labels = num_labels
    return AutoModelForAudioClassification.from_config(config, attn_implementation="eager").eval()


@pytest.mark.parametrize("name", ["facebook/wav2vec2-base", "microsoft/wavlm-large"])
def test_real_components_add_up_and_the_transformer_dominates(name):
    model = build_random(real_config(name), num_labels=35, device="meta")
    sizes = parameters_by_component(model)
    assert sum(sizes[c] for c in COMPONENTS) == sizes["total"] == count_parameters(model)
    # PAPER.md: the CNN encoder is about 4.2 M; the transformer is about 95 % (base) / 98 % (large)
    assert abs(sizes["cnn_encoder"] - 4.2e6) < 0.05e6
    share = (sizes["transformer"] + sizes["positional_conv"]) / sizes["total"]
    assert share > (0.94 if "base" in name else 0.97)
    d = 768 if "base" in name else 1024
    assert sizes["head"] == d * 256 + 256 + 256 * 35 + 35


@pytest.mark.parametrize("family", ["wav2vec2", "hubert", "wavlm"])
def test_macs_add_up_and_match_a_hand_count(family):
    model = _tiny(family)
    macs = macs_by_component(model, seconds=1.0)
    assert sum(macs[c] for c in COMPONENTS) == macs["total"]
    c = model.config
    T, D, F = 49, c.hidden_size, c.intermediate_size  # 1 s at 16 kHz -> 49 frames
    per_block = T * (4 * D * D + 2 * D * F) + 2 * T * T * D
    if family == "wavlm":  # gated relative position bias: Linear(head_dim -> 8) per head and frame
        per_block += T * c.num_attention_heads * (D // c.num_attention_heads) * 8
    assert macs["transformer"] == c.num_hidden_layers * per_block
    assert macs["feature_projection"] == T * c.conv_dim[-1] * D
    assert macs["head"] == T * D * 256 + 256 * 5
    # CNN: first layer from 1 channel, the rest channel to channel, lengths from kernels and strides
    length, expected, channels_in = 16000, 0, 1
    for k, s, ch in zip(c.conv_kernel, c.conv_stride, c.conv_dim):
        length = (length - k) // s + 1
        expected += length * ch * channels_in * k
        channels_in = ch
    assert length == T and macs["cnn_encoder"] == expected


def test_mimic_model_has_no_transformer_and_far_fewer_macs():
    full = _tiny("wavlm")
    small = mimic_model(full, hidden=8, stages=2)
    sizes, macs = parameters_by_component(small), macs_by_component(small)
    assert sizes["transformer"] == sizes["positional_conv"] == 0 and sizes["mimicker"] > 0
    assert macs["transformer"] == 0 and macs["mimicker"] == 49 * 2 * 2 * P.model.hidden_size * 8
    assert macs["total"] < macs_by_component(full)["total"]


def test_bad_duration_is_refused():
    with pytest.raises(ValueError, match="seconds: expected a positive duration"):
        macs_by_component(_tiny("hubert"), seconds=0)
