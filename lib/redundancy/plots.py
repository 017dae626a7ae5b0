"""Figures several chapters draw: a layer-by-layer heat map with the detected blocks outlined."""

from __future__ import annotations

from typing import Any

import numpy as np


def heatmap_with_blocks(ax: Any, matrix: Any, blocks: list[tuple[int, int]] | None = None, *,
                        title: str | None = None, vmin: float | None = None, vmax: float | None = None,
                        cmap: str = "viridis", cbar: bool = True, tick_step: int = 1,
                        block_color: str = "white", first_label: int = 0) -> Any:
    """Seaborn heat map of an (L, L) layer-similarity matrix, its first row at the top left.

    ``blocks`` (``[(start, stop), ...]``, 0-based row indices, stop exclusive) are drawn as squares
    on the diagonal. ``first_label``: the layer number of row 0 (1 for the paper's blocks-only view).
    """
    import matplotlib.patches as patches
    import seaborn as sns

    M = np.asarray(matrix, dtype=float)
    if M.ndim != 2 or M.shape[0] != M.shape[1]:
        raise ValueError(f"matrix must be square (L, L), got shape {M.shape}")
    L = M.shape[0]
    labels = [str(i + first_label) if (i + first_label) % tick_step == 0 else "" for i in range(L)]
    sns.heatmap(M, ax=ax, vmin=vmin, vmax=vmax, cmap=cmap, square=True, cbar=cbar,
                xticklabels=labels, yticklabels=labels)
    for start, stop in blocks or []:
        ax.add_patch(patches.Rectangle((start, start), stop - start, stop - start, fill=False,
                                       edgecolor=block_color, linewidth=2))
    ax.set_xlabel("layer")
    ax.set_ylabel("layer")
    ax.tick_params(labelsize=7)
    if title:
        ax.set_title(title, fontsize=9)
    return ax
