"""The real configurations, built offline, have the published sizes of the paper's checkpoints."""

import pytest

from redundancy.architectures import build_random, family_of_architecture, known_architectures, real_config
from redundancy.size import count_parameters

# Published sizes. Base: SUPERB as reported in DPHuBERT (arXiv:2305.17651) Table 1: wav2vec2 Base
# 95.04 M, HuBERT Base 94.68 M, WavLM Base+ 94.70 M. Large: wav2vec 2.0 / HuBERT / WavLM papers,
# about 317 M (wav2vec2 Large 317 M, HuBERT Large 316.6 M, WavLM Large 316.62 M).
PUBLISHED_M = {
    "facebook/wav2vec2-base": 95.04,
    "facebook/hubert-base-ls960": 94.68,
    "microsoft/wavlm-base": 94.70,
    "facebook/wav2vec2-large": 317.0,
    "facebook/hubert-large-ll60k": 316.6,
    "microsoft/wavlm-large": 316.62,
}


@pytest.mark.parametrize("name", sorted(PUBLISHED_M))
def test_parameter_count_matches_published_size_within_one_percent(name):
    model = build_random(real_config(name), device="meta")  # weightless: counting only
    millions = count_parameters(model) / 1e6
    assert abs(millions - PUBLISHED_M[name]) / PUBLISHED_M[name] < 0.01, (name, millions)


def test_all_six_checkpoints_are_known_and_never_drop_layers():
    assert set(known_architectures()) == set(PUBLISHED_M)
    for name in known_architectures():
        config = real_config(name)
        assert config.layerdrop == 0.0
        assert family_of_architecture(name) == config.model_type


def test_published_architecture_values():
    base, large = real_config("facebook/wav2vec2-base"), real_config("facebook/wav2vec2-large")
    assert (base.hidden_size, base.num_hidden_layers, base.num_attention_heads, base.intermediate_size) == (
        768, 12, 12, 3072)
    assert (large.hidden_size, large.num_hidden_layers, large.num_attention_heads, large.intermediate_size) == (
        1024, 24, 16, 4096)
    assert large.feat_extract_norm == "group" and not large.do_stable_layer_norm  # LibriSpeech large
    wavlm_large = real_config("microsoft/wavlm-large")
    assert wavlm_large.feat_extract_norm == "layer" and wavlm_large.do_stable_layer_norm
    assert (wavlm_large.num_buckets, wavlm_large.max_bucket_distance) == (320, 800)
    for name in known_architectures():
        config = real_config(name)
        assert (config.num_conv_pos_embeddings, config.num_conv_pos_embedding_groups) == (128, 16)
        assert tuple(config.conv_dim) == (512,) * 7 and config.conv_bias is False


def test_overrides_pass_through():
    assert real_config("microsoft/wavlm-base", num_labels=35).num_labels == 35


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown architecture 'facebook/wav2vec3'.*facebook/wav2vec2-base"):
        real_config("facebook/wav2vec3")
