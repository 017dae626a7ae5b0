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
# # Fine-tuned baselines
#
# Pruning "without post-training" and mimicking layers are measured against fine-tuned models. As
# the authors did, every pre-trained backbone gets the standard Hugging Face audio-classification
# head (`projector` Linear(D → 256), mean over frames, `classifier` Linear(256 → classes)) and is
# fine-tuned with the `Trainer` on two tasks, the whole model trains, CNN feature encoder included
# (our choice: the paper does not say which parts it froze; the usual Hugging Face recipe freezes the
# CNN, and the study at the end of the margins section says why this book does not):
#
# * **words**: the 35 words of Speech Commands v0.02, with the dataset's own validation/test lists
#   (the paper's only task);
# * **speakers** (our extension, from the authors' sister paper): speaker identification on the
#   *train* split, speakers with enough utterances, their clips split 90/10 with seed 42; we take a
#   validation tenth out of the 90 % for model selection.
#
# The paper fine-tunes once and then analyses; so does this book. `make models` trained these models
# (words with three seeds, as the later chapters report mean and spread over seeds; speakers with
# one) and published them in `models/mini/`; this chapter reads them. Two controls say what
# pre-training is worth: the same architecture fine-tuned on words from random initialisation, once
# with its CNN trained like the pre-trained runs (the like-for-like comparison) and once with its
# random CNN frozen (what an untrainable front end costs).

# %% tags=["parameters"]
profile = None  # None: $REDUNDANCY_PROFILE, else "mini"
device = "auto"
retrain = False  # True: train and publish the models here (`make models` does the same)

# %%
import dataclasses

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from IPython.display import display

from redundancy import publish
from redundancy.baselines import (ACCURACY_TARGETS, baselines_table, confusion_matrix, convergence_table,
                                  front_end_projection_table, front_end_runs_table, front_end_step_table,
                                  margin_sentence, partial_freeze_table, published_report, recipe_label, recipe_study_table,
                                  recorded_family_recipe,
                                  recorded_set_differences, regularisation_study_table, schedule_scenario_table,
                                  short_schedule_table, trainable_cnn_table, bf16_step_table, set_change_table,
                                  training_curves, write_baselines)
from redundancy.commands import WORDS
from redundancy.config import load_profile, resolve_device
from redundancy.learnability import learnability_table
from redundancy.paths import display_path
from redundancy.recorded import recorded_study
from redundancy.probe import probe_sentence, probe_summary
from redundancy.quality import quality_note

P = load_profile(profile)
DEVICE = resolve_device(device)
cfg = P.finetune
rates = f"swept from {cfg.lr_candidates}" if cfg.lr_candidates else cfg.learning_rate
print(f"profile={P.name} device={DEVICE} backbone lr {rates}, head x{cfg.head_lr_multiplier:g}, seeds={cfg.seeds}")
for task in cfg.tasks:  # a task may have its own schedule (Profile.task_finetune)
    own = P.finetune_for(task)
    print(f"  {task}: epochs={own.epochs:g}, batch={own.batch_size}, lr {own.learning_rate if 'learning_rate' in P.task_changes(task) else rates}, "
          f"CNN {'frozen' if own.freeze_feature_encoder else 'trained'}, head pools the frames' {own.pooling}, "
          f"validation passes={own.evaluations}, mixed precision {own.mixed_precision}")
    for family, family_task, changes in P.family_task_finetune:  # and a family its own changes to it
        if family_task == task:
            print(f"    {family}: " + ", ".join(f"{name}={value}" for name, value in changes))

# %% [markdown]
# ## The published models
# Each folder is checked against the profile's recipe and its weights' hash before it is read; the
# test accuracy in its `metrics.json` was measured from the stored (float16) weights.

# %%
if retrain or P.model.source == "train":
    from redundancy.make_models import make_models

    make_models(P, device=DEVICE)
report = published_report(P)
print("wrote", display_path(write_baselines(report)))
table = baselines_table(report)
table.style.format({c: "{:.3f}" for c in ("accuracy", "seed 0", "min seed", "max seed", "ci95 low", "ci95 high", "chance")}
                   | {"train s": "{:.0f}"})

# %% [markdown]
# ## Accuracy: bars at the mean over seeds, each seed a dot, the 95 % bootstrap interval of seed 0
# around seed 0's accuracy

# %%
tasks = list(dict.fromkeys(table["task"]))
fig, axes = plt.subplots(1, len(tasks), figsize=(6 * len(tasks), 4), squeeze=False)
for ax, task in zip(axes[0], tasks):
    rows = table[table["task"] == task].reset_index(drop=True)
    labels = [m if i == "pre-trained" else f"{m}\n{i}" for m, i in zip(rows["model"], rows["init"])]
    colors = [sns.color_palette("deep")[0] if i == "pre-trained" else "0.7" for i in rows["init"]]
    ax.bar(range(len(rows)), rows["accuracy"], color=colors)
    ax.errorbar(range(len(rows)), rows["seed 0"], fmt="none", ecolor="k", capsize=3,
                yerr=[rows["seed 0"] - rows["ci95 low"], rows["ci95 high"] - rows["seed 0"]])
    for i, (name, init) in enumerate(zip(rows["model"], rows["init"])):
        if init == "pre-trained":
            seeds = report["models"][name][task]["seeds"]
            ax.plot([i] * len(seeds), seeds, "o", color="k", ms=3)
    ax.axhline(rows["chance"].iloc[0], color="k", ls="--", lw=1, label="chance")
    ax.set_xticks(range(len(rows)), labels, fontsize=7)
    ax.set(ylim=(0, 1), title=f"task: {task}", ylabel="test accuracy")
    ax.legend(loc="upper right")
fig.tight_layout()

# %% [markdown]
# ## What pre-training is worth
# The seed-0 pre-trained model against each control on the same test clips: the difference in
# accuracy with a paired bootstrap 95 % interval. "Clearly above" means the interval excludes zero.

# %%
margins = pd.DataFrame(report["pretraining_margins"])
if margins.empty:
    print("no controls published for this profile")
else:
    for row in report["pretraining_margins"]:
        print(margin_sentence(row))
    margins["margin ci95"] = [f"[{low:+.3f}, {high:+.3f}]" for low, high in margins["margin ci95"]]
    display(margins.round(3))

# %% [markdown]
# How to read the two controls. The control whose **CNN trains** trains exactly the parameters the
# pre-trained runs train: its margin is what pre-training is worth, and in the mini world it is a
# few points, since a front end trained on the 35 words learns much of what a few minutes of
# self-supervised pre-training on synthetic speech put into the CNN. Against the **frozen random
# CNN**, pre-training looks worth far more, but most of that gap is the cost of a front end that can
# never adapt.
#
# ## Why the CNN trains: the study behind the recipe
# The previous published set froze the CNN of the pre-trained runs (the usual Hugging Face recipe).
# Those models came out *behind* the random-init control whose CNN trains: a frozen pre-trained CNN
# was worse than a random one trained on the task. `benchmarks/pretrained_trainable_cnn.py` then
# fine-tuned each of those pre-trained backbones once more (words, seed 0, the family's swept rate,
# everything else the recipe of the time) with the CNN trainable, and compared it with both controls
# on the same test clips. The table is that study as recorded; its result (above both controls, and
# above 0.90) is why the published recipe now trains the CNN, at about twice the training time per
# run on a CPU.

# %%
cnn_study = recorded_study(P.name, "trainable_cnn_study.json", what="trainable-CNN study",
                           writer="benchmarks/pretrained_trainable_cnn.py")
if cnn_study is not None:
    display(trainable_cnn_table(cnn_study).round(3))

# %% [markdown]
# ### What training the CNN costs, and a cheaper way to train it
# On a CPU the CNN is about half of a training step: its lowest blocks see the 16 kHz signal, where
# most of the frames are (`benchmarks/finetune_step_profile.py` times one step of each family, one
# thread, side by side, at the batch of 32 that words then trained with). That is one reason
# `make models` overruns its 2-hour budget on 2 cores. Does the
# whole CNN need to train, or only its upper blocks? `benchmarks/partial_cnn_freeze.py` fine-tunes
# each published backbone on words once more (seed 0, everything else the published recipe) with
# the lowest three (then two) CNN blocks frozen and their outputs computed once
# (`FinetuneConfig.frozen_cnn_blocks`), and compares it with the published model of the same seed on
# the same test clips. Not published: the published recipe still trains the whole CNN.

# %%
freeze_study = recorded_study(P.name, "partial_cnn_freeze_study.json", what="partial-freeze study",
                              writer="benchmarks/partial_cnn_freeze.py")
step_profile = recorded_study(P.name, "finetune_step_profile.json")
if freeze_study is not None:
    display(partial_freeze_table(freeze_study, step_profile).round(3))
if step_profile is not None:
    for family, row in step_profile["families"].items():
        print(f"{family}: one training step of {step_profile['batch_size']} clips, one thread: "
              + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in row["variants_step_s"].items())
              + f"; the CNN's forward and backward {row['cnn_share']:.0%} of the plain step")

# %% [markdown]
# Freezing the three lowest blocks makes a step about twice as fast (the timings are noisy: the
# plain step, timed twice in the same run, differs by up to 8 %), and the runs track the published
# validation curves closely, but they end lower for every family: 1 to 2 points of words test
# accuracy, an interval that excludes zero for HuBERT and WavLM. That was as much as the margin of
# the pre-trained models over the control whose CNN trains at the time (2 to 3 points, with words at
# 3 epochs of batch 32), so the published recipe keeps training the whole CNN and pays for it in
# time: with that recipe `make models` took about 3.4 hours on 2 cores (measured run costs laid out on
# two workers, `benchmarks/make_models_time.py`, on the AMD EPYC), against about 2 with the lowest
# blocks frozen in every pre-trained run (estimated from these step times, at the accuracy costs
# above; the 30-epoch speakers runs are more than half of either). Time masks cost nothing per step;
# backbone dropout 0.1 costs 11-38 % more.
#
# Freezing only the two lowest blocks (almost the same step time as three) does not help HuBERT
# either: -0.018 [-0.029, -0.007], as with three, while wav2vec2 (+0.002 [-0.009, +0.013]) and WavLM
# (-0.006 [-0.015, +0.003]) lose nothing measurable (seed 0, run on the Intel machine beside other
# training). One family losing almost two points is enough to keep the whole CNN training.

# %% [markdown]
# ### Could shorter schedules fit `make models` into 2 hours?
# Issue 12 asks `make models` to take at most 2 hours on 2 cores. With words at 3 epochs of batch 32,
# the recipe published until 2026-12-07, it took about 3.4 (measured run costs laid out on two workers,
# the README says how); this study is what replaced that words recipe (the end of this section). The
# sections above tried to make a step cheaper (freezing CNN blocks, training windows); what is left is
# the number of epochs. The first table lays out `make models` with fewer epochs
# (`benchmarks/make_models_time.py --epochs ... --no-sweep`, a family's own as `family:task=epochs`,
# shown in brackets: each run's measured cost scaled by its
# epochs, since a step costs the same; "no sweep" takes the learning rates from the recorded sweep
# instead of sweeping again). Its hours are lower bounds, as above. The second table measures what
# such schedules cost (`benchmarks/short_schedule.py`: one family's published recipe for one task,
# seed 0 unless `--seed` names another, or a random-init control with `--control`, with only the
# epochs changed and as many validation passes per epoch, compared with the published model of the
# same seed on the same test clips; seconds of runs that resumed are left blank, since they count
# only the last stretch), and whether the shorter run still reaches the issue's
# target (words 0.90, speakers 0.80). Both tables are records. The scenarios come in one table per
# basis, the published recipe and the run costs they scale, that basis first: the batch-32 words
# recipe published until 2026-12-07 with the speakers runs at their published models' training
# seconds (trained on the Intel machine), then the current recipe with speakers measured on this CPU
# (below). In the short-schedule table "published" is the set published when a row was measured
# (for words, 3 epochs of batch 32 in every row).

# %%
what_if = recorded_study(P.name, "make_models_time_what_if.json", what="schedule-scenario study",
                         writer="benchmarks/make_models_time.py --epochs")
if what_if is not None:
    for basis in what_if["bases"]:  # each set of run costs with the scenarios that scale it
        print(basis["label"])
        display(schedule_scenario_table(basis).round(2))
short_study = recorded_study(P.name, "short_schedule_study.json", what="short-schedule study",
                             writer="benchmarks/short_schedule.py")
if short_study is not None:
    display(short_schedule_table(short_study, ACCURACY_TARGETS).round(3))

# %% [markdown]
# Under 2 hours there are only schedules that break a target. With the then-published batch of 32,
# speakers must stop after at most about 6 epochs if words keeps its 3 (1.99 h); words stopping after
# 2 with speakers at 16 comes to 2.01 h, just over. Both were measured, and both miss. HuBERT words
# after 2 epochs reaches 0.863, paired -0.062 [-0.076, -0.046] against its 3 epochs, below 0.90.
# Speakers after 16 epochs reaches 0.799 for HuBERT (-0.077 [-0.099, -0.053]) and 0.751 for WavLM
# (-0.113 [-0.135, -0.089]), below 0.80. Their validation was still climbing at the end, by 2 to 5
# points an epoch over the last two.
#
# **Smaller batches.** On this CPU a step costs about in proportion to its clips, so batches of 8
# instead of 32 make four times as many updates for about the same cost per epoch (the batch-8 runs
# took 0 to 10 % more per epoch than batch-32 runs beside other training; the scenario hours scale
# the batch-32 costs, so for batch 8 they are lower bounds twice over). The rows with batch 8
# (`--batch-size 8 --learning-rate 5e-4`, the head still at 30 times the backbone's rate; the words
# rates then published were 1e-3 for wav2vec2 and WavLM and 5e-4 for HuBERT) show what that buys:
# - Words needs fewer epochs. After 2 epochs at batch 8 every family matches the 3 at batch 32 then
#   published: HuBERT 0.936 (+0.011 [-0.002, +0.023]), wav2vec2 0.956 (-0.001 [-0.011, +0.008]),
#   WavLM 0.956 (-0.008 [-0.018, +0.001]). After 1.5 all three stay above 0.90 but lose 1 to 2 points
#   (0.912, 0.933, 0.945; the intervals exclude zero for wav2vec2 and WavLM). After 1, HuBERT falls to
#   0.604.
# - Speakers does not. HuBERT after 12 epochs at batch 8 reaches 0.747 (-0.129 [-0.154, -0.105]),
#   below the 0.799 of 16 epochs at batch 32.
#
# On seed 0, the cheapest words schedule that holds its target is 1.5 epochs at batch 8 (over three
# seeds HuBERT's does not, below). Speakers at batch 32
# reaches 0.80 after 18 epochs for HuBERT (0.833, -0.043 [-0.063, -0.023]), after 20 for wav2vec2
# (0.827, -0.024 [-0.045, -0.005]; after 18 it reaches 0.791) and after 22 for WavLM (0.818,
# -0.045 [-0.066, -0.026]; after 20, 0.795). A higher backbone rate does not buy those epochs back.
# HuBERT at 2e-3 reaches 0.748 after 16 epochs (-0.128 [-0.155, -0.105]), below the 0.799 of the
# published 1e-3. WavLM at 2e-3 diverged: its training loss jumped to 9.2 in the second epoch, and
# validation stayed at chance (0.008) up to epoch 4, when the run was stopped by hand. A stopped
# run writes no entry, so it is not in the table.
#
# With each family's own speakers epochs and words at 1.5 epochs, `make models` comes to 2.05 h with
# the learning-rate sweep and 1.93 h without it. These are the scenario rows with `hubert:speakers=18
# speakers=20 wavlm:speakers=22 words=1.5`; the batch-8 runs used 5e-4 for every family, a fixed rate
# rather than a swept one. The rows leave out three things:
# - Publishing each model (a float16 copy, re-measured, and the backbones' probes) adds about
#   3 minutes on two workers (`benchmarks/publish_time.py`, `results/mini/publish_time.json`).
# - A batch-8 epoch costs 0 to 10 % more than the batch-32 costs the rows scale.
# - The recipe gives up the sweep and the 0.95 aim for words (1.5 epochs: 0.912, 0.933 and
#   0.945 on seed 0), and it meets each speakers target by only 2 to 3 points, on one seed.
#
# So the one recipe that comes under 2 hours on paper lands at about 2.0 h, give or take 5 minutes.
# It does not hold over seeds, though. HuBERT words after 1.5 epochs at batch 8 reaches 0.882 with
# seed 1 and 0.886 with seed 2 (paired -0.045 [-0.061, -0.030] and -0.040 [-0.056, -0.024] against
# the models then published), so its mean over three seeds is 0.893, below 0.90. Giving HuBERT back its
# 2 epochs (the row `hubert:speakers=18 hubert:words=2 speakers=20 wavlm:speakers=22 words=1.5 no
# sweep`) makes 2.04 h before publishing: over 2 hours.
#
# **Seeds and controls at batch 8: the words recipe published since.** Words after 2 epochs at batch 8
# (lr 5e-4) holds over all three seeds:
#
# | family | seeds 0 / 1 / 2 | mean | mean of the batch-32 set |
# |---|---|---|---|
# | HuBERT | 0.936 / 0.936 / 0.921 | 0.931 | 0.926 |
# | wav2vec2 | 0.956 / 0.958 / 0.959 | 0.958 | 0.963 |
# | WavLM | 0.956 / 0.947 / 0.947 | 0.950 | 0.961 |
#
# The trainable-CNN controls at batch 8 reach 0.898 (HuBERT), 0.892 (wav2vec2) and 0.914 (WavLM), so
# pre-training's margin over them grows: +0.033, +0.066 and +0.036 as differences of means, against
# +0.024, +0.020 and +0.027 (paired, seed 0) with the batch-32 recipe. The sweep of 2.5e-4, 5e-4 and
# 1e-3 was not part of these runs.
#
# So this is the words recipe published since 2026-12-07: 2 epochs of batch 8, two validation passes
# per epoch, with the learning-rate sweep kept. The sweep chose 5e-4 for every family. At 1e-3,
# HuBERT and WavLM stayed near chance through the sweep's half epoch (validation 0.039 and 0.029), and
# wav2vec2 reached 0.286 against 0.583 at 5e-4. `make models ONLY_STALE=1` retrained the 15 words
# models and controls and kept the backbones and speakers models. Nine of those runs (seeds 1 and 2
# and the trainable-CNN control of each family) came from the cache, where the runs above had left
# them with the same settings and code; the three seed-0 models continued their sweep prefixes, and
# the three frozen-CNN controls trained anew. The baselines at the top of
# this chapter are these models. They reproduce the runs above on the same test clips (to one clip:
# the published accuracy is measured from the float16 weights), and the new
# random-CNN-frozen controls are lower than the batch-32 ones (0.49-0.53 against 0.54-0.61). With this
# recipe, `make models` takes about 2.5 hours on 2 cores (below, measured as for the batch-32 recipe,
# and now with the speakers runs measured on this CPU too). Measured alone, a words run of the new
# recipe took 517 s of wall time against 846 s for 3 epochs of batch 32: per epoch, batch 8 came out
# about 8 % cheaper, not dearer as beside other training.
#
# **Speakers measured on this CPU.** Until 2026-12-07 the estimate took each speakers run at its
# published model's training seconds, which the Intel machine recorded (4,630 / 3,220 / 3,640 s for
# HuBERT / wav2vec2 / WavLM), and came to 2.8 hours. `benchmarks/make_models_time.py
# --speakers-epochs 2` trains each family's published speakers recipe here for 2 epochs (two runs at
# once, one thread each, from a cache holding only the corpora) and scales the training seconds to
# its 30 epochs: 3,951 / 2,746 / 2,756 s. With those the published recipe comes to 2.5 h (5.0 h of
# one-thread work), and the second scenario table above scales these costs. Two epochs are a short
# sample. The full-length speakers runs of the short-schedule study, trained here beside another
# run, cost 140-161 / 87 / 102-120 s per epoch, against 131 / 91 / 91 s in the two-epoch runs.
# Scaled from the full-length runs instead (HuBERT's 18 epochs, wav2vec2's 20, WavLM's 22; computed
# for this text, not kept in the results), the published recipe comes to 2.7 h, and speakers at
# 18 / 20 / 22 epochs without the sweep to 2.07 h, against 1.94 h on the two-epoch costs (2.04 h
# with the sweep).
#
# So the shortest speakers schedules that reached 0.80 on seed 0, with words as published, land at
# 1.9 to 2.1 hours before publishing's 3 minutes, and they meet the speakers target by 2 to 3 points
# on one seed. Two of those epoch counts looked at the test split: HuBERT after 16 epochs and WavLM
# after 20 reached 0.80 on validation (0.802 and 0.818) and missed it on the test clips (0.799 and
# 0.795). No float32 recipe measured
# here meets every target within 2 hours on 2 CPU cores with room to spare. The published recipe
# meets the accuracy targets and takes 2.5 to 2.7 hours. Training in bfloat16 (below) brought the
# whole `make models` to 1.5 hours, measured, at the cost of one target. A GPU changes the picture
# too: the paper profile's `book/rerun.md` commands run there.
#
# These runs and measurements were made on an AMD EPYC with AVX-512, two at once, one thread each;
# the published speakers models were trained on the Intel machine. The corpus
# this machine builds is byte for byte the one the published models saw.

# %%
timed = recorded_study(P.name, "make_models_time.json", what="make-models timing",
                       writer="benchmarks/make_models_time.py")
if timed is not None:
    print(f"make models with the published recipe: {timed['runs']} runs, {timed['work_seconds'] / 3600:.1f} h of "
          f"one-thread work, about {timed['estimated_wall_seconds'] / 3600:.2f} h on {timed['jobs']} workers "
          f"(a lower bound; run costs measured on {timed['platform']})")
    for family, entry in timed["speakers_seconds"].items():
        print(f"  {family} speakers: {entry['seconds']:,.0f} s, {entry['source']}")
    if timed.get("recipe_hash") != publish.recipe_hash(P):
        print("  measured for another recipe than this profile's: rerun benchmarks/make_models_time.py")

# %% [markdown]
# ### Could speakers start from the words model?
# Speakers is almost half of `make models`' work, and the table above says it would have to stop after
# about 6 epochs. A backbone already fine-tuned on this corpus (the published words model, seed 0, its
# head left out) might give speakers a head start over the pre-trained one.
# `benchmarks/speakers_warm_start.py` fine-tunes speakers from that backbone for 6 epochs, with the
# family's published speakers recipe otherwise. It compares the result with the published speakers
# model (30 epochs from the pre-trained backbone) on the same test clips. Not published: speakers
# models started from the words model would also change what the later chapters compare.

# %%
warm_start = recorded_study(P.name, "speakers_warm_start_study.json", what="speakers warm-start study",
                            writer="benchmarks/speakers_warm_start.py")
if warm_start is not None:
    display(short_schedule_table(warm_start, ACCURACY_TARGETS).round(3))

# %% [markdown]
# It gives no head start. HuBERT reaches 0.420 after 6 epochs, paired -0.455 [-0.484, -0.426] against
# the published 0.876. Its validation accuracy rose from 0.03 after the first epoch to 0.43 after the
# sixth. From the pre-trained backbone, HuBERT had reached 0.52 after 6 of 8 epochs, at the words rate
# 5e-4 (`benchmarks/speakers_schedule.py`, a different schedule). WavLM learned nothing: its training
# loss never fell below 4.63 (ln 128 = 4.85, the loss of a uniform guess), and its validation accuracy
# stayed at chance (0.008). With two of three families far below 0.80, wav2vec2 was not run. Both runs
# were on the AMD EPYC, two at once, one thread each.

# %% [markdown]
# ### A cheaper front end?
# The last lever on the step itself: a CNN that costs less than the real one.
# `benchmarks/cheap_front_end.py` swaps the real 7-block CNN for a two-block front end with the
# same frames (each frame sees 400 samples, one every 320, so pre-training's MFCC targets still line
# up; `redundancy.config.check_front_end` refuses any geometry that would shift them). It works like a
# learned filterbank: 64 filters of 240 samples (15 ms) every 160 samples (10 ms), then pairs of those
# frames merged. Everything after it (projection, transformer, head, recipes) is unchanged. The first
# table times one training step of each family with either front end (random weights, one thread,
# side by side in one run, on words' 1 s clips and on each family's speakers windows). The second
# scales `make models`' measured run costs by these ratios. The third trains HuBERT's whole path
# with it: pre-training from scratch, then words (seed 0, its swept rate) and speakers (its published
# recipe), each compared with the published model on the same test clips. Not published: this
# front end is our trial, not the architecture of the paper's models.

# %%
front_end = recorded_study(P.name, "cheap_front_end_study.json", what="cheap front-end study",
                           writer="benchmarks/cheap_front_end.py")
if front_end is not None:
    display(front_end_step_table(front_end).round(3))
    display(front_end_projection_table(front_end).round(2))
    display(front_end_runs_table(front_end, ACCURACY_TARGETS).round(3))
    for family, run in front_end.get("runs", {}).items():
        print(f"{family} pre-trained with the cheap front end: {probe_sentence(run['probe'])}")

# %% [markdown]
# The cheap front end makes a words step about half as costly (0.53-0.55 of the real CNN's), but a
# speakers step on half-second windows only a quarter cheaper (0.75-0.76): on short windows the
# projection, transformer and head, which this front end leaves as they are, are most of the step.
# Scaled over every run, `make models` would take about 2.2 hours on 2 workers (15,546 s of
# one-thread work, against 24,358 s measured): still over 2 hours, and a lower bound (speakers at the
# published training times, testing and probes not counted). The runs agree with the step ratios:
# HuBERT's words run trained in 419 s, against 814 s for the published recipe on this machine
# (`make_models_time.json`), and its speakers run in 2,461 s, against 4,630 s for the published
# model (trained on the Intel machine).
#
# And the front end costs far more accuracy than freezing CNN blocks did. With the same 400 steps of
# pre-training its HuBERT learned less (masked-prediction accuracy 0.13 over its last 50 steps, the published one's 0.21),
# and the probe shows it: 0.05 at layer 0 and at most 0.17 higher up, where the published backbone
# goes from 0.15 to 0.39. Fine-tuned with the published recipes, it reaches words 0.757 (paired
# -0.169 [-0.190, -0.146] against the published 0.926) and speakers 0.639 (-0.237 [-0.263, -0.210]
# against 0.876), both far below their targets. Longer pre-training or another learning rate might
# win some of that back, but not the time: this front end leaves `make models` over 2 hours, and
# it breaks both accuracy targets.
#
# HuBERT ran alone for its pre-training, then its two fine-tuning runs at once, one thread each, on
# the AMD EPYC. The step times were measured alone on the machine.

# %% [markdown]
# ### bfloat16: the same steps, faster (measured, not published)
# Every lever above made training cheaper by doing less: fewer CNN blocks trained, a cheaper front
# end, fewer epochs, and each one cost accuracy. bfloat16 keeps the work and does the arithmetic in
# a shorter number format. This AMD EPYC has AVX512-BF16 (the Intel machine has AMX), which
# multiplies bfloat16 matrices at about twice the float32 rate. torch uses it under
# `torch.autocast("cpu", dtype=torch.bfloat16)`: matrix products and convolutions run in bfloat16,
# while the weights, the optimiser and the numerically touchy operations (softmax, normalisation,
# the loss) stay in float32. The Trainer's `bf16=True` does that, and `FinetuneConfig.mixed_precision
# = "bf16"` sets it for a task; pre-training is left as it was.
#
# A first measurement on the Intel machine found almost nothing for wav2vec2 and HuBERT (x0.96 and
# x0.98 per step) and x1.67 for WavLM (`benchmarks/bf16_step.py`, the first row of the table
# below). A profile of one wav2vec2 step on this CPU showed why. Torch's fused attention (scaled
# dot-product attention, which wav2vec2 and HuBERT use and WavLM does not have) has a bfloat16
# backward on the CPU that took 107 ms of a 297 ms step, against 16 ms in float32. Computed eagerly
# (plain matrix products and a softmax), as WavLM's attention always is, the attention gains like
# the rest, so bfloat16 runs on a CPU use eager attention (`finetune.BF16_CPU_ATTENTION`). The
# table gives one words step of the recipe's batch, one thread, with the variants alternating in
# one process; "x" is the speed-up over float32.

# %%
bf16_study = recorded_study(P.name, "bf16_step.json", what="bfloat16 step study", writer="benchmarks/bf16_step.py")
if bf16_study is not None:
    display(bf16_step_table(bf16_study).round(3))

# %% [markdown]
# On this CPU, eager attention under bfloat16 makes a words step 1.78 / 1.47 / 1.49 times as fast as
# float32 for wav2vec2 / HuBERT / WavLM; with the fused attention, wav2vec2 and HuBERT gain only
# 5-10 %. bfloat16 moves the first loss by 1e-4 or less. A CPU without bfloat16 arithmetic
# emulates it and may be slower than float32.
#
# Whether bfloat16 trains as well as float32 takes training runs. `make models` retrained every
# model with it for both tasks, from a cache that held nothing, on this CPU with its two workers:
# the corpus and pre-training corpus, pre-training, the learning-rate sweep, all 21 runs and
# publishing. The table pairs each of its models with the published float32 model of the same
# name, on the same test clips (`benchmarks/published_set_change.py`: accuracy before and after,
# the paired difference with its 95 % interval, and both training times).

# %%
set_change = recorded_study(P.name, "bf16_retrain_study.json", what="bfloat16 retraining study",
                            writer="benchmarks/published_set_change.py --out bf16_retrain_study.json")
if set_change is not None:
    print(f"{set_change['label']}; against the float32 set of commit {set_change['before_commit'][:8]}")
    display(set_change_table(set_change).round(3))

# %% [markdown]
# **`make models` took 90.8 minutes** (`time make models` with an empty cache, 2026-12-07), well
# inside the 2 hours. The measured float32 estimate is about 2.5 hours. Every fine-tuning run
# trained in 0.40-0.73 of its float32 time: speakers in 1,413-1,843 s instead of 3,220-4,630 s
# (those on the Intel machine), the words models in 262-344 s instead of 452-551 s. The sweep chose
# 5e-4 for every family again.
#
# Every accuracy target held but one:
# - Words, means of three seeds: wav2vec2 0.954, HuBERT 0.934, WavLM 0.953 (float32 0.958 / 0.931 /
#   0.950), with spreads of 0.009, 0.020 and 0.008. No seed moved by more than 0.010, and only
#   wav2vec2's seed 2 by a difference whose interval excludes zero (-0.010 [-0.019, -0.001]).
# - Speakers: 0.853 / 0.893 / 0.865, each at least as high as its float32 model; HuBERT's gain is
#   +0.017 [+0.002, +0.034].
# - Pre-training's margin over the trainable-CNN control (seed 0, paired): wav2vec2 +0.042
#   [+0.029, +0.056] and HuBERT +0.033 [+0.018, +0.048], but WavLM only +0.009 [-0.004, +0.023]. The
#   interval includes zero, so the "clearly above its random-init controls" fails for WavLM.
#   The pre-trained WavLM did not move (0.949 against 0.956); its control did, from 0.914 to 0.940
#   (+0.026 [+0.014, +0.038]). wav2vec2's control rose as well (+0.025), HuBERT's did not (-0.006),
#   and the frozen-CNN controls fell for two families. Each control has one seed, so this cannot
#   tell whether bfloat16 helps a random-init model train or the float32 controls were unlucky
#   draws. Three control seeds per family would settle it.
#
# Not published, then: the float32 set keeps every accuracy target and misses the time, and this
# set meets the time and loses one margin. Choosing between them is the owner's call (issue 12).
# Publishing it is `mixed_precision="bf16"` in the mini profile's two task recipes and `make models
# ONLY_STALE=1`. These models were fine-tuned from backbones pre-trained anew in the same run. With
# the pre-training recipe unchanged they match the published ones to float rounding (HuBERT's final
# pre-training loss 2.8148220 against 2.8148221, wav2vec2's 2.117 against 2.123), but they are not
# bit for bit the same, so part of each difference above may come from the backbone.

# %% [markdown]
# Every chapter applies one rule to these numbers (`redundancy.quality`): a model below twice the
# chance level **failed** its task and is flagged, not analysed; one that learned but stays below
# 0.5 is **weak**: its results are shown, marked, but its relative numbers ("keeps 95 %") are not
# comparable with the paper's teachers, and the scorecard does not count it.

# %%
table["quality"] = [quality_note(acc, round(1 / chance)) for acc, chance in zip(table["accuracy"], table["chance"])]
table[["model", "init", "task", "accuracy", "quality"]]

# %% [markdown]
# ## Training curves
# Training loss (left) and validation accuracy at each validation pass (right). The checkpoint with
# the best validation accuracy is the one kept, never one chosen on the test clips.

# %%
curves = training_curves(report)
fig, axes = plt.subplots(len(tasks), 2, figsize=(12, 3.3 * len(tasks)), squeeze=False)
for (ax_loss, ax_val), task in zip(axes, tasks):
    for label, data in curves.items():
        family, folder = label.split("/")
        if not folder.startswith(task):
            continue
        style = "--" if "random" in folder else "-"
        line, = ax_loss.plot([p["step"] for p in data["curve"]], [p["loss"] for p in data["curve"]], style,
                             lw=1, label=label)
        ax_val.plot([p["step"] for p in data["validation"]], [p["accuracy"] for p in data["validation"]],
                    style + "o", ms=3, lw=1, color=line.get_color(), label=label)
    ax_loss.set(title=f"{task}: training loss", xlabel="step", ylabel="cross-entropy")
    ax_val.set(title=f"{task}: validation accuracy", xlabel="step", ylabel="accuracy", ylim=(0, 1))
    ax_val.legend(fontsize=6, ncol=2)
fig.tight_layout()

# %% [markdown]
# ## Which words get confused?
# The confusion matrix of the first model's seed-0 run on the words task (rows: true word, columns:
# predicted).

# %%
first = next(iter(report["models"]))
words = report["models"][first]["words"]
matrix = confusion_matrix(report["folders"][f"{first}/words-seed0"], words["n_classes"])
fig, ax = plt.subplots(figsize=(9, 7.5))
sns.heatmap(matrix, xticklabels=WORDS, yticklabels=WORDS, cmap="viridis", vmin=0, vmax=1, ax=ax,
            cbar_kws={"label": "fraction of the true word's clips"})
ax.set(xlabel="predicted", ylabel="true", title=f"{first}, words, seed 0: accuracy {np.diag(matrix).mean():.3f}")
fig.tight_layout()

# %% [markdown]
# ## How the recipe was chosen, and where it falls short
#
# The paper's teachers reach 0.97-0.99 on the 35 words; the first mini models reached 0.16-0.57.
# What changed, each step measured on a 2-core CPU:
#
# * **More voices.** 48 synthetic speakers (3,990 training clips) let the models fit their ~40
#   training voices far better than held-out ones. The corpus now uses every accent x variant pair of
#   eSpeak NG once: 160 speakers, 13,440 training clips.
# * **Model selection on validation.** Each run is evaluated on the validation split several times and
#   the best checkpoint is kept.
# * **Learning rate, per family.** Before a family's runs, `make models` trains words (seed 0) with
#   each candidate rate up to the first validation pass of the *whole* run's schedule (same warm-up
#   and decay), keeps the rate with the best validation accuracy, and lets that candidate's run
#   continue from its checkpoint. An earlier sweep with its own 105-step schedule picked rates that
#   then failed over a full run (HuBERT stalled at 2e-3).
# * **The head at its own rate (a deviation from the paper).** The classification head (a
#   projection and a linear classifier) starts from random weights on a pre-trained backbone. At the
#   backbone's rate it learned so slowly that wav2vec2 and HuBERT ended their 3-epoch runs with a
#   training loss near 1 (words 0.66 and 0.61 in the previous published set). The backbone cannot take
#   a much higher rate (2e-3 kept wav2vec2 below 0.1 after one epoch), so the head trains at
#   `head_lr_multiplier` times the backbone's rate, on the same schedule. The one-epoch study below
#   (`benchmarks/finetune_head_rate.py`, validation split only) compares multipliers; the published
#   mini models use 30 (and backbone candidates 1e-3, 5e-4, 2.5e-4). The paper profile keeps the
#   paper's single rate. The speakers rows say the head's rate is not what holds speakers back.
# * **The CNN trains** (since the study above). When it is frozen (the frozen-CNN control), its
#   outputs are computed once per backbone and reused (the same logits, tested; about a third less
#   time per step).
#
# The tables below are read from results and the published models: the head-rate study, the sweep,
# then for every run where its validation accuracy peaked and whether it was still rising when training stopped (a gain of more
# than 0.02 over the last validation interval).

# %%
head_rate_study = recorded_study(P.name, "head_rate_study.json", what="recipe study",
                                 writer="benchmarks/finetune_head_rate.py")
if head_rate_study is not None:
    display(recipe_study_table(head_rate_study).round(3))
sweep = publish.read_lr_sweep(P.name)
if sweep is not None:
    display(pd.DataFrame.from_dict({family: {**{f"lr {lr}": acc for lr, acc in trial["validation_accuracy"].items()},
                                            "chosen": f"{trial['chosen']:g}"} for family, trial in sweep.items()},
                                   orient="index").round(3))
else:
    print("no learning-rate sweep recorded for this profile")
convergence = convergence_table(curves)
display(convergence.round(3))
rising = convergence[convergence["still rising"] == True]  # noqa: E712 (None: too few passes)
print(f"{len(rising)} of {len(convergence)} runs were still rising when training stopped")

# %%
words = {name: report["models"][name]["words"]["accuracy"] for name in report["models"] if "words" in report["models"][name]}
for name, acc in words.items():
    print(f"{name}: words {acc:.3f} (mean over seeds) -> {quality_note(acc, 35)}; the paper's teachers: 0.971-0.989")

# %% [markdown]
# **Where it falls short.** On words the mini models pass the 0.90 this book aims at, and wav2vec2
# and WavLM come within about 0.01-0.03 of the paper's teachers; HuBERT stays lower. Speakers (128
# voices) has its own recipe (`Profile.task_finetune`, printed at the top; the next sections say
# how it was found), from the same published backbones, CNN trained, one validation pass per epoch
# picking the checkpoint. The line below says which families pass the book's 0.80 on speakers. The
# tables above say which runs were still improving when they stopped. Later chapters read each
# model's quality (failed, weak or strong) from the one rule above instead of analysing every model
# as if it worked.

# %%
speakers_test = {name: report["models"][name]["speakers"]["accuracy"] for name in report["models"]
                 if "speakers" in report["models"][name]}
if speakers_test:
    below = [name for name, acc in speakers_test.items() if acc < 0.80]
    print("speakers test accuracy: " + ", ".join(f"{name} {acc:.3f}" for name, acc in speakers_test.items())
          + (f"; below 0.80: {', '.join(below)}" if below else "; every family at 0.80 or above"))

# %% [markdown]
# ## Why speakers needs more epochs than words
# The first published set fine-tuned speakers for the 3 epochs that suffice for words and ended at
# 0.08-0.23. Is speaker identification in the mini world hard, or were 3 epochs too few for it?
# `benchmarks/task_learnability.py` answers with learners that know nothing about speech: each clip
# becomes the mean and standard deviation over frames of its log-mel spectrogram (the statistics
# pooling of x-vectors, on raw log-mels rather than learned features), and a
# linear probe and a small MLP are fitted on each task's train split and scored on its test split,
# the MLP after 1 to 60 epochs (`redundancy.learnability`). The fine-tuned models are drawn at the
# epochs their task trains for (`Profile.finetune_for`).

# %%
learn = recorded_study(P.name, "task_learnability.json", what="learnability study",
                       writer="benchmarks/task_learnability.py")
if learn is not None:
    finetuned = {task: {name: report["models"][name][task]["accuracy"] for name in report["models"]
                        if task in report["models"][name]} for task in tasks}
    display(learnability_table(learn, finetuned).round(3))
    fig, axes = plt.subplots(1, len(learn["rows"]), figsize=(6 * len(learn["rows"]), 3.6), squeeze=False)
    for ax, row in zip(axes[0], learn["rows"]):
        ax.plot([p["epoch"] for p in row["mlp"]], [p["accuracy"] for p in row["mlp"]], "o-", color="0.3",
                label="MLP on log-mel statistics")
        ax.axhline(row["linear_probe"], color="0.5", ls=":", label="linear probe, same features")
        ax.axhline(row["chance"], color="k", ls="--", lw=1, label="chance")
        for name, acc in finetuned.get(row["task"], {}).items():
            ax.plot([P.finetune_for(row["task"]).epochs], [acc], "s", ms=7, label=f"{name}, fine-tuned")
        ax.set(xscale="log", ylim=(0, 1), xlabel="epochs", ylabel="test accuracy", title=f"task: {row['task']}")
        ax.set_xticks([p["epoch"] for p in row["mlp"]], [str(p["epoch"]) for p in row["mlp"]])
        ax.legend(fontsize=7)
    fig.tight_layout()
    for row in learn["rows"]:
        best = max(finetuned.get(row["task"], {}).values(), default=float("nan"))
        epochs = P.finetune_for(row["task"]).epochs
        at_budget = max((p["accuracy"] for p in row["mlp"] if p["epoch"] <= epochs), default=float("nan"))
        print(f"{row['task']}: best fine-tuned model {best:.3f} after {epochs:g} epochs; the MLP "
              f"{at_budget:.3f} after as many, {row['mlp'][-1]['accuracy']:.3f} after {row['mlp'][-1]['epoch']}")

# %% [markdown]
# On words the fine-tuned models end far above what the MLP reaches in as many epochs, near or
# above its 60-epoch accuracy: what pre-training and the transformer bring is real. Speakers is
# learnable but slow: the MLP needs tens of epochs to pass 0.5, and the first published speakers
# models, after 3 epochs, ended at or below where the MLP is after as many. The next measurements
# say why the models start so low, whether 0.80 is in reach at all, and what a longer schedule gave
# one family; they are why the published speakers models train for many more epochs than words.

# %% [markdown]
# ### What the backbones know about the voices, and what a speaker model reaches
# Three more measurements (our extension, read from `results/`). `benchmarks/speakers_probe.py`
# fits the per-layer linear probe of chapter 01 on the *speakers* task, with each layer's mean and
# standard deviation over frames as features, for three frozen backbones of each family: the
# pre-trained one, its random-init twin, and the one fine-tuned on speakers. `benchmarks/speakers_ceiling.py`
# trains a learner built for the task from scratch: a small x-vector-style network (dilated 1-D
# convolutions over log-mel frames, statistics pooling; `redundancy.learnability.tdnn`).
# `benchmarks/speakers_schedule.py` fine-tunes one published pre-trained backbone on speakers with the
# first published set's recipe for more epochs (into the cache; the published models stay as they are).

# %%
voices = recorded_study(P.name, "speakers_probe.json", what="speakers probe", writer="benchmarks/speakers_probe.py")
if voices is not None:
    display(probe_summary(voices, "mean+std").round(3))
    print(f"speakers probe (mean and std over frames): fitted on {voices['n_train']} train clips, "
          f"scored on the {voices['evaluated_on']}")
    changed = publish.changed_since(voices.get("weights"), P.name)
    if changed is None or changed:
        print("NOTE: this probe was measured on other weights than today's published "
              f"{', '.join(changed or ['models'])}; rerun benchmarks/speakers_probe.py to measure these")
ceiling = recorded_study(P.name, "speakers_ceiling.json", what="speakers ceiling",
                         writer="benchmarks/speakers_ceiling.py")
if ceiling is not None:
    print(f"{ceiling['learner']} on {ceiling['features']}: test accuracy "
          + ", ".join(f"{p['accuracy']:.3f} after {p['epoch']} epoch{'s' * (p['epoch'] > 1)}" for p in ceiling["curve"]))
longer = recorded_study(P.name, "speakers_schedule_study.json", what="longer speakers schedule",
                        writer="benchmarks/speakers_schedule.py")
if longer is not None:
    print(f"{longer['model']} fine-tuned on speakers for {longer['epochs']} epochs: "
          f"validation accuracy after each epoch " + ", ".join(f"{p['accuracy']:.3f}" for p in longer["validation"])
          + f"; test {longer['test_accuracy']:.3f} (the speakers model published then, "
          f"{longer['published']['epochs']:g} epochs: {longer['published']['accuracy']:.3f})")

# %% [markdown]
# The pre-trained backbones know little about the voices: their best layer is barely above their
# random-init twins' and below the linear probe on log-mel statistics in the learnability table
# above. Pre-training of 400 steps on about an hour of speech shaped them for the *content* of speech
# (the words probe of chapter 01), not for who speaks; WavLM, whose pre-training mixes utterances,
# knows the most. Fine-tuning on speakers is where the voices enter, and they enter the upper
# blocks: in the published 30-epoch speakers models (the probe's fine-tuned rows) the probe climbs
# from about 0.52-0.58 at layer 0 to 0.76-0.79 at its best layer (8 to 12), close to the models' own accuracy,
# where the first published set's 3-epoch models had lifted every layer only to 0.21-0.26, about the
# level of a linear probe on log-mel statistics. The task is learnable to the book's target: the
# speaker network trained from scratch passes 0.80 after about 15 epochs (and stands near 0.3 after
# 3, where those models were). A fine-tuned model follows when given the epochs: HuBERT, fine-tuned
# for 8 epochs instead of 3 with the same recipe, nearly tripled its test accuracy, its validation
# accuracy still rising at the end. So the speakers models needed a schedule of 15 epochs or more, not
# another model or another corpus; the next section says how the published 30 were chosen.

# %% [markdown]
# ### Toward 0.80 for every family: dropout and a longer schedule
# The 20-epoch runs published before overfit (their train loss ended near 0.005), and the mini architecture has no
# dropout at all where the hub configs use 0.1. `benchmarks/speakers_recipe.py` fine-tunes the
# published backbones on speakers with candidate recipes side by side, exactly the runs
# `make models ONLY_STALE=1` would make for each, and picks the recipe with the best mean
# *validation* accuracy (test accuracy plays no part). It ran on one GPU with a time limit; the
# figure draws each candidate's validation curve (dashed: stopped by the limit) against the
# published runs'.

# %%
# the speakers sets published since the study, other than today's (benchmarks/speakers_recipe_history.py)
history = [entry for entry in (recorded_study(P.name, "speakers_recipe_history.json") or {"sets": []})["sets"]
           if entry["recipe_hash"] != publish.task_set_hash(P, "speakers")]
recipe_study = recorded_study(P.name, "speakers_recipe_study.json", what="speakers recipe study",
                              writer="benchmarks/speakers_recipe.py")
if recipe_study is not None:
    families = list(recipe_study["published_before"])
    fig, axes = plt.subplots(1, len(families), figsize=(5 * len(families), 3.4), squeeze=False, sharey=True)
    for ax, family in zip(axes[0], families):
        reference = recipe_study["published_before"][family]
        ax.plot(range(1, len(reference["validation"]) + 1), reference["validation"], "k-", lw=2,
                label=f"published then: {reference['recipe']['epochs']:g} epochs ({reference['device']})")
        now = curves.get(f"{family}/speakers-seed0", {}).get("validation", [])
        if now and [p["accuracy"] for p in now] != reference["validation"]:
            recipe = P.finetune_for("speakers", family)
            ax.plot([p["epoch"] for p in now], [p["accuracy"] for p in now], "-", color="tab:red", lw=2,
                    label=f"published now: {recipe_label(dataclasses.asdict(recipe))}")
        for earlier in history:
            curve = earlier["families"][family]["validation"]
            ax.plot(range(1, len(curve) + 1), curve, "-", color="0.6", lw=1.5,
                    label=f"published earlier: {recipe_label(recorded_family_recipe(earlier, family))}")
        for name in recipe_study["candidates"]:
            finished = family in recipe_study["results"].get(name, {})
            curve = (recipe_study["results"][name][family]["validation"] if finished
                     else recipe_study["stopped_at_deadline"].get(name, {}).get(family, []))
            ax.plot(range(1, len(curve) + 1), curve, "o-" if finished else "o--", ms=3,
                    label=name + ("" if finished else " (stopped)"))
        ax.axhline(ACCURACY_TARGETS["speakers"], color="0.5", ls=":", lw=1)
        ax.set(title=f"{family}: speakers", xlabel="epoch", ylabel="validation accuracy", ylim=(0, 1))
        ax.legend(fontsize=7)
    fig.tight_layout()
    print(f"{recipe_study['device_name']} (torch {recipe_study['versions']['torch']}): "
          f"{len(recipe_study['candidates'])} recipes x {len(families)} families side by side, "
          f"stopped after {recipe_study['deadline_s']:.0f} s; chosen: {recipe_study['chosen']}")
    for family in families:
        published = recipe_study["published_before"][family]["validation"]
        for name, stopped in recipe_study["stopped_at_deadline"].items():
            if family in stopped and stopped[family]:
                epoch = len(stopped[family])
                print(f"  {family}, {name}: {stopped[family][-1]:.3f} after {epoch} epochs "
                      f"(published run after as many: {published[epoch - 1]:.3f})")
    if not recipe_study["same_corpus_as_published"]:
        print(f"NOTE: that machine's torch built another corpus (hash {recipe_study['corpus_hash']}) than the one "
              "the published models saw: the curves compare recipes, but its models could not be published")

# %% [markdown]
# No candidate finished within the limit: nine runs sharing one GPU each took about 28 s per epoch,
# because these tiny models are bound by launching kernels, not by arithmetic. At equal epochs
# dropout 0.1 was about level with the published runs, a little ahead for HuBERT and behind for
# WavLM; the 40-epoch schedules sit lower at equal epochs because their learning rate decays half
# as fast, so their curves say little before their end. The study settles nothing yet: finishing it
# takes about 20 minutes of one GPU, or about 5 hours of this 2-core machine for the 40-epoch runs.
#
# Two CPU trials of HuBERT alone (20 epochs, not published) found the bigger lever: its backbone
# rate, chosen by the sweep on *words* (5e-4), is too low for speakers. At 1e-3, the rate the sweep
# chose for wav2vec2 and WavLM, it reached validation 0.798 and test 0.786 where the published run
# had 0.741 and 0.743; dropout 0.1 gave 0.754 and 0.745. The speakers recipe published next was 30
# epochs at 1e-3 for every family (grey in the figure once a later set replaced it): validation accuracy rose for all three
# (0.794 / 0.741 / 0.820 after 20 epochs at the words rates, 0.827 / 0.802 / 0.830 then), the rule
# the recipe is kept by. On test only HuBERT gained (0.743 to 0.776); wav2vec2 (0.795 to 0.793) and
# WavLM (0.824 to 0.822) stayed where they were, and wav2vec2 and HuBERT remained below 0.80. The
# validation part is small (about the size of the test split), so some of the validation gain is
# the selection itself. The longer schedule costs about 1.5 times the training time.
#
# Those 30-epoch runs fit their training clips completely (train loss about 1e-5 from epoch 15 on),
# so two regularisers were tried next on this CPU (not published). Backbone dropout 0.1 makes every
# step slower (the step profile above: 11-38 %; about 436 s an epoch with three runs on 2 cores,
# against about 360 s), so a 30-epoch run would take more than 3 hours here, for the small gain the
# GPU study saw; it was stopped early. SpecAugment time masks at the hub configs' setting
# (p = 0.05, spans of 10 frames, at least two per clip: up to 20 of a clip's 49 frames) cost nothing
# per step but slow learning at first: in a first trial on a 20-epoch schedule, validation after 5
# epochs stood at 0.280 / 0.205 / 0.211 (wav2vec2 / HuBERT / WavLM) against 0.44 / 0.38 / 0.46 for
# the published runs, and that trial, stopped there, judged them too far behind. That was wrong for
# two of the three. Run to the end of the published 30-epoch
# schedule, one family per run with everything else as published
# (`benchmarks/speakers_regularisation.py`, 5,400-6,400 s a run on this CPU), the masked HuBERT and
# wav2vec2 runs overtake in the last third, as the learning rate anneals, and end above the published
# ones on the same test clips (table below; the difference is paired, clip by clip, with its
# bootstrap 95 % interval). The masks keep the models from memorising their 40 voices' clips: the
# final training loss (measured on masked clips) stays at 0.7-0.9 instead of 1e-5.
# For WavLM the masks did not pay: test 0.802 against the published 0.822 (paired -0.020
# [-0.046, +0.007]) and best validation 0.798 against 0.830; it learned more slowly all along.
# By validation accuracy, the rule a recipe is kept by, the masks win for HuBERT (0.820 against
# 0.802) and wav2vec2 (0.845 against 0.827) and lose for WavLM; averaged over the three families
# the two recipes tie (0.821 against 0.820). Chosen per family on validation (masks for HuBERT
# and wav2vec2, none for WavLM), these runs score 0.813 / 0.834 / 0.822 on test, each above 0.80.
# **That became the published set.** The mini profile holds the choice (`Profile.family_task_finetune`,
# printed at the top of this chapter), as the backbone learning rate is already chosen per family;
# the paper's one task has one recipe for all its models, so a per-family recipe is ours, like the
# task. `make models ONLY_STALE=1 JOBS=2` retrained only the two masked speakers models (5,274 s,
# both at once on 2 cores) and reproduced the study's runs: the same validation curves and best
# validation accuracy (0.820 / 0.845), test 0.814 and 0.834 from the stored float16 weights (0.813
# and 0.834 in float32); the windows runs below have since replaced them (grey in the figure above).
# All three speakers models have since been replaced once more, by ones trained on windows of the clips
# (next section).
#
# These runs were trained on the Intel machine's build of the corpus, which differs from the one the
# published models saw by one bit in about 1e-4 of the samples (the published models score exactly
# the same on both, `book/rerun.md`); the test clips are the same build for both columns.

# %%
regularisation_study = recorded_study(P.name, "speakers_regularisation_study.json", what="regularisation study",
                                      writer="benchmarks/speakers_regularisation.py")
if regularisation_study is not None:
    display(regularisation_study_table(regularisation_study, at_epochs=(5, 10, 20)).round(3))

# %% [markdown]
# ### Windows instead of whole clips (published for all three)
# The three 30-epoch speakers runs are most of `make models` (the README says how long it takes), and
# a training step costs about in proportion to the clip's length: the CNN and the transformer both
# run over every frame. So one more CPU trial trained on a random half-second window of each
# training clip, drawn anew each time the clip is seen (`FinetuneConfig.train_crop_seconds = 0.5`),
# and validated and tested on whole clips, with everything else as published; the rows with
# `train_crop_seconds=0.5` in the table above. With the time masks of the published HuBERT recipe,
# such windows hardly learned (validation 0.06 after 8 epochs, where the published run had 0.29;
# stopped there): the masks keep at least two spans of 10 frames, which may cover 20 of a window's
# 24 frames (the library now warns when masks may cover more than half of a window). Without masks,
# the windows learned as fast as whole clips for the first dozen epochs and then fell behind:
# HuBERT ended at test 0.765 against 0.814 (paired -0.049 [-0.077, -0.023]), best validation 0.773
# against 0.820, in 3,387 s of training against 5,164 (both beside another run on this 2-core
# machine; about 0.28 s a step against 0.50). WavLM went the other way: test 0.863 against 0.822
# (paired +0.041 [+0.018, +0.066]), best validation 0.877 against 0.830, in 3,640 s of training
# (the published whole-clip run took 8,563 s, three runs at once on the slower AMD machine). As with
# the masks, the families differ: whatever keeps a model from memorising its 40 voices' clips
# (final training loss 0.73 here against 3e-5 on whole clips) helps, but HuBERT's last epochs on
# windows never caught up with its masked whole clips, while WavLM, which masks slowed, gained from
# the windows. By validation accuracy, the rule, **WavLM's speakers recipe became the windows**
# (`Profile.family_task_finetune`; `make models ONLY_STALE=1` published the study's run, from the
# cache, in 49 s).
#
# Two more trials, both without masks, then settled the other families (the two rows added last in
# the table above; two runs at once, one thread each, on the Intel machine). wav2vec2 on half-second
# windows: best validation 0.878 against 0.845 for its masked whole clips, test 0.851 against 0.834
# (paired +0.017 [-0.005, +0.039]), in 3,220 s of training against 5,196. HuBERT on longer windows,
# 0.75 s (36 frames): best validation 0.882 against 0.820, test 0.876 against 0.814 (paired +0.062
# [+0.037, +0.085]), in 4,630 s against 5,164; half a second was too short for it, three quarters
# was not (its final training loss 0.14, wav2vec2's 0.74). So, by validation accuracy, **all three
# speakers models now train on windows without masks**: 0.75 s for HuBERT, 0.5 s for wav2vec2 and
# WavLM (`make models ONLY_STALE=1` published both study runs from the cache). One seed each, as
# every speakers result here: the window length was picked on one run per family, so the margins
# carry that choice. The figure of the speakers curves above draws the windows runs in red and the
# sets they replaced in grey.

# %% [markdown]
# ### A head for voices: statistics pooling (tried, not published)
# The standard head averages the frames of a clip, and an average keeps what a voice says on
# average, not how it varies. Speaker-recognition networks (x-vectors) pool the frames' mean *and*
# standard deviation, and so does the speakers probe above, which does better with them at layer 0.
# The library has such a head (`FinetuneConfig.pooling = "mean+std"`, `redundancy.heads`):
# `projector` Linear(D → 256) per frame, then the mean and the standard deviation over frames side
# by side, then `classifier` Linear(512 → voices). Pruning and mimicking pool through the same
# function, so a pruned or mimicked model keeps its head. It would be ours, not the paper's (the
# paper's one task, words, keeps the mean).
#
# It did not pay here. With the backbone, CNN, rates and data of the published runs and a 15-epoch
# schedule (half the published one, to save time), all three families trained at once on this CPU
# (`make models ONLY_STALE=1 JOBS=3`, 6,148-6,498 s per run) reached best validation accuracy
# 0.762 / 0.751 / 0.759 and test 0.770 / 0.748 / 0.745 (wav2vec2 / HuBERT / WavLM), below the
# 30-epoch mean-pooled runs published then (0.827 / 0.802 / 0.830 and 0.793 / 0.776 / 0.822; paired on
# the same test clips -0.023 [-0.049, +0.003], -0.028 [-0.055, -0.002], -0.077 [-0.105, -0.052]),
# so the set was not published (the rule is validation accuracy). At equal epochs these runs were behind the published
# ones from the start (validation after 5 epochs 0.28-0.36 against 0.38-0.46), so the statistics
# did not make the voices easier to learn; whether they add at 30 epochs is not measured.
#
# A cheaper variant was tried before and dropped: with the lowest 3 CNN blocks frozen and computed
# once (the step-time saving measured above), a HuBERT speakers run hardly learned, either pooling:
# validation 0.06 after 5 of 10 epochs, where the published run had passed 0.37 (a CPU trial, not
# published). Voices, unlike words, need the CNN's lowest blocks to adapt.
#
# When a speakers set replaces the published one, the cell below compares them clip by clip (paired
# bootstrap 95 % intervals): `benchmarks/speakers_recipe_history.py` keeps each published set's
# test predictions in `results/mini/speakers_recipe_history.json`.

# %%
# the recorded sets other than today's (the figure above draws them in grey)
differences = recorded_set_differences(history, report["folders"])
if not differences.empty:
    for family in P.model.families:
        print(f"published {family} speakers recipe: "
              f"{recipe_label(dataclasses.asdict(P.finetune_for('speakers', family)))}")
    display(differences.set_index(["earlier recipe", "family"]).round(3))
else:
    print("no earlier speakers set with recorded test predictions to compare with")

# %% [markdown]
# ## Reading the numbers
#
# * The chance level is 1/35 for words and 1/(number of speakers) for speakers.
# * If a random-initialisation control comes close to the pre-trained models, pre-training on an hour
#   of synthetic speech taught little beyond what fine-tuning learns anyway; the numbers are reported
#   as they come out.
# * The paper's fine-tuned models reach 0.971-0.989 on the 35 words (its appendix tables); the mini
#   world is smaller and synthetic, so compare shapes, not values.
#
# ## Exercises
#
# 1. Train one seed for more epochs (`dataclasses.replace(P, finetune=dataclasses.replace(P.finetune,
#    epochs=4))` with `retrain=True`): how far does validation accuracy go, and does the control catch up?
# 2. The margins over the controls above use seed 0. Compute them for seeds 1 and 2 of the published
#    models (`redundancy.baselines.pretraining_margins` pairs seed 0's `test_predictions.npz` with the
#    controls'; do the same for the other seeds): is the small margin over the trainable-CNN control
#    stable across seeds?
# 3. Which word pairs are confused most often? Are they acoustically similar?
# 4. Fine-tune one family on speakers for 40 epochs (`redundancy.pipeline.finetuned_dir(P2, "wavlm",
#    "speakers")` with `P2 = dataclasses.replace(P, task_finetune=(("speakers", (("epochs", 40.0),
#    ("learning_rate", 1e-3))),))`,
#    best on a GPU): does it follow the MLP's curve above, pass it, or stall?
