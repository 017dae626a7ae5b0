# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Layer similarity: are neighbouring layers doing the same thing?
#
# Claim C1 of the paper: if we compare the output of every transformer block with every other,
# the similarity maps show a *block-like structure*. Inside a block the layers barely change the
# representation, and that is the redundancy the later chapters prune away. This chapter measures
# similarity in three ways, draws the maps for every model (pre-trained and fine-tuned), and finds
# the blocks with a rule stated in code.
#
# Which tensors: row *l* of a map is the output of transformer block *l* (for the last block of a
# stable-layer-norm model, after the encoder's final LayerNorm, so it is the model's output). The
# paper's maps show these L blocks only (12 x 12 for a base model), and so do ours by default, with
# the paper's 1-based labels. We also computed "layer 0", the output of the feature projection (the
# transformer's input before the positional convolution); it appears only in the figure that says so.
# As in the authors' code, a layer's representation of an utterance is its (frames x features)
# output flattened into one vector, and **every representation is centred** (the mean over the
# utterances of a batch subtracted) before every metric, as the paper's section 2.1 says. Metrics are
# computed on batches of 128 utterances and averaged over batches.

# %% tags=["parameters"]
profile = None  # None: $REDUNDANCY_PROFILE, else "mini"
device = "auto"

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from redundancy import cache, paths, pipeline, similarity
from redundancy.blocks import block_structure
from redundancy.config import load_profile, resolve_device
from redundancy.plots import heatmap_with_blocks

P = load_profile(profile)
DEVICE = resolve_device(device)
A = P.analysis
MODELS = pipeline.model_names(P)
STATES = ("pretrained", *P.finetune.tasks)
print(f"profile={P.name} device={DEVICE} models={MODELS} states={STATES}")
print(f"{A.n_utterances} utterances, batches of {A.batch_size}, k for mutual k-NN: {A.knn_k} (the paper's 8)")

# %% [markdown]
# ## Three ways to compare two layers
#
# Let $X$ and $Y$ be two layers' representations of the same $n$ utterances (rows).
#
# - **Cosine**: for each utterance, the cosine of the angle between its vector in $X$ and in $Y$,
#   averaged over utterances. It asks: *did the layer turn the vector?* It needs both layers to
#   have the same width and it notices any rotation of the feature space. Centring matters most
#   here: uncentred, a large offset shared by all utterances (common in transformer outputs) points
#   every vector the same way and pushes all cosines towards 1; centred, the cosine asks whether each
#   utterance's *deviation from the average utterance* keeps its direction.
# - **Linear CKA** (centred kernel alignment, Kornblith et al. 2019): compare the $n \times n$
#   matrices of inner products between utterances, $K = XX^\top$ and $L = YY^\top$, after centring:
#   $\mathrm{CKA} = \langle HKH, HLH\rangle / (\lVert HKH\rVert\,\lVert HLH\rVert)$. It asks: *do the two
#   layers arrange the utterances the same way?* Rotating or uniformly scaling a layer does not change
#   it, but stretching some directions does. The *debiased* variant uses an unbiased estimate of the
#   same quantity and corrects the bias that small batches and wide layers cause.
# - **Mutual k-NN** (Huh et al. 2024): for each utterance, take its $k$ nearest neighbours (by inner
#   product, itself excluded) in $X$ and in $Y$, and count how many they share. The score is the
#   average fraction shared. It asks: *do the layers agree on who is close to whom?* It looks only at
#   local neighbourhoods.
#
# The toy below builds a representation $X$ and transforms it in several ways. Change `noise`,
# `n`, or the transforms and see which metric reacts.

# %%
# NBVAL_CHECK_OUTPUT
rng = np.random.default_rng(0)
n, d, noise = 200, 16, 0.5
X = rng.standard_normal((n, d)) * np.linspace(2.0, 0.2, d)  # a few strong directions
Q, _ = np.linalg.qr(rng.standard_normal((d, d)))  # a random rotation
stretch = np.diag(np.r_[np.full(4, 0.05), np.full(d - 4, 3.0)])  # shrink the strong directions
toys = {
    "identical": X,
    "rotated": X @ Q,
    "scaled x10": 10 * X,
    "stretched": X @ stretch,
    f"noise {noise}": X + noise * rng.standard_normal((n, d)),
    "unrelated": rng.standard_normal((n, d)),
}
table = pd.DataFrame({
    name: {
        "cosine": similarity.cosine(X, Y),
        "cosine (uncentred)": similarity.cosine(X + 5.0, Y + 5.0, center=False),
        "CKA": similarity.linear_cka(X, Y),
        "CKA debiased": similarity.linear_cka(X, Y, debiased=True),
        "mutual 8-NN": similarity.mutual_knn(X, Y, 8),
    }
    for name, Y in toys.items()
}).T
print(table.round(2).to_string())

# %% [markdown]
# Rotation leaves CKA and mutual k-NN at 1 but ruins the cosine; uniform scaling changes nothing.
# The uncentred cosine of the same data shifted by a constant 5 is near 1 even for unrelated data:
# the offset, not the utterances, decides it; centring removes it.
# Stretching some directions changes which utterances look alike, so CKA and especially the local
# mutual k-NN drop. For unrelated data the biased CKA stays above 0 while the debiased one is closer
# to 0: that is the bias it removes (it grows as the batch gets smaller or the layers wider).
#
# ## Finding blocks
#
# A map can look blocky for two different reasons: layers really group into steps, or the
# representation simply drifts, so similarity falls smoothly with the distance between layers (a
# band). Only the first is a block structure. `block_structure` tells them apart:
#
# 1. for k = 2, 3, 4 blocks (of at least 2 layers), it finds the contiguous split with the largest
#    **distance-matched contrast**: at each distance d, the mean similarity of pairs d apart inside a
#    block minus that of pairs d apart across blocks, averaged over d. A map that depends on distance
#    only has contrast 0 for every split;
# 2. the **null** shuffles the map's values within each diagonal (same distance profile, no squares)
#    999 times and takes the best split of each shuffled map: the p-value says how often chance
#    alone gives that much contrast, corrected for trying 3 values of k (Bonferroni);
# 3. a k counts if p < 0.05 *and* its contrast is at least 0.05 (on the metrics' 0-1 scale: a
#    difference smaller than that is not a visible block). No k counts: **no block structure**.
#    Otherwise the k that stands out most from its null wins.
#
# Three toy maps: planted blocks, a smooth band, and planted blocks on top of a band.

# %%
# NBVAL_CHECK_OUTPUT
dist = np.abs(np.subtract.outer(np.arange(12), np.arange(12)))
labels = np.repeat([0, 1], [8, 4])
toy_maps = {
    "planted 8 + 4": np.where(labels[:, None] == labels[None, :], 0.9, 0.4) + 0.1 * (dist == 0),
    "smooth band": np.exp(-dist / 4),
    "band + blocks": 0.6 * np.exp(-dist / 4) + 0.3 * (labels[:, None] == labels[None, :]),
}
for name, toy in toy_maps.items():
    found = block_structure(toy)
    shown = [f"{a + 1}-{b}" for a, b in found.blocks] if found.significant else "no block structure"
    print(f"{name:14s} contrast {found.contrast:.2f}  p {found.p_value:.3f}  -> {shown}")

# %% [markdown]
# ## The models
#
# Hidden states are extracted once per model and cached; every metric for all pairs of layers comes
# from one pass over them (Gram matrices and neighbour sets per layer, never per pair).

# %%
results = {}
for name in MODELS:
    for state in STATES:
        states = pipeline.hidden_states(P, name, state, device=DEVICE)
        results.setdefault(name, {})[state] = similarity.model_similarity(
            states, ks=A.knn_ks, knn_k=A.knn_k, batch_size=A.batch_size, pooling=A.similarity_pooling,
            device=DEVICE,
        )
first = results[MODELS[0]][STATES[0]]
print(f"{first.stats.n_used} utterances in batches of {first.stats.per_batch}; k values used: {first.ks}")


# %%
def draw(metric: str, k: int | None = None, with_input: bool = False) -> None:
    """One heat map per model (rows) and state (columns): the paper's view of blocks 1..L with the
    blocks found outlined, or (``with_input``) with layer 0, the feature projection output, added."""
    fig, axes = plt.subplots(len(MODELS), len(STATES), figsize=(3.3 * len(STATES), 3.0 * len(MODELS)),
                             squeeze=False)
    for i, name in enumerate(MODELS):
        for j, state in enumerate(STATES):
            sim = results[name][state]
            kw = dict(vmin=0, vmax=1, cbar=j == len(STATES) - 1, title=f"{name} / {state}", tick_step=2)
            if with_input:
                heatmap_with_blocks(axes[i, j], sim.matrix(metric, k), None, **kw)
                continue
            M = sim.paper_view(metric, k)
            test = block_structure(M) if (metric == "mutual_knn" and k not in (None, sim.knn_k)) \
                else sim.block_tests[metric]
            heatmap_with_blocks(axes[i, j], M, test.blocks if test.significant else None, first_label=1, **kw)
    label = f"mutual {k or first.knn_k}-NN" if metric == "mutual_knn" else metric
    where = "layer 0 = feature projection output, then blocks 1..L" if with_input else "transformer blocks 1..L"
    fig.suptitle(f"{label} between layers, {where} ({P.name} profile)")
    fig.tight_layout()
    plt.show()


draw("cosine")

# %%
draw("cka")

# %%
draw("mutual_knn")

# %% [markdown]
# The debiased CKA, for comparison with the biased one the authors used:

# %%
draw("cka_debiased")

# %% [markdown]
# The same CKA maps with the transformer's input added as layer 0 (the feature projection output,
# before the positional convolution): how far the first block already moves the representation.

# %%
draw("cka", with_input=True)

# %% [markdown]
# ## Mutual k-NN across k
#
# Small $k$ asks whether the very nearest neighbours agree; large $k$ approaches a global
# comparison. The authors swept $k = 1, 2, 4, \dots, 128$; with batches of 128 (itself excluded) the
# largest usable $k$ is 127, so larger values are left out. Below: the mean similarity of adjacent
# layers (l, l+1) and of distant layers (1, last) for every model, against $k$.

# %%
fig, axes = plt.subplots(1, len(STATES), figsize=(4 * len(STATES), 3.2), sharey=True, squeeze=False)
for j, state in enumerate(STATES):
    ax = axes[0, j]
    for name in MODELS:
        sim = results[name][state]
        ks = sim.ks
        adjacent = [np.mean(np.diag(sim.matrix("mutual_knn", k), 1)) for k in ks]
        distant = [sim.matrix("mutual_knn", k)[1, -1] for k in ks]
        line, = ax.plot(ks, adjacent, marker="o", label=f"{name} adjacent")
        ax.plot(ks, distant, marker="x", ls="--", color=line.get_color(), label=f"{name} 1 vs last")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("k")
    ax.set_title(state)
axes[0, 0].set_ylabel("mutual k-NN")
axes[0, -1].legend(fontsize=7)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## The blocks, and claim C1
#
# Per model, state and metric: the blocks found on the paper's view (block numbers, first-last), or
# "none" when the map has no block structure by the rule above, with the contrast and its p-value.
# C1 says two main blocks, the first holding about 2/3 to 3/4 of the layers and the second the last
# 4-5 (for 12 blocks: a first block of 7 to 9, "paper-like" below). The paper analyses fine-tuned
# models only; the pre-trained rows are ours.

# %%
from redundancy.blocks import c1_summary

rows = []
for name in MODELS:
    for state in STATES:
        sim = results[name][state]
        for metric in ("cosine", "cka", "mutual_knn"):
            test, c1 = sim.block_tests[metric], c1_summary(sim.block_tests[metric])
            rows.append({
                "model": name, "state": state, "metric": metric,
                "blocks": ", ".join(f"{a}-{b}" for a, b in sim.blocks[metric]) if test.significant else "none",
                "contrast": round(test.contrast if test.significant else max(v["contrast"] for v in test.per_k.values()), 3),
                "p": round(test.p_value, 3),
                "two blocks": c1["two_blocks"], "paper-like": c1["paper_like"],
            })
c1_table = pd.DataFrame(rows)
c1_table

# %%
summary = c1_table[c1_table.state != "pretrained"].groupby(["metric"])[["two blocks", "paper-like"]].sum()
summary["models x tasks"] = c1_table[c1_table.state != "pretrained"].groupby("metric").size()
summary

# %% [markdown]
# How sure are we of a map's values? The CKA between the first and the last transformer block with a
# 95 % interval over utterances (half-sampling within batches, see `similarity.bootstrap_similarity`).

# %%
rows = []
for name in MODELS:
    for state in STATES:
        sim = results[name][state]
        L = sim.matrix("cka").shape[0] - 1
        ci = similarity.bootstrap_similarity(sim.stats, "cka", n_boot=A.bootstrap, seed=0, layers=[1, L])
        rows.append({
            "model": name, "state": state,
            f"CKA(1, {L})": f"{ci.estimate[0, 1]:.2f} [{ci.low[0, 1]:.2f}, {ci.high[0, 1]:.2f}]",
            "min adjacent CKA": f"{np.diag(sim.paper_view('cka'), 1).min():.2f}",
        })
pd.DataFrame(rows)

# %% [markdown]
# **How much fine-tuning moves the transformer depends on the recipe.** Compare the fine-tuned rows
# with the pre-trained one: a fine-tuned CKA(1, L) close to the pre-trained value means fine-tuning
# left the stack much as pre-training made it, and its redundancy is then mostly pre-training's. In
# this book's previous published set (git history before the head-rate recipe), head and backbone
# trained at one rate and the fine-tuned words models' CKA(1, 12) was 0.17-0.21
# (`results/mini/similarity.json` at commit 914aeaf): the backbone had to do the head's work and was
# reshaped by it.
# With the head at 30 times the backbone's rate (chapter 02), the same CKA stays close to the
# pre-trained models' (table above). So "how redundant is the stack" is a question about a model
# *and* how it was fine-tuned.

# %% [markdown]
# ## The results file
#
# Every matrix, the k values and the blocks go to `results/<profile>/similarity.json`, which the
# pruning chapter and the scorecard read.

# %%
out = paths.results_dir(P.name) / "similarity.json"
cache.atomic_write_json(out, similarity.similarity_results(P.name, results))
print(f"wrote {out.name}: {len(MODELS)} models x {len(STATES)} states")

# %% [markdown]
# ## Exercises
#
# 1. In the toy example, increase `noise` step by step. Which metric falls first, and why does mutual
#    k-NN with small $k$ react earlier than CKA?
# 2. Recompute one model's maps with `batch_size=None` (all utterances at once) and with
#    `pooling="mean"` (`similarity.model_similarity(...)`). Do the blocks move? Which choice changes the
#    maps more, and what does mean pooling throw away?
# 3. `block_structure` takes `min_contrast` and `alpha`. Set `min_contrast=0` and rerun it on the
#    pre-trained CKA maps (`results[name]["pretrained"].paper_view("cka")`): which "blocks" appear,
#    how large are their contrasts, and would you call them blocks? Which blocks of the fine-tuned
#    maps survive `min_contrast=0.1`?
