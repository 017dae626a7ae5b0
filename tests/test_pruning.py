"""remove_layers: a new model without the chosen blocks, equal to removing them by hand."""

import copy

import pytest
import torch

from redundancy.config import load_profile
from redundancy.models import base_model, encoder_layers, tiny_config
from redundancy.pruning import n_to_prune, prune_backward, remove_layers

P = load_profile("smoke")


def _model(family: str, classifier: bool = False, seed: int = 0):
    from transformers import AutoModel, AutoModelForAudioClassification

    torch.manual_seed(seed)
    config = tiny_config(family, P.model)
    config.num_labels = 5
    cls = AutoModelForAudioClassification if classifier else AutoModel
    return cls.from_config(config, attn_implementation="eager").eval()


def _audio():
    return torch.randn(2, 8000, generator=torch.Generator().manual_seed(1))


def _by_hand(model, removed):
    manual = copy.deepcopy(model)
    blocks = encoder_layers(manual)
    base_model(manual).encoder.layers = torch.nn.ModuleList(b for i, b in enumerate(blocks) if i not in removed)
    return manual


@pytest.mark.parametrize("family", ["wav2vec2", "hubert", "wavlm"])
@pytest.mark.parametrize("classifier", [False, True])
def test_equal_to_removing_blocks_by_hand(family, classifier):
    model = _model(family, classifier)
    removed = [1, 3]
    pruned = remove_layers(model, removed)
    with torch.inference_mode():
        ours, manual = pruned(_audio()), _by_hand(model, removed)(_audio())
    key = "logits" if classifier else "last_hidden_state"
    torch.testing.assert_close(ours[key], manual[key])
    assert pruned.config.num_hidden_layers == 2 and len(encoder_layers(pruned)) == 2


def test_input_model_is_untouched():
    model = _model("wav2vec2")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    remove_layers(model, [0, 2])
    assert len(encoder_layers(model)) == P.model.num_hidden_layers
    assert model.config.num_hidden_layers == P.model.num_hidden_layers
    after = model.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)


def test_wavlm_without_block_zero_keeps_its_position_bias():
    """Block 0 owns WavLM's relative position embedding; the other blocks reuse the bias it computes.

    Reference, by hand: the encoder's input, then blocks 1.. fed the bias of the original block 0.
    """
    model = _model("wavlm")
    pruned = remove_layers(model, [0])
    assert hasattr(encoder_layers(pruned)[0].attention, "rel_attn_embed")
    audio = _audio()
    with torch.inference_mode():
        h, _ = model.feature_projection(model.feature_extractor(audio).transpose(1, 2))
        encoder = model.encoder
        h = encoder.layer_norm(h + encoder.pos_conv_embed(h))
        first = encoder.layers[0].attention
        frames, heads = h.shape[1], first.num_heads
        bias = first.compute_bias(frames, frames).unsqueeze(0).repeat(len(audio), 1, 1, 1)
        bias = bias.view(len(audio) * heads, frames, frames)
        for block in encoder.layers[1:]:
            h, _ = block(h, position_bias=bias)
        torch.testing.assert_close(pruned(audio).last_hidden_state, h)


def test_wavlm_classifier_without_block_zero_runs():
    pruned = remove_layers(_model("wavlm", classifier=True), [0, 2])
    with torch.inference_mode():
        logits = pruned(_audio()).logits
    assert logits.shape == (2, 5) and torch.isfinite(logits).all()


def test_wavlm_pruned_model_saves_and_loads(tmp_path):
    from transformers import AutoModel

    pruned = remove_layers(_model("wavlm"), [0, 1])
    pruned.save_pretrained(tmp_path)
    loaded = AutoModel.from_pretrained(tmp_path, attn_implementation="eager").eval()
    with torch.inference_mode():
        torch.testing.assert_close(loaded(_audio()).last_hidden_state, pruned(_audio()).last_hidden_state)


@pytest.mark.parametrize(
    "layers, error, message",
    [
        ([4], IndexError, "index 4 is out of range for a model with 4 blocks"),
        ([-1], IndexError, "index -1 is out of range"),
        ([1, 1], ValueError, r"duplicate indices \[1\]"),
        ([0, 1, 2, 3], ValueError, "removing all 4 blocks"),
        (["1"], TypeError, "indices must be ints"),
    ],
)
def test_bad_indices_are_refused(layers, error, message):
    with pytest.raises(error, match=message):
        remove_layers(_model("wav2vec2"), layers)


def test_backward_pruning_removes_the_last_blocks():
    model = _model("hubert")
    assert n_to_prune(12, 0.4) == 5 and n_to_prune(24, 0.4) == 10 and n_to_prune(4, 0.4) == 2
    pruned = prune_backward(model, 0.4)
    kept = encoder_layers(pruned)
    assert len(kept) == 2
    torch.testing.assert_close(kept[1].attention.k_proj.weight, encoder_layers(model)[1].attention.k_proj.weight)
