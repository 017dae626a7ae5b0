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
# # Mimicking networks: replacing the whole transformer stack
#
# If the blocks of a fine-tuned model mostly repeat each other (the similarity chapter), could one
# or two small layers do the work of all of them? The paper (§2.3) trains such **mimicking layers**
# on the output of the teacher's CNN encoder and feature projection, and claims (C3-C5) that the
# network then shrinks by **95-98 %**, runs up to **94 %** faster, and that most models keep **over
# 95 %** of their accuracy.
#
# A mimicking layer is shared over frames and is one of two types:
# - **linear**: Linear(d → z) → LayerNorm → ReLU → Linear(z → d), frame by frame (no mixing over time);
# - **transformer**: PyTorch's `TransformerEncoderLayer(d, nhead=8, dim_feedforward=z)`.
#
# With **1 layer** it mimics the teacher's last layer; with **2 layers** the first mimics the last
# layer of the first similarity block and the second the last layer. Training has two stages:
# 1. **stage 1**: mean squared error to the teacher's representations, Adam at a fixed learning rate
#    of 1e-3, batch 128, the checkpoint with the lowest loss on validation clips kept;
# 2. **stage 2** (adaptation): mimicker and head (initialised from the teacher's head) trained together
#    with the task's loss (NLL); the checkpoint with the best validation accuracy kept.
#
# The CNN encoder and the feature projection come from the teacher and are never trained, so both
# stages run on their cached output: the teacher is run once per clip. Three controls tell what the
# numbers mean: the **non-mimicker** (the same small network from random weights, stage 2 only), the
# **head alone** on the feature projection (no transformer, no mimicker: the paper's 79 %), and,
# ours, **stage 1 only** (the teacher's head on the distilled representation, nothing fine-tuned:
# how well the representation itself is reproduced).

# %% tags=["parameters"]
profile = None  # None: $REDUNDANCY_PROFILE, else "mini"
device = "auto"
full_grid = False  # True: every type x layers x width of the profile (the paper's 12 variants)
tasks = ["words"]  # add "speakers" for our extension (about as long again)

# %%
import dataclasses

import matplotlib.pyplot as plt
import pandas as pd

from redundancy import mimicking, pipeline
from redundancy.architectures import build_random, real_config
from redundancy.cache import atomic_write_json
from redundancy.config import load_profile, resolve_device
from redundancy.mimic import mimic_model
from redundancy.paths import results_dir
from redundancy.recorded import recorded_study
from redundancy.size import count_parameters

P = load_profile(profile)
DEVICE = resolve_device(device)
M = P.mimic
GRID = M.grid() if not full_grid else dataclasses.replace(M, variants=()).grid()
MODELS = pipeline.model_names(P)
SEED = M.seeds[0]
print(f"profile={P.name} device={DEVICE} models={MODELS} tasks={tasks} teacher seed={SEED}")
print(f"stage 1: {M.stage1_epochs} epochs, stage 2: {M.stage2_epochs} epochs, batch {M.batch_size}, "
      f"lr {M.learning_rate}, validation clips <= {M.val_clips}, train clips <= {M.max_train_clips or 'all'}")
print("mimickers (type, layers, z):", GRID)
print("non-mimicker controls:", list(M.non_mimicker))

# %% [markdown]
# ## Our schedule, and where it departs from the paper's
#
# The paper trains all 12 variants (2 types x 1-2 layers x z ∈ {32, 768, 4096}) for 50 + 30 epochs
# on four real models (wav2vec2 and WavLM, base and large). That is the `paper` profile here. The book executes this chapter on one CPU
# core within a few minutes, so the **mini** profile
# - keeps the paper's widths *in ratio* to the mini width d = 96: z ∈ {32, 96, 512} (32, d, about 5.3 d);
# - trains five of the twelve variants (all three widths of the 1-layer linear type, the 2-layer
#   linear and the 1-layer transformer at z = 32), and the non-mimicker control for one of them; the
#   full grid is one parameter away (`full_grid=True`);
# - trains **3 + 2 epochs** instead of 50 + 30, still keeping the best validation checkpoint of each
#   stage, on a fixed random 2,000 of the train clips, and validates on the whole mini validation
#   split when it is smaller than the paper's 1,024 clips;
# - mimics the teacher fine-tuned with seed 0 of each family (the baselines chapter trains more
#   seeds; one is what the budget allows);
# - runs the words task only, the paper's one task; the speakers task (our extension, not in the
#   paper) runs with `tasks=["words", "speakers"]`, with the same settings.
#
# So short a schedule leaves every network short of what it would reach: the differences between
# networks below are those of this schedule, not of converged training (the stage-1 curves show
# how far from flat they are, and the section "Is it the schedule?" how much longer ones add).

# %% [markdown]
# ## Train every network on every teacher
# On a CPU the networks train side by side, one worker process of one thread per core
# (`redundancy.parallel`), each teacher's networks in two parts so that three teachers keep two
# cores busy (`mimicking.train_teachers`); the networks are timed afterwards, one teacher at a time,
# since a timing taken while another process computes moves by up to about 10 %
# (`benchmarks/notebook_parallelism.py`).

# %%
runs = mimicking.train_teachers(P, MODELS, tasks=tasks, seed=SEED, device=DEVICE, variants=GRID)
for run in runs:
    mimicking.time_teacher_run(run, P, DEVICE)
    flag = "  TEACHER FAILED ITS TASK (redundancy.quality): relative accuracies mean nothing" if run.near_chance else ""
    print(f"{run.name}/{run.task}: teacher accuracy {run.teacher_accuracy:.3f}, 2-layer targets {run.layers} "
          f"({run.layer_note}){flag}")

# %% [markdown]
# ## The table, in the shape of the paper's Tables 1-4
#
# Parameters of the whole remaining network (CNN encoder, feature projection, mimicker, head), time
# per clip (batch 1, after warm-up) normalised to the teacher's on the run's device (the book's run:
# one CPU thread), test accuracy, and accuracy relative to the teacher's.

# %%
table = mimicking.table(runs)
table.style.format({"params": "{:,.0f}", "time_normalised": "{:.3f}", "accuracy": "{:.3f}",
                    "relative_accuracy": "{:.3f}"}).hide(axis="index")

# %% [markdown]
# ## Accuracy against size and against time (the paper's Fig. 3 view)
#
# One panel per model: every network's test accuracy against its parameters (left) and its
# normalised time (right), the teacher as a star. The dotted line is 95 % of the teacher's accuracy.
# A pruned reference point belongs here once the pruning chapter's results exist.

# %%
MARKERS = {"mimicker": "o", "non-mimicker": "s", "head-only": "X", "stage1-only": "v"}


def tradeoff(ax: plt.Axes, rows: pd.DataFrame, x: str, teacher: pd.Series) -> None:
    """Accuracy against ``x`` for every network of one model, the teacher as a star."""
    for network, part in rows.groupby("network"):
        for _, r in part.iterrows():
            label = f"{r['type'][0].upper()}{r['layers']} z{r['z']}" if r["layers"] else "head only"
            ax.scatter(r[x], r["accuracy"], marker=MARKERS[network], s=45,
                       color=f"C{list(MARKERS).index(network)}", label=network)
            ax.annotate(label, (r[x], r["accuracy"]), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.scatter(teacher[x], teacher["accuracy"], marker="*", s=160, color="k", label="teacher")
    ax.axhline(0.95 * teacher["accuracy"], color="k", ls=":", lw=1)


fig, axes = plt.subplots(len(runs), 2, figsize=(12, 3.6 * len(runs)), squeeze=False)
for i, run in enumerate(runs):
    own = table[(table.model == run.name) & (table.task == run.task)]
    rows, teacher = own[own.network != "original"], own[own.network == "original"].iloc[0]
    tradeoff(axes[i, 0], rows, "params", teacher)
    tradeoff(axes[i, 1], rows, "time_normalised", teacher)
    axes[i, 0].set(xscale="log", xlabel="parameters (log scale)", ylabel=f"{run.name}/{run.task}: test accuracy")
    axes[i, 1].set(xlabel="time per clip, normalised to the teacher (CPU, batch 1)")
handles, labels = axes[0, 0].get_legend_handles_labels()
unique = dict(zip(labels, handles))
fig.legend(unique.values(), unique.keys(), loc="upper center", ncol=len(unique), fontsize=8)
fig.tight_layout(rect=(0, 0, 1, 0.97))

# %% [markdown]
# ## The best mimicker per model

# %%
best = []
for run in runs:
    mim = [n.record for n in run.networks if n.record["network"] == "mimicker"]
    top = max(mim, key=lambda r: r["accuracy"])
    head = next(n.record for n in run.networks if n.record["network"] == "head-only")
    best.append({"model": run.name, "task": run.task, "teacher": run.teacher_accuracy, "near chance": run.near_chance,
                 "best mimicker": f"{top['type']} {top['layers']} layer(s), z={top['z']}",
                 "accuracy": top["accuracy"], "relative accuracy": top["relative_accuracy"],
                 "size reduction": 1 - top["params"] / top["params_full"],
                 "time reduction (CPU)": 1 - top["time_normalised"],
                 "head only, relative": head["relative_accuracy"]})
best = pd.DataFrame(best).set_index(["model", "task"])
best.round(3)

# %% [markdown]
# ## How training went
#
# Stage 1 validation loss (MSE to the teacher's layers, summed over the mimicking layers) per epoch;
# epoch 0 is the untrained mimicker. A falling curve that has not flattened says more epochs would
# still help.

# %%
fig, axes = plt.subplots(1, len(runs), figsize=(4.2 * len(runs), 3.2), squeeze=False)
for ax, run in zip(axes[0], runs):
    for net in run.networks:
        r = net.record
        if r["network"] == "mimicker":
            hist = pd.DataFrame(r["stage1"]["history"])
            ax.plot(hist.epoch, hist.val_loss, marker=".", label=f"{r['type'][0].upper()}{r['layers']} z{r['z']}")
    ax.set(title=f"{run.name}/{run.task}", xlabel="stage 1 epoch", ylabel="validation MSE", yscale="log")
axes[0, -1].legend(fontsize=7)
fig.tight_layout()

# %% [markdown]
# ## What the mimicker reproduces
#
# Linear CKA between the distilled representation (stage 1 only) and every layer of the teacher, on
# the similarity chapter's clips. A 1-layer mimicker is trained on the last layer only; the curve
# shows whether it also lands near the layers of the last block; the dashed grey line is the same
# for its input (layer 0), the starting point the mimicker has to move away from.

# %%
reproduced = {f"{run.name}/{run.task}": mimicking.reproduction(run, P, "stage1-only", device=DEVICE) for run in runs}
fig, axes = plt.subplots(1, len(runs), figsize=(4.2 * len(runs), 3.2), squeeze=False, sharey=True)
for ax, run in zip(axes[0], runs):
    for key, values in reproduced[f"{run.name}/{run.task}"].items():
        style = dict(color="gray", ls="--") if key.startswith("input") else dict(marker=".")
        ax.plot(range(len(values)), values, label=key, **style)
    ax.set(title=f"{run.name}/{run.task}", xlabel="teacher layer (0 = feature projection)", ylabel="linear CKA", ylim=(0, 1.02))
axes[0, -1].legend(fontsize=7)
fig.tight_layout()

# %% [markdown]
# ## Size and time on the paper's real architectures
#
# Size and time do not depend on the weights, so every variant is built on the exact real
# architectures with random weights and the 35-word head. First the parameter counts of the smallest
# variant (1 linear layer, z = 32) next to the paper's Tables 1 and 2: they agree to the parameter.

# %%
# NBVAL_CHECK_OUTPUT
for hub in ("facebook/wav2vec2-base", "facebook/wav2vec2-large"):
    full = build_random(real_config(hub), num_labels=35, device="meta")
    ours = count_parameters(mimic_model(full, hidden=32, stages=1, kind="linear"))
    paper = mimicking.PAPER_TABLES[hub][("linear", 1, 32)]["params"]
    print(f"{hub}: {count_parameters(full):,} -> {ours:,} parameters (paper {paper:,}), "
          f"size reduction {1 - ours / count_parameters(full):.1%}")

# %% [markdown]
# Then every variant's parameters and time per clip on this CPU (one thread, one clip at a time, after
# warm-up, the repeats of all variants interleaved), normalised to the full model. The paper timed on
# a GPU; on a CPU the CNN encoder, which every mimic model keeps, is a larger share of the time (see
# the timing chapter), so expect larger normalised times than the paper's 0.06-0.16.

# %%
real = mimicking.real_architecture_costs(P, device="cpu")
real_rows = []
for hub, rows in real.items():
    for r in rows:
        paper = mimicking.PAPER_TABLES.get(hub, {}).get((r["type"], r["layers"], r["z"]), {})
        real_rows.append({"architecture": hub, **{k: r[k] for k in ("type", "layers", "z", "params", "params_full",
                                                                    "time_normalised_cpu")},
                          "paper params": paper.get("params"), "paper time (GPU)": paper.get("time_normalised")})
real_table = pd.DataFrame(real_rows)
real_table.style.format({"params": "{:,.0f}", "params_full": "{:,.0f}", "time_normalised_cpu": "{:.3f}",
                         "paper params": "{:,.0f}", "paper time (GPU)": "{:.3f}"}, na_rep="").hide(axis="index")

# %%
doc = mimicking.mimicking_results(P, runs, real, reproduced)
out = results_dir(P.name) / "mimicking.json"
atomic_write_json(out, doc)
print("wrote", out.name)

# %% [markdown]
# ## Is it the schedule?
# The mini schedule is far shorter than the paper's. `benchmarks/mimic_schedule.py` trains the two
# best mimickers of the mini run on one teacher (wav2vec2, words, seed 0) with the mini schedule, with
# the same epochs on every train clip, and with five times the epochs on every clip
# (`redundancy.mimic_schedule`, one CPU thread). Each cell is the accuracy relative to the teacher;
# the seconds include extracting the teacher's layers for a new set of clips. The study is recorded,
# not rerun here: its teacher is the words model published when it ran (the line above gives its
# accuracy; until 2026-12-07 words trained for 3 epochs of batch 32), not necessarily today's.

# %%
from redundancy.mimic_schedule import schedule_table

study = recorded_study(P.name, "mimic_schedule_study.json", what="schedule study",
                       writer="benchmarks/mimic_schedule.py")
if study is not None:
    print(f"teacher: {study['model']}/{study['task']} seed {study['seed']}, accuracy {study['teacher_accuracy']:.3f}")
    schedules = schedule_table(study)
    display(schedules.round(3))
    first, last = schedules.iloc[0], schedules.iloc[-1]
    for network in schedules.columns:
        print(f"{network}: {first[network]:.2f} -> {last[network]:.2f} of the teacher's accuracy")

# %% [markdown]
# Read it against the paper: its mimickers keep over 95 % of the teacher's accuracy and its head alone
# 79 %. In the mini world, more clips and more epochs move every network a long way towards those
# numbers, and five times the epochs still add to what all the clips gave (longer schedules were not
# tried). So most of the gap between the mini run's
# mimickers and the paper's (claim C5 in the scorecard) comes from the short schedule this chapter
# affords on a CPU, not from the mini models: it is a verdict on the schedule. The longest schedule
# costs several minutes of one core per teacher for two variants (the seconds column, plus the
# teacher's layers), the whole grid several times more; the paper profile on a GPU runs the paper's
# 50 + 30 epochs.

# %% [markdown]
# ## Reading the results
#
# - **Size (C3)** is exact and hardware-free: the real-architecture counts above are the paper's,
#   to the parameter, and the smallest mimic models are 95 % (base) and 98 % (large) smaller.
# - **Time (C4)** on this CPU is bounded by the CNN encoder that every mimic model keeps; the paper's
#   GPU numbers are smaller. `benchmarks/gpu_timing.sh` measures the timing chapter's models on a GPU.
# - **Accuracy (C5)** in the mini world: compare each mimicker with the three controls. If the
#   non-mimicker matches the mimicker, stage 1 added little beyond a good initialisation; if the head
#   alone is far below both, the mimicking layer's non-linearity matters (the paper: 79 % for the
#   head alone); the stage-1-only row says how much of the teacher's accuracy the distilled
#   representation carries before any fine-tuning. Models flagged near chance are shown, not
#   interpreted.
# - **Reproduction**: where the dashed input line is itself close to 1, the teacher's transformer
#   changes the clips' arrangement little in CKA terms, and a high CKA of the mimicker says little on
#   its own; the accuracy rows decide.
# - The mini schedule (3 + 2 epochs, five variants) is far shorter than the paper's; the paper
#   profile runs the full schedule unchanged.

# %% [markdown]
# ## Exercises
#
# 1. Rerun with `full_grid=True` (about four times longer). Do two layers beat one, as the paper
#    found they do not? Does the transformer type beat the linear one at equal width?
# 2. Double `stage1_epochs` with `dataclasses.replace(P.mimic, stage1_epochs=6)` (and
#    `dataclasses.replace(P, mimic=...)`). Which rows move most: stage 1 only, or the mimicker after
#    stage 2?
# 3. The 2-layer variant's first target is the end of the first similarity block. Pass a different
#    layer to `mimicking.teacher_data` and train by hand with `redundancy.distill`: does the choice
#    matter?
# 4. With `mimicking.standalone(run, i, P)` build one trained network as a standalone model, save it
#    with `save_pretrained`, reload it with `MimicModel.from_pretrained` and classify a clip of the
#    test split.
