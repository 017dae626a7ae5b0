"""The similarity metrics' defining properties, and the all-pairs engine against the per-pair ones."""

import numpy as np
import pytest
import torch
from scipy.stats import ortho_group

from redundancy import similarity as S


def _data(n=40, d=12, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng


def _layers(n=48, L=4, d=10, seed=1):
    """Layers that drift away from a shared signal, with a non-zero mean (centring must matter)."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n, d))
    layers, x = [], base
    for _ in range(L):
        x = x @ (np.eye(d) + 0.4 * rng.standard_normal((d, d))) + 0.3 * rng.standard_normal((n, d)) + 2.0
        layers.append(x.copy())
    return layers


def _song_unbiased_hsic(K, L):
    """Unbiased HSIC, written out as in Song et al. (2012), eq. 5."""
    n = K.shape[0]
    Kt, Lt = K.copy(), L.copy()
    np.fill_diagonal(Kt, 0)
    np.fill_diagonal(Lt, 0)
    one = np.ones(n)
    term = np.trace(Kt @ Lt) + (one @ Kt @ one) * (one @ Lt @ one) / ((n - 1) * (n - 2)) \
        - 2.0 / (n - 2) * one @ Kt @ Lt @ one
    return term / (n * (n - 3))


@pytest.mark.parametrize("debiased", [False, True])
def test_cka_of_x_with_itself_is_one(debiased):
    X, _ = _data()
    assert S.linear_cka(X, X, debiased=debiased) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("debiased", [False, True])
def test_cka_invariant_to_orthogonal_maps_and_isotropic_scaling(debiased):
    X, rng = _data()
    Y = X @ rng.standard_normal((12, 7)) + 0.5 * rng.standard_normal((40, 7))
    Q = ortho_group.rvs(12, random_state=3)
    ref = S.linear_cka(X, Y, debiased=debiased)
    assert S.linear_cka(X @ Q, Y, debiased=debiased) == pytest.approx(ref, abs=1e-10)
    assert S.linear_cka(3.7 * X, Y, debiased=debiased) == pytest.approx(ref, abs=1e-10)
    assert S.linear_cka(X + 5.0, Y, debiased=debiased) == pytest.approx(ref, abs=1e-10)  # centring


def test_cka_not_invariant_to_arbitrary_linear_maps():
    X, rng = _data()
    Y = X[:, :6] + 0.3 * rng.standard_normal((40, 6))
    A = np.diag(np.r_[np.full(6, 0.05), np.full(6, 20.0)])  # shrink what Y shares, blow up the rest
    assert abs(S.linear_cka(X @ A, Y) - S.linear_cka(X, Y)) > 0.2


def test_gram_and_feature_forms_agree():
    X, rng = _data(n=30, d=8)
    Y = np.tanh(X @ rng.standard_normal((8, 5)))
    gram = S.linear_cka(X, Y, form="gram")
    features = S.linear_cka(X, Y, form="features")
    assert gram == pytest.approx(features, abs=1e-12)
    assert 0.0 < gram < 1.0


def test_debiased_cka_matches_song_unbiased_hsic():
    X, rng = _data(n=25, d=6)
    Y = X @ rng.standard_normal((6, 9)) + rng.standard_normal((25, 9))
    K, L = X @ X.T, Y @ Y.T
    direct = _song_unbiased_hsic(K, L) / np.sqrt(_song_unbiased_hsic(K, K) * _song_unbiased_hsic(L, L))
    assert S.linear_cka(X, Y, debiased=True) == pytest.approx(direct, abs=1e-10)
    assert S.linear_cka(X, Y, debiased=True) != pytest.approx(S.linear_cka(X, Y), abs=1e-3)


def test_mutual_knn_properties():
    X, rng = _data(n=50)
    Y = X @ rng.standard_normal((12, 12)) + rng.standard_normal((50, 12))
    for k in (1, 5, 20):
        assert S.mutual_knn(X, X, k) == 1.0
        value = S.mutual_knn(X, Y, k)
        assert 0.0 <= value <= 1.0
        assert value == pytest.approx(S.mutual_knn(Y, X, k), abs=1e-12)
    unrelated = rng.standard_normal((50, 12))
    assert S.mutual_knn(X, unrelated, 5) < S.mutual_knn(X, Y, 5)


def test_mutual_knn_excludes_self_and_counts_overlap():
    # 1-D points: inner-product neighbours of 3 on a line are the largest values, self excluded
    X = np.array([[1.0], [2.0], [3.0], [4.0]])
    Y = np.array([[4.0], [3.0], [2.0], [1.0]])  # reversed order
    # X: every point's 1-NN by inner product is 4 (index 3), and 4's is 3 (index 2)
    # Y: every point's 1-NN is index 0, and index 0's is index 1: overlap only where both agree
    assert S.mutual_knn(X, Y, 1, center=False) == pytest.approx(0.0)
    assert S.mutual_knn(X, X, 3, center=False) == 1.0
    with pytest.raises(ValueError, match="k must be in 1..3"):
        S.mutual_knn(X, Y, 4)


def test_cosine_per_row_mean():
    X = np.array([[1.0, 0.0], [0.0, 2.0]])
    Y = np.array([[1.0, 1.0], [0.0, -1.0]])
    assert S.cosine(X, Y, center=False) == pytest.approx((np.sqrt(0.5) - 1.0) / 2)
    assert S.cosine(X, X) == pytest.approx(1.0)


def test_every_metric_centres_first():
    """A shared offset makes raw cosines near 1; centred metrics ignore it and match centred input."""
    rng = np.random.default_rng(3)
    X, Y = rng.standard_normal((40, 6)), rng.standard_normal((40, 6))
    offset = 50.0 * np.ones(6)
    assert S.cosine(X + offset, Y + offset, center=False) > 0.99
    for f in (lambda a, b: S.cosine(a, b), lambda a, b: S.mutual_knn(a, b, 5), S.linear_cka):
        assert f(X + offset, Y + offset) == pytest.approx(f(X - X.mean(0), Y - Y.mean(0)), abs=1e-9)
    layers = [X + offset, Y + offset, X]
    for metric in ("cosine", "mutual_knn"):
        M = S.similarity_matrix(layers, metric, k=5, batch_size=20)
        assert M[0, 2] == pytest.approx(1.0)
        pair = S.cosine if metric == "cosine" else (lambda a, b, **kw: S.mutual_knn(a, b, 5, **kw))
        assert M[0, 1] == pytest.approx(pair(layers[0], layers[1], batch_size=20), abs=1e-6)


@pytest.mark.parametrize("batch_size", [None, 16])
def test_similarity_matrix_symmetric_unit_diagonal_and_matches_pairs(batch_size):
    layers = _layers()
    pair = {
        "cosine": lambda a, b: S.cosine(a, b, batch_size=batch_size),
        "cka": lambda a, b: S.linear_cka(a, b, batch_size=batch_size),
        "cka_debiased": lambda a, b: S.linear_cka(a, b, debiased=True, batch_size=batch_size),
        "mutual_knn": lambda a, b: S.mutual_knn(a, b, 3, batch_size=batch_size),
    }
    for metric in S.METRICS:
        M = S.similarity_matrix(layers, metric, k=3, batch_size=batch_size)
        assert M.shape == (4, 4)
        np.testing.assert_allclose(M, M.T, atol=1e-12)
        np.testing.assert_allclose(np.diag(M), 1.0, atol=1e-12)
        expected = np.array([[pair[metric](a, b) for b in layers] for a in layers])
        np.testing.assert_allclose(M, expected, atol=1e-10, err_msg=metric)


def test_minibatch_average_differs_from_full_and_drops_the_remainder():
    layers = _layers(n=50)
    full = S.similarity_matrix(layers, "cka")
    batched = S.similarity_matrix(layers, "cka", batch_size=16)  # 3 batches, 2 utterances dropped
    manual = np.mean([S.linear_cka(layers[0][s:s + 16], layers[2][s:s + 16]) for s in (0, 16, 32)])
    assert batched[0, 2] == pytest.approx(manual, abs=1e-12)
    assert not np.allclose(full, batched)


def test_three_dimensional_inputs_flatten_or_mean_pool():
    rng = np.random.default_rng(0)
    states = [rng.standard_normal((20, 5, 3)).astype(np.float32) for _ in range(3)]
    flat = S.similarity_matrix(states, "cka")
    assert flat[0, 1] == pytest.approx(S.linear_cka(states[0].reshape(20, -1), states[1].reshape(20, -1)))
    pooled = S.similarity_matrix(states, "cka", pooling="mean")
    assert pooled[0, 1] == pytest.approx(S.linear_cka(states[0].mean(1), states[1].mean(1)), abs=1e-6)
    with pytest.raises(ValueError, match="unknown pooling 'max'"):
        S.similarity_matrix(states, "cka", pooling="max")


def test_torch_inputs_and_several_ks_from_one_pass():
    layers = [torch.from_numpy(x).float() for x in _layers()]
    out = S.similarity_matrices(layers, ("cka", "mutual_knn"), ks=(1, 2, 4))
    assert set(out["mutual_knn"]) == {1, 2, 4}
    assert out["mutual_knn"][2][1, 3] == pytest.approx(S.mutual_knn(layers[1], layers[3], 2), abs=1e-7)


def test_bad_inputs_name_the_problem():
    X, _ = _data()
    with pytest.raises(ValueError, match="same number of samples"):
        S.linear_cka(X, X[:10])
    with pytest.raises(ValueError, match="X must be 2-D"):
        S.linear_cka(X[None], X)
    with pytest.raises(ValueError, match="unknown metric 'cca'"):
        S.similarity_matrix([X, X], "cca")
    with pytest.raises(ValueError, match="batch_size=64 is larger"):
        S.cosine(X, X, batch_size=64)
    with pytest.raises(ValueError, match="layers\\[1\\] has 10 samples"):
        S.similarity_matrix([X, X[:10]], "cka")


def test_bootstrap_intervals_contain_estimate_and_are_reproducible():
    layers = _layers(n=64)
    stats = S.layer_statistics(layers, batch_size=32)
    for metric in S.METRICS:
        a = S.bootstrap_similarity(stats, metric, k=3, n_boot=40, seed=1)
        b = S.bootstrap_similarity(stats, metric, k=3, n_boot=40, seed=1)
        np.testing.assert_array_equal(a.low, b.low)
        np.testing.assert_allclose(a.estimate, S.similarity_matrix(layers, metric, k=3, batch_size=32), atol=1e-10)
        off = ~np.eye(4, dtype=bool)
        assert np.all(a.low[off] <= a.estimate[off] + 1e-12) and np.all(a.estimate[off] <= a.high[off] + 1e-12)
        assert np.all(a.high[off] - a.low[off] > 0), metric


def test_bootstrap_on_a_subset_of_layers_matches_the_full_one():
    layers = _layers(n=64)
    stats = S.layer_statistics(layers, batch_size=32)
    for metric in ("cosine", "cka"):
        full = S.bootstrap_similarity(stats, metric, n_boot=10, seed=2)
        sub = S.bootstrap_similarity(stats, metric, n_boot=10, seed=2, layers=[1, 3])
        assert sub.estimate.shape == (2, 2)
        assert sub.estimate[0, 1] == pytest.approx(full.estimate[1, 3], abs=1e-12)
    with pytest.raises(ValueError, match="layers must be indices in 0..3"):
        S.bootstrap_similarity(stats, "cka", layers=[0, 9])


def test_model_similarity_blocks_on_the_paper_view_and_in_the_json():
    """Blocks are found on blocks 1..L (layer 0 left out); the JSON gives them as rows of the
    (L+1)-square matrices, [start, stop), the convention the scorecard and the book pages read."""
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((64, 12)), rng.standard_normal((64, 12))
    layers = [rng.standard_normal((64, 12))]  # layer 0: the transformer's input
    layers += [a + 0.1 * rng.standard_normal((64, 12)) for _ in range(5)]
    layers += [b + 0.1 * rng.standard_normal((64, 12)) for _ in range(3)]
    sim = S.model_similarity(layers, ks=(4, 8), knn_k=8, batch_size=32)
    assert sim.paper_view("cka").shape == (8, 8)
    test = sim.block_tests["cka"]
    assert test.significant and test.blocks == [(0, 5), (5, 8)]
    assert sim.blocks["cka"] == [(1, 5), (6, 8)]  # block numbers, first-last
    out = sim.to_json()
    assert out["blocks"]["cka"] == [[1, 6], [6, 9]] and out["block_tests"]["cka"]["blocks"] == [[0, 5], [5, 8]]
    assert out["centred"] is True and out["knn_k"] == 8


def test_read_only_arrays_are_measured_without_a_warning(recwarn):
    # hidden states come back from the cache as read-only memory maps
    rng = np.random.default_rng(0)
    x = rng.standard_normal((20, 6)).astype(np.float32)
    y = rng.standard_normal((20, 6)).astype(np.float32)
    expected = S.linear_cka(x, y)
    x.flags.writeable = False
    y.flags.writeable = False
    assert S.linear_cka(x, y) == pytest.approx(expected)
    assert not [w for w in recwarn if "not writable" in str(w.message)]
