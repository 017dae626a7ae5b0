"""Pruning orders, thresholds and the aggregation of sweeps over seeds."""

import numpy as np
import pytest

from redundancy import pruning
from redundancy.prune_sweep import aggregate, max_removed


def test_forward_and_backward_never_prune_the_first_block():
    assert pruning.forward_order(5) == [1, 2, 3, 4]
    assert pruning.backward_sweep_order(5) == [4, 3, 2, 1]
    assert pruning.to_block_numbers(pruning.backward_sweep_order(5)) == [5, 4, 3, 2]
    with pytest.raises(ValueError, match="at least 2 blocks"):
        pruning.forward_order(1)


def test_influence_order_lowest_first_and_first_block_kept():
    adjacent = [0.1, 0.9, 0.5, 0.99, 0.7]  # similarity of each block's input and output
    assert pruning.block_influence(adjacent).tolist() == pytest.approx([0.9, 0.1, 0.5, 0.01, 0.3])
    assert pruning.influence_order(adjacent) == [3, 1, 4, 2]


def test_random_orders_are_permutations_of_blocks_two_to_l():
    orders = [pruning.random_order(8, s) for s in range(3)]
    assert all(sorted(o) == list(range(1, 8)) for o in orders)
    assert orders[0] != orders[1] and pruning.random_order(8, 0) == orders[0]


def test_block_aware_keeps_part_of_every_block():
    adjacent = np.full(8, 0.5)
    adjacent[[2, 6]] = 0.9  # low influence
    blocks = [(0, 5), (5, 8)]
    order = pruning.block_aware_order(adjacent, blocks)
    assert sorted(order) == list(range(1, 8))
    left = {0: set(range(1, 5)), 1: set(range(5, 8))}  # block 0 (layer 1) is never a candidate
    for step, b in enumerate(order[:-2]):
        owner = 0 if b < 5 else 1
        left[owner].discard(b)
        assert all(left.values()), f"a block emptied at step {step}"
    assert order[0] == 2  # the larger block goes first, its lowest-influence layer
    with pytest.raises(ValueError, match="contiguous"):
        pruning.block_aware_order(adjacent, [(0, 4), (5, 8)])


def test_greedy_takes_the_cheapest_removal_each_step():
    value = {1: 0.9, 2: 0.2, 3: 0.5}  # how much each block matters

    def score(removed):
        return (1.0 - sum(value[b] for b in removed),)

    order, scores = pruning.greedy_order(4, score)
    assert order == [2, 3, 1]
    assert [s[0] for s in scores] == pytest.approx([0.8, 0.3, -0.6])


def test_max_removed_stops_at_the_first_drop():
    assert max_removed([1.0, 0.99, 0.96, 0.9, 0.97], 0.95) == 2
    assert max_removed([1.0, 0.4, 0.9], 0.5) == 0
    assert max_removed([1.0, 0.99], 0.95) == 1


def _sweep(acc0, curves, blocks_significant=True):
    return {"n_layers": 3, "n_test": 10, "chance_uniform": 0.1, "chance_majority": 0.1,
            "unpruned_accuracy": acc0,
            "selection": {"split": "validation", "blocks": [[1, 2], [3, 3]], "blocks_significant": blocks_significant},
            "orders": {name: {"runs": [{"removed": [3, 2], "accuracy": c} for c in runs]}
                       for name, runs in curves.items()}}


def test_aggregate_over_seeds_and_runs():
    a = _sweep(0.8, {"backward": [[0.8, 0.6, 0.2]], "random": [[0.8, 0.7, 0.1], [0.8, 0.5, 0.1]]})
    b = _sweep(0.6, {"backward": [[0.6, 0.6, 0.3]], "random": [[0.6, 0.3, 0.2], [0.6, 0.6, 0.2]]})
    out = aggregate([a, b])
    assert out["unpruned_accuracy"] == pytest.approx(0.7) and out["n_seeds"] == 2
    back = out["orders"]["backward"]
    assert back["accuracy"] == pytest.approx([0.7, 0.6, 0.25])
    assert back["relative"] == pytest.approx([1.0, (0.6 / 0.8 + 1.0) / 2, (0.2 / 0.8 + 0.3 / 0.6) / 2])
    assert back["max_removed_at_95"] == 0 and back["max_removed_at_50"] == 1
    assert len(out["orders"]["random"]["accuracy_seeds"]) == 4
    low, high = out["orders"]["random"]["band"]
    assert all(lo <= m <= hi for lo, m, hi in zip(low, out["orders"]["random"]["accuracy"], high))
    with pytest.raises(ValueError, match="no sweeps"):
        aggregate([])


@pytest.mark.parametrize("task", ["words", "speakers"])
def test_orders_choose_on_clips_disjoint_from_the_test_clips(smoke_corpus, smoke, task):
    from redundancy.commands import load_split

    kw = dict(min_utterances=smoke.corpus.speaker_min_utterances, seed=smoke.corpus.speaker_split_seed)
    validation, test = load_split(smoke_corpus, task, "validation", **kw), load_split(smoke_corpus, task, "test", **kw)
    assert len(validation) and not set(validation.files) & set(test.files)


def test_sweep_of_a_fine_tuned_model_matches_real_pruned_models(smoke, smoke_corpus):
    """End to end on a smoke model: every order's curve at every depth equals remove_layers."""
    import dataclasses

    import torch
    from transformers import AutoModelForAudioClassification

    from redundancy import pipeline, prune_sweep
    from redundancy.commands import load_split
    from redundancy.preprocess import prepare_inputs, should_normalize

    profile = dataclasses.replace(smoke, analysis=dataclasses.replace(smoke.analysis, prune_test_clips=12))
    path = pipeline.model_dir(smoke, "wav2vec2", "words", "cpu", seed=0)
    sweep = prune_sweep.sweep_model(path, "words", profile, corpus_root=smoke_corpus, device="cpu", progress=False)
    L = sweep["n_layers"]
    assert sweep["n_test"] == 12 and set(sweep["orders"]) == set(profile.analysis.prune_orders)
    assert len(sweep["orders"]["random"]["runs"]) == profile.analysis.prune_random_orders
    test = load_split(smoke_corpus, "words", "test")
    idx = np.sort(prune_sweep._fixed_subset(len(test), 12, profile.corpus.seed))
    x = prepare_inputs(np.stack([test[int(i)][0] for i in idx]), should_normalize(path))
    y = np.asarray(test.labels)[idx]
    model = AutoModelForAudioClassification.from_pretrained(str(path)).eval()
    for name in ("backward", "knn-bi", "greedy"):
        run = sweep["orders"][name]["runs"][0]
        assert sorted(run["removed"]) == list(range(2, L + 1))
        for m in range(L):
            with torch.inference_mode():
                pruned = pruning.remove_layers(model, [b - 1 for b in run["removed"][:m]])
                acc = float((pruned(x).logits.argmax(-1).numpy() == y).mean())
            assert run["accuracy"][m] == pytest.approx(acc), (name, m)


def test_sweep_follows_the_weights_not_the_path(smoke, smoke_corpus, tmp_path):
    """Republishing a model keeps its folder; the cached sweep must describe the new weights."""
    import dataclasses
    import shutil

    import torch
    from transformers import AutoModelForAudioClassification

    from redundancy import pipeline, prune_sweep
    from redundancy.commands import load_split

    profile = dataclasses.replace(smoke, analysis=dataclasses.replace(smoke.analysis, prune_test_clips=12))
    folder = tmp_path / "words-seed0"
    shutil.copytree(pipeline.model_dir(smoke, "wav2vec2", "words", "cpu", seed=0), folder,
                    ignore=shutil.ignore_patterns("_manifest.json"))
    before = prune_sweep.sweep_model(folder, "words", profile, corpus_root=smoke_corpus, device="cpu", progress=False)

    test = load_split(smoke_corpus, "words", "test")
    idx = np.sort(prune_sweep._fixed_subset(len(test), 12, profile.corpus.seed))
    labels = np.asarray(test.labels)[idx]
    forced = int(np.bincount(labels).argmax())
    model = AutoModelForAudioClassification.from_pretrained(str(folder))
    with torch.no_grad():  # every clip is now classified as `forced`
        model.classifier.weight.zero_()
        model.classifier.bias.fill_(-10.0)
        model.classifier.bias[forced] = 10.0
    model.save_pretrained(folder)
    after = prune_sweep.sweep_model(folder, "words", profile, corpus_root=smoke_corpus, device="cpu", progress=False)

    expected = float((labels == forced).mean())
    assert after["unpruned_accuracy"] == pytest.approx(expected)
    assert after["orders"]["backward"]["runs"][0]["accuracy"] == pytest.approx([expected] * after["n_layers"])
    assert before["seconds"] != after["seconds"]  # computed anew, not read back from the cache
