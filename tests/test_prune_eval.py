"""Pruned models scored from cached block inputs equal real pruned models (remove_layers)."""

import itertools

import pytest
import torch

from redundancy.config import load_profile
from redundancy.models import tiny_config
from redundancy.prune_eval import BlockRunner, PrunedScorer
from redundancy.pruning import remove_layers

P = load_profile("smoke")


def _classifier(family: str, stable: bool = False, seed: int = 0):
    from transformers import AutoModelForAudioClassification

    torch.manual_seed(seed)
    config = tiny_config(family, P.model)
    config.num_labels = 5
    config.num_hidden_layers = 5
    if stable:  # the large checkpoints' layout: layer-norm CNN, pre-LN blocks, final encoder LayerNorm
        config.do_stable_layer_norm = True
        config.feat_extract_norm = "layer"
    model = AutoModelForAudioClassification.from_config(config, attn_implementation="eager").eval()
    with torch.no_grad():  # random LayerNorm gains, so a missing final norm would show
        for module in model.modules():
            if isinstance(module, torch.nn.LayerNorm):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
    return model


def _audio():
    return torch.randn(3, 8000, generator=torch.Generator().manual_seed(2))


CASES = [("wav2vec2", False), ("hubert", False), ("wavlm", False), ("wav2vec2", True), ("wavlm", True)]


@pytest.mark.parametrize("family, stable", CASES)
def test_full_model_logits(family, stable):
    model = _classifier(family, stable)
    runner = BlockRunner(model)
    scorer = PrunedScorer(runner, runner.block_inputs(_audio()))
    with torch.inference_mode():
        torch.testing.assert_close(scorer.logits([]), model(_audio()).logits)


@pytest.mark.parametrize("family, stable", CASES)
def test_any_removal_equals_remove_layers(family, stable):
    model = _classifier(family, stable)
    runner = BlockRunner(model)
    scorer = PrunedScorer(runner, runner.block_inputs(_audio()))
    sets = [(0,), (1, 3), (4,), (0, 2, 4), (1, 2, 3, 4), (3, 1)]
    for removed in sets:
        with torch.inference_mode():
            real = remove_layers(model, list(removed))(_audio()).logits
        torch.testing.assert_close(scorer.logits(removed), real, msg=f"removed {removed}")


@pytest.mark.parametrize("family, stable", [("wav2vec2", False), ("wavlm", True)])
def test_one_pass_backward_sweep_equals_real_pruning_at_every_depth(family, stable):
    model = _classifier(family, stable)
    runner = BlockRunner(model)
    scorer = PrunedScorer(runner, runner.block_inputs(_audio()))
    L = runner.n_blocks
    for m in range(L):
        with torch.inference_mode():
            real = remove_layers(model, list(range(L - m, L)))(_audio()).logits
        torch.testing.assert_close(scorer.backward_logits(m), real, msg=f"{m} blocks removed")
    assert scorer.blocks_run == 0


def test_memo_reuses_shared_prefixes():
    model = _classifier("wav2vec2")
    runner = BlockRunner(model)
    scorer = PrunedScorer(runner, runner.block_inputs(_audio()))
    scorer.logits([1])  # runs blocks 2, 3, 4
    assert scorer.blocks_run == 3
    scorer.logits([1, 4])  # the input of block 4 without block 1 is known: no block to run
    assert scorer.blocks_run == 3
    scorer.logits([1, 3])  # block 2's output without 1 is known: runs block 4 only
    assert scorer.blocks_run == 4
    orders = list(itertools.permutations(range(5), 2))
    for removed in orders:
        with torch.inference_mode():
            real = remove_layers(model, list(removed))(_audio()).logits
        torch.testing.assert_close(scorer.logits(removed), real)


def test_bad_inputs_are_refused():
    model = _classifier("wav2vec2")
    runner = BlockRunner(model)
    scorer = PrunedScorer(runner, runner.block_inputs(_audio()))
    with pytest.raises(ValueError, match="removing all 5 blocks"):
        scorer.logits(range(5))
    with pytest.raises(IndexError, match="out of range"):
        scorer.logits([7])
    with pytest.raises(ValueError, match="expected 6 states"):
        PrunedScorer(runner, scorer.states[:3])
    with pytest.raises(TypeError, match="audio-classification"):
        BlockRunner(model.wav2vec2)
