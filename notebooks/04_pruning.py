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
# # Pruning without post-training: which blocks can go?
#
# Claim C2 of the paper: delete whole transformer blocks from a fine-tuned model, stitch the rest
# together, retrain nothing, and the model keeps **over 95 % of its accuracy with 25-42 % of the
# blocks gone** when the blocks are chosen by their *block influence* (BI or kNN-BI); removing from
# the end (*backward*) or from the start (*forward*) works only while part of every similarity block
# remains. This chapter runs that experiment on our models.
#
# **Orders** (block numbers are 1-based as in the paper; block 1 is never pruned):
#
# - `forward`: blocks 2, 3, ...; `backward`: blocks L, L-1, ... (the paper's);
# - `bi`: lowest block influence first, $\mathrm{BI}(i) = 1 - S_{\cos}(h_{i-1}, h_i)$ between the
#   input and the output of block $i$ (ShortGPT's rule, the paper's); `knn-bi`: the same with mutual
#   k-NN, $k = 8$ (the paper's);
# - our additions: `random` (a few random orders: a baseline any rule must beat), `block-aware`
#   (removes layers inside the similarity blocks of the k-NN map, keeping part of every block as long
#   as possible) and `greedy` (at each step the block whose removal costs least on validation clips:
#   an empirical upper bound for orders fixed in advance, at the price of about $L^2/2$ trial prunings).
#
# Orders that look at data (BI, kNN-BI, block-aware, greedy) choose on **validation clips**, never on
# the test clips they are scored on. Similarities are centred, as in the similarity chapter.
# Accuracy is on the task's test split (the mini profile: a fixed random subset of it, the same
# clips for every order and depth, to fit the book's time budget; the paper profile: all of it), for
# every number of removed blocks, for every fine-tuning seed; bands are the 2.5-97.5 % quantiles over runs (fine-tuning seeds, and order seeds for
# `random`), as the paper's 5 runs. The speakers task is our extension (the paper prunes the words
# model only).

# %% tags=["parameters"]
profile = None  # None: $REDUNDANCY_PROFILE, else "mini"
device = "auto"
tasks = None  # None: every task of the profile, e.g. ["words"]
seeds = None  # None: the profile's fine-tuning seeds, e.g. [0]

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from redundancy import cache, parallel, paths, pipeline, prune_sweep
from redundancy.config import load_profile, resolve_device, task_seeds
from redundancy.plots import ORDER_STYLE, heatmap_with_blocks, pruning_curves
from redundancy.quality import model_quality

P = load_profile(profile)
DEVICE = resolve_device(device)
A = P.analysis
MODELS = pipeline.model_names(P)
TASKS = list(tasks or P.finetune.tasks)
SEEDS = {task: list(seeds or task_seeds(P.finetune, task)) for task in TASKS}
print(f"profile={P.name} device={DEVICE} models={MODELS} tasks={TASKS} fine-tuning seeds={SEEDS}")
print(f"orders={list(A.prune_orders)}; random orders per model: {A.prune_random_orders}; "
      f"selection clips: {A.prune_select_clips} (greedy scores on {A.prune_greedy_clips}); "
      f"test clips per model: {'all' if A.prune_test_clips is None else A.prune_test_clips}")

# %% [markdown]
# ## The sweeps
#
# Each fine-tuned model runs once over the validation clips (for the data-driven orders) and once
# over the test clips per batch; every pruned model then starts from the cached input of its first
# removed block, and models that share removed blocks share the states before them
# (`redundancy.prune_eval`). Results are cached per model, so a rerun is free. On a CPU the models
# are swept side by side, one worker process of one thread per core (`redundancy.parallel`: about
# 1.36 times the throughput of one process on this 2-core machine); nothing here is timed.

# %%
root = pipeline.corpus_root(P)
jobs = [(name, task, seed) for name in MODELS for task in TASKS for seed in SEEDS[task]]
found = parallel.map_in_processes(prune_sweep.sweep_published, [(P, *job, DEVICE) for job in jobs],
                                  jobs=parallel.worker_count(DEVICE), desc="pruning sweeps")
sweeps: dict[str, dict[str, list]] = {}
for (name, task, seed), sweep in zip(jobs, found):
    sweeps.setdefault(name, {}).setdefault(task, []).append(sweep)
results = prune_sweep.pruning_results(P.name, sweeps)
work = pd.DataFrame([{"model": n, "task": t, "seed": s, "seconds": sw["seconds"], **sw["work"]}
                     for n, ts in sweeps.items() for t, runs in ts.items() for s, sw in zip(SEEDS[t], runs)])
print(f"blocks run: {work.blocks_run.sum()} (+ {work.greedy_blocks_run.sum()} for greedy on validation) "
      f"instead of {work.blocks_rebuild.sum()} when every pruned model is rebuilt and rerun "
      f"({work.blocks_rebuild.sum() / work.blocks_run.sum():.1f}x fewer); sweep time when computed, summed "
      f"over the workers: {work.seconds.sum():.0f} s")

# %% [markdown]
# ## Are the models worth pruning?
#
# A model near chance has nothing to lose: its curves would say nothing about redundancy. Every
# chapter applies one rule (`redundancy.quality`): a model below twice the chance level *failed*
# its task and is left out of the conclusions below (its curves are still drawn); a model that
# learned but stays below 0.5 is *weak*: its curves are real, but "keeps 95 % of the accuracy" of a
# weak model is not comparable with the paper's teachers (0.97-0.99).

# %%
rows = []
for name in MODELS:
    for task in TASKS:
        r = results["models"][name][task]
        rows.append({"model": name, "task": task, "blocks": r["n_layers"], "seeds": r["n_seeds"],
                     "unpruned accuracy": round(r["unpruned_accuracy"], 3),
                     "per seed": [round(a, 3) for a in r["unpruned_accuracy_seeds"]],
                     "chance": round(r["chance_uniform"], 3),
                     "quality": model_quality(r["unpruned_accuracy"], round(1 / r["chance_uniform"]))})
models_quality = pd.DataFrame(rows)
QUALITY = {(row.model, row.task): row.quality for row in models_quality.itertuples()}
models_quality

# %% [markdown]
# ## Accuracy as blocks go
#
# One panel per model: test accuracy against the fraction of blocks removed, mean over runs with the
# 2.5-97.5 % band, the chance level (dotted) and 95 % of the unpruned accuracy (dashed).


# %%
def draw(task: str) -> None:
    fig, axes = plt.subplots(1, len(MODELS), figsize=(4.2 * len(MODELS), 3.4), squeeze=False, sharey=True)
    for ax, name in zip(axes[0], MODELS):
        flag = {"failed": " (failed its task)", "weak": " (weak)"}.get(QUALITY[(name, task)], "")
        pruning_curves(ax, results["models"][name][task], title=f"{name} / {task}{flag}")
    axes[0, -1].legend(fontsize=7, loc="lower left")
    fig.suptitle(f"pruning without post-training, {task} ({P.name} profile)")
    fig.tight_layout()
    plt.show()


for task in TASKS:
    draw(task)

# %% [markdown]
# ## How many blocks can go?
#
# The most blocks removable while *every* smaller depth keeps 95 % (and 50 %, the threshold of the
# paper's Fig. 2c) of the mean unpruned accuracy, per order. The paper's numbers are for the real
# 12-block base models (24 for large) on the words task: at 95 %, BI or kNN-BI remove 25-42 % of the
# blocks (3-5 of 12); at 50 % (forward / backward / kNN-BI) wav2vec2-base 5 / 2 / 4 and WavLM-base
# 6 / 3 / 6.

# %%
PAPER_50 = {"wav2vec2": {"forward": 5, "backward": 2, "knn-bi": 4},
            "wavlm": {"forward": 6, "backward": 3, "knn-bi": 6}}
rows = []
for name in MODELS:
    for task in TASKS:
        r = results["models"][name][task]
        for order, entry in r["orders"].items():
            paper = PAPER_50.get(name, {}).get(order) if task == "words" else None
            rows.append({"model": name, "task": task, "order": order,
                         "at 95 %": entry["max_removed_at_95"],
                         "at 95 % (fraction)": round(entry["max_removed_at_95"] / r["n_layers"], 2),
                         "at 50 %": entry["max_removed_at_50"],
                         "paper at 50 % (base model)": "" if paper is None else paper,
                         "model quality": QUALITY[(name, task)]})
removable = pd.DataFrame(rows)
removable.pivot_table(index=["task", "model"], columns="order", values="at 95 %", aggfunc="first")

# %%
removable

# %% [markdown]
# ## Which blocks went: the paper's Fig. 2c view
#
# The mutual k-NN map ($k = 8$, validation clips, the first fine-tuning seed) of the transformer
# blocks, with the similarity blocks the rule of the similarity chapter finds (white squares; none
# when the map has no block structure), and for each order the blocks it has removed when the
# accuracy last stays above 50 % of the unpruned one.

# %%
SHOWN = ("forward", "backward", "knn-bi")
MARKERS = {"forward": "o", "backward": "s", "knn-bi": "^"}
for task in TASKS[:1]:
    fig, axes = plt.subplots(1, len(MODELS), figsize=(4.2 * len(MODELS), 4.0), squeeze=False)
    for ax, name in zip(axes[0], MODELS):
        first = sweeps[name][task][0]
        knn = np.asarray(first["selection"]["knn_map"])
        blocks = [(a - 1, b) for a, b in first["selection"]["blocks"]] if first["selection"]["blocks_significant"] else []
        heatmap_with_blocks(ax, knn, blocks, vmin=0, vmax=1, cbar=False, first_label=1,
                            title=f"{name} / {task}")
        r = results["models"][name][task]
        for offset, order in enumerate(o for o in SHOWN if o in r["orders"]):
            entry = r["orders"][order]
            gone = entry["removed"][:entry["max_removed_at_50"]]
            ax.scatter([b - 1 + 0.5 for b in gone], [b - 1 + 0.2 + 0.3 * offset for b in gone],
                       marker=MARKERS[order], s=18, color=ORDER_STYLE[order]["color"],
                       edgecolor="white", linewidth=0.5, label=ORDER_STYLE[order]["label"], zorder=3)
        ax.set_xlabel("transformer block")
        ax.set_ylabel("transformer block")
    axes[0, -1].legend(fontsize=7, loc="upper right", title="removed at 50 %", title_fontsize=7)
    fig.tight_layout()
    plt.show()

# %% [markdown]
# ## What the orders look at
#
# The block influence of every block under both similarities (validation clips, first seed): the
# paper's rules remove the blocks that change their input least.

# %%
rows = []
for name in MODELS:
    for task in TASKS:
        sel = sweeps[name][task][0]["selection"]
        for b, (c, k) in enumerate(zip(sel["adjacent_cosine"], sel["adjacent_knn"]), start=1):
            rows.append({"model": name, "task": task, "block": b, "BI (cosine)": round(1 - c, 3),
                         "kNN-BI": round(1 - k, 3)})
influence = pd.DataFrame(rows)
influence.pivot_table(index="block", columns=["task", "model"], values="kNN-BI")

# %% [markdown]
# ## The results file
#
# `results/<profile>/pruning.json`: per model and task, the removal order of every order (1-based
# block numbers), the accuracy at every depth (mean over runs, and every run), the bands, the
# relative accuracy and the thresholds. The scorecard reads it.

# %%
out = paths.results_dir(P.name) / "pruning.json"
cache.atomic_write_json(out, results)
print(f"wrote {out.name}: {len(MODELS)} models x {len(TASKS)} tasks, seeds {SEEDS}")

# %% [markdown]
# ## Exercises
#
# 1. **Your own order.** Pick an order from the maps above (for example: two blocks from the middle
#    of the first similarity block, then one from the second) and score it with
#    `prune_sweep.evaluate_order(pipeline.model_dir(P, MODELS[0], "words", DEVICE), "words", [5, 6, 10], P,
#    corpus_root=root, device=DEVICE)`. Does it beat kNN-BI at the same depth? Does it beat greedy?
# 2. `greedy` is scored on validation clips and then tested: how far is it from the best of the fixed
#    orders at 95 %? What does the gap say about how much a smarter rule could still gain?
# 3. The paper says backward and forward collapse "once either block is gone". Read the depth at
#    which each collapses off the curves and compare it with the sizes of the similarity blocks.
# 4. Change `A.prune_random_orders` (via `dataclasses.replace`) to 10. How wide is the random band,
#    and is kNN-BI outside it?
