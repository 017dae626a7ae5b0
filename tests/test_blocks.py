"""Block detection: the stated criterion on matrices whose blocks are known."""

import numpy as np
import pytest

from redundancy.blocks import block_boundaries, block_labels, default_threshold, detect_blocks


def _block_matrix(sizes, within=0.9, between=0.3):
    labels = np.repeat(np.arange(len(sizes)), sizes)
    S = np.where(labels[:, None] == labels[None, :], within, between)
    np.fill_diagonal(S, 1.0)
    return S


def test_recovers_planted_blocks():
    S = _block_matrix([1, 5, 7])
    assert detect_blocks(S) == [(0, 1), (1, 6), (6, 13)]
    assert block_boundaries(detect_blocks(S)) == [1, 6]
    assert block_labels(detect_blocks(S)).tolist() == [0] + [1] * 5 + [2] * 7


def test_noisy_blocks_still_found():
    rng = np.random.default_rng(0)
    S = _block_matrix([4, 4, 5]) + 0.05 * rng.standard_normal((13, 13))
    assert detect_blocks(S) == [(0, 4), (4, 8), (8, 13)]


def test_threshold_controls_granularity():
    S = _block_matrix([3, 3])
    assert detect_blocks(S, threshold=0.2) == [(0, 6)]  # everything is similar enough
    assert detect_blocks(S, threshold=0.95) == [(i, i + 1) for i in range(6)]  # nothing is


def test_every_pair_in_a_block_passes_the_threshold_and_blocks_are_fewest():
    rng = np.random.default_rng(1)
    X = rng.uniform(0, 1, (10, 10))
    S = (X + X.T) / 2
    tau = default_threshold(S)
    blocks = detect_blocks(S)
    assert blocks[0][0] == 0 and blocks[-1][1] == 10
    assert all(a[1] == b[0] for a, b in zip(blocks, blocks[1:]))
    for start, stop in blocks:
        sub = S[start:stop, start:stop]
        assert np.all(sub[~np.eye(stop - start, dtype=bool)] >= tau)
    # greedy maximal extension gives the minimum count for this hereditary criterion
    greedy, start = 0, 0
    while start < 10:
        stop = start + 1
        while stop < 10 and np.all(S[stop, start:stop] >= tau):
            stop += 1
        greedy, start = greedy + 1, stop
    assert len(blocks) == greedy


def test_bad_matrix_is_refused():
    with pytest.raises(ValueError, match="square"):
        detect_blocks(np.ones((3, 4)))
    with pytest.raises(ValueError, match="NaN"):
        detect_blocks(np.full((3, 3), np.nan))


# --- block_structure: a rule with a null --------------------------------------------------------
from redundancy.blocks import block_structure  # noqa: E402


def _banded(L=12, scale=4.0):
    d = np.abs(np.subtract.outer(np.arange(L), np.arange(L)))
    return np.exp(-d / scale)


def test_smooth_band_has_no_blocks():
    """Similarity that only decays with distance (a steady drift) is not a block structure."""
    rng = np.random.default_rng(0)
    S = _banded() + 0.01 * rng.standard_normal((12, 12))
    result = block_structure(S)
    assert not result.significant
    assert result.blocks == [(0, 12)] and result.n_blocks == 1


def test_planted_blocks_over_a_band_are_found():
    rng = np.random.default_rng(1)
    labels = np.repeat([0, 1], [8, 4])
    S = 0.6 * _banded() + 0.3 * (labels[:, None] == labels[None, :]) + 0.01 * rng.standard_normal((12, 12))
    result = block_structure(S)
    assert result.significant and result.blocks == [(0, 8), (8, 12)]
    assert result.contrast > 0.2 and result.p_value < 0.05


def test_three_planted_blocks():
    S = _block_matrix([4, 5, 3], within=0.9, between=0.4)
    result = block_structure(S)
    assert result.blocks == [(0, 4), (4, 9), (9, 12)]


def test_tiny_contrast_is_not_called_a_block():
    """A map with all values in 0.96-1.0 (like the pre-trained ones): real but invisible steps."""
    S = 0.96 + 0.04 * _block_matrix([8, 4], within=1.0, between=0.9)
    result = block_structure(S)
    assert result.per_k[2]["blocks"] == [(0, 8), (8, 12)] and result.per_k[2]["p_value"] < 0.05
    assert not result.significant


def test_too_small_map_is_refused():
    with pytest.raises(ValueError, match="cannot hold 2 blocks"):
        block_structure(np.eye(3))


def test_c1_summary_reads_the_paper_shape():
    from redundancy.blocks import c1_summary

    paper_like = c1_summary(block_structure(_block_matrix([8, 4], within=0.9, between=0.4)))
    assert paper_like["two_blocks"] and paper_like["paper_like"] and paper_like["sizes"] == [8, 4]
    assert not c1_summary(block_structure(_block_matrix([3, 9], within=0.9, between=0.4)))["paper_like"]
    none = c1_summary(block_structure(_banded()))
    assert not none["block_structure"] and none["n_blocks"] == 0 and not none["paper_like"]
