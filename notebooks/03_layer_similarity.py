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
# Layer 0 is the output of the feature projection (the input of the transformer); layer *l* is the
# output of block *l*. As in the authors' code, a layer's representation of an utterance is its
# (frames x features) output flattened into one vector. Metrics are computed on batches of 128
# utterances and averaged over batches.

# %% tags=["parameters"]
profile = None  # None: $REDUNDANCY_PROFILE, else "mini"
device = "auto"

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from redundancy import cache, paths, pipeline, similarity
from redundancy.blocks import detect_blocks
from redundancy.config import load_profile, resolve_device
from redundancy.plots import heatmap_with_blocks

P = load_profile(profile)
DEVICE = resolve_device(device)
A = P.analysis
MODELS = pipeline.model_names(P)
STATES = ("pretrained", *P.finetune.tasks)
print(f"profile={P.name} device={DEVICE} models={MODELS} states={STATES}")
print(f"{A.n_utterances} utterances, batches of {A.batch_size}, k for mutual k-NN: {A.knn_k}")

# %% [markdown]
# ## Three ways to compare two layers
#
# Let $X$ and $Y$ be two layers' representations of the same $n$ utterances (rows).
#
# - **Cosine**: for each utterance, the cosine of the angle between its vector in $X$ and in $Y$,
#   averaged over utterances. It asks: *did the layer turn the vector?* It needs both layers to
#   have the same width and it notices any rotation of the feature space.
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
        "CKA": similarity.linear_cka(X, Y),
        "CKA debiased": similarity.linear_cka(X, Y, debiased=True),
        "mutual 10-NN": similarity.mutual_knn(X, Y, 10),
    }
    for name, Y in toys.items()
}).T
print(table.round(2).to_string())

# %% [markdown]
# Rotation leaves CKA and mutual k-NN at 1 but ruins the cosine; uniform scaling changes nothing.
# Stretching some directions changes which utterances look alike, so CKA and especially the local
# mutual k-NN drop. For unrelated data the biased CKA stays above 0 while the debiased one is closer
# to 0: that is the bias it removes (it grows as the batch gets smaller or the layers wider).
#
# ## Finding blocks
#
# `detect_blocks` splits the layers into contiguous blocks. It uses the *fewest* blocks such that
# every pair of layers inside a block is more similar than a threshold (by default the average
# off-diagonal similarity of the map). A toy map with two planted blocks:

# %%
# NBVAL_CHECK_OUTPUT
planted = np.full((8, 8), 0.3)
planted[:3, :3] = planted[3:, 3:] = 0.9
np.fill_diagonal(planted, 1.0)
print("blocks:", detect_blocks(planted))
print("with threshold 0.2:", detect_blocks(planted, threshold=0.2))

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
def draw(metric: str, k: int | None = None) -> None:
    """One heat map per model (rows) and state (columns), blocks outlined."""
    fig, axes = plt.subplots(len(MODELS), len(STATES), figsize=(3.3 * len(STATES), 3.0 * len(MODELS)),
                             squeeze=False)
    for i, name in enumerate(MODELS):
        for j, state in enumerate(STATES):
            sim = results[name][state]
            M = sim.matrix(metric, k)
            blocks = detect_blocks(M) if (metric == "mutual_knn" and k not in (None, sim.knn_k)) \
                else sim.blocks[metric]
            heatmap_with_blocks(axes[i, j], M, blocks, vmin=0, vmax=1, cbar=j == len(STATES) - 1,
                                title=f"{name} / {state}", tick_step=2)
    label = f"mutual {k or first.knn_k}-NN" if metric == "mutual_knn" else metric
    fig.suptitle(f"{label} between layers ({P.name} profile)")
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
# ## The blocks, and how sure we are
#
# The blocks each metric finds (layer ranges, end exclusive), and the CKA between the first and the
# last transformer block with a 95 % interval over utterances (half-sampling within batches, see
# `similarity.bootstrap_similarity`).

# %%
rows = []
for name in MODELS:
    for state in STATES:
        sim = results[name][state]
        L = sim.matrix("cka").shape[0] - 1
        ci = similarity.bootstrap_similarity(sim.stats, "cka", n_boot=A.bootstrap, seed=0, layers=[1, L])
        rows.append({
            "model": name, "state": state,
            "CKA blocks": sim.blocks["cka"], "cosine blocks": sim.blocks["cosine"],
            "k-NN blocks": sim.blocks["mutual_knn"],
            f"CKA(1, {L})": f"{ci.estimate[0, 1]:.2f} [{ci.low[0, 1]:.2f}, {ci.high[0, 1]:.2f}]",
            "min adjacent CKA": f"{np.diag(sim.matrix('cka'), 1)[1:].min():.2f}",
        })
pd.DataFrame(rows)

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
# 3. `detect_blocks` takes a `threshold`. Sweep it from 0.5 to 0.95 on the CKA map of a fine-tuned
#    model. For which range does the block structure stay the same? What does that say about how
#    "blocky" the map is?
