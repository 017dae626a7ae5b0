"""The mimicker and the mimic model: shapes, stages, and a much smaller network on 1 s of audio."""

import pytest
import torch
from torch import nn

from redundancy.config import load_profile
from redundancy.mimic import MimicModel, Mimicker, mimic_model
from redundancy.models import base_model, tiny_config
from redundancy.size import count_parameters

P = load_profile("smoke")


def _classifier(family="wav2vec2"):
    from transformers import AutoModelForAudioClassification

    torch.manual_seed(0)
    config = tiny_config(family, P.model)
    config.num_labels = 7
    return AutoModelForAudioClassification.from_config(config, attn_implementation="eager").eval()


def test_stage_structure_is_linear_layernorm_relu_linear():
    m = Mimicker(32, hidden=8, stages=1)
    (stage,) = m.stages
    assert [type(x) for x in stage] == [nn.Linear, nn.LayerNorm, nn.ReLU, nn.Linear]
    assert (stage[0].in_features, stage[0].out_features, stage[3].out_features) == (32, 8, 32)


@pytest.mark.parametrize("stages", [1, 2])
def test_shapes_and_stage_outputs(stages):
    m = Mimicker(32, hidden=8, stages=stages)
    x = torch.randn(3, 49, 32)
    out = m(x, all_stages=True)
    assert len(out) == stages and all(o.shape == x.shape for o in out)
    torch.testing.assert_close(m(x), out[-1])
    if stages == 2:  # chained: the second stage reads the first stage's output
        torch.testing.assert_close(out[1], m.stages[1](out[0]))
    assert count_parameters(m) == stages * (32 * 8 + 8 + 2 * 8 + 8 * 32 + 32)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="stages must be 1 or 2"):
        Mimicker(32, stages=3)
    with pytest.raises(ValueError, match="expected frames of size 32"):
        Mimicker(32)(torch.randn(1, 5, 16))


@pytest.mark.parametrize("family", ["wav2vec2", "hubert", "wavlm"])
def test_mimic_model_runs_on_one_second_and_keeps_the_fine_tuned_head(family):
    full = _classifier(family)
    model = mimic_model(full, hidden=8, stages=2)
    audio = torch.randn(2, 16000)
    with torch.inference_mode():
        logits = model(audio)
        frames = model.project(audio)
    assert logits.shape == (2, 7)
    assert frames.shape == (2, 49, P.model.hidden_size)  # 1 s at 16 kHz -> 49 frames
    torch.testing.assert_close(model.classifier.weight, full.classifier.weight)
    assert model.classifier is not full.classifier  # copies: the full model stays intact
    # the feature projection output is the one of the full model (the mimicker's input)
    with torch.inference_mode():
        base = base_model(full)
        reference = base.feature_projection(base.feature_extractor(audio).transpose(1, 2))
    reference = reference[0] if isinstance(reference, tuple) else reference
    torch.testing.assert_close(frames, reference)


def test_mimic_of_a_real_base_model_is_much_smaller():
    from redundancy.architectures import build_random, real_config

    full = build_random(real_config("facebook/wav2vec2-base"), num_labels=35, device="meta")
    small = mimic_model(full, hidden=32, stages=1)
    assert count_parameters(small) < 0.06 * count_parameters(full)


def test_backbone_without_head():
    from transformers import AutoModel

    backbone = AutoModel.from_config(tiny_config("wavlm", P.model)).eval()
    bare = mimic_model(backbone, hidden=8)
    assert bare.projector is None
    with torch.inference_mode():
        assert bare(torch.randn(1, 16000)).shape == (1, 49, P.model.hidden_size)
    headed = mimic_model(backbone, hidden=8, num_labels=3)
    with torch.inference_mode():
        assert headed(torch.randn(1, 16000)).shape == (1, 3)
    with pytest.raises(ValueError, match="both projector and classifier"):
        MimicModel(bare.feature_extractor, bare.feature_projection, bare.mimicker, nn.Linear(2, 2), None)
