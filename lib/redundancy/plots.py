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


#: Colours and labels of the pruning orders, shared by every pruning figure.
ORDER_STYLE: dict[str, dict[str, Any]] = {
    "forward": {"color": "tab:blue", "label": "forward"},
    "backward": {"color": "tab:orange", "label": "backward"},
    "bi": {"color": "tab:green", "label": "BI (cosine)"},
    "knn-bi": {"color": "tab:red", "label": "kNN-BI"},
    "random": {"color": "tab:gray", "label": "random"},
    "block-aware": {"color": "tab:purple", "label": "block-aware"},
    "greedy": {"color": "black", "label": "greedy (validation)", "ls": "--"},
}


def pruning_curves(ax: Any, result: dict[str, Any], *, orders: list[str] | None = None,
                   title: str | None = None) -> Any:
    """Accuracy against the fraction of blocks removed, one line per order with its band over runs,
    the chance level dotted and the 95 % line of the unpruned accuracy dashed."""
    L = result["n_layers"]
    fraction = np.arange(L) / L
    default = [o for o in ORDER_STYLE if o in result["orders"]] + [o for o in result["orders"] if o not in ORDER_STYLE]
    for name in orders or default:
        if name not in result["orders"]:
            continue
        entry, style = result["orders"][name], ORDER_STYLE.get(name, {"label": name})
        line, = ax.plot(fraction, entry["accuracy"], marker="o", ms=3, lw=1.5, color=style.get("color"),
                        ls=style.get("ls", "-"), label=style["label"])
        low, high = entry["band"]
        if len(entry["accuracy_seeds"]) > 1:
            ax.fill_between(fraction, low, high, color=line.get_color(), alpha=0.15, lw=0)
    ax.axhline(result["chance_uniform"], color="gray", ls=":", lw=1, label="chance")
    ax.axhline(0.95 * result["unpruned_accuracy"], color="gray", ls="--", lw=0.8, label="95 % of unpruned")
    ax.set_xlabel("fraction of blocks removed")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    if title:
        ax.set_title(title, fontsize=9)
    return ax
