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
# # The scorecard: which claims hold here?
#
# The paper {cite:p}`dorszewski2025redundant` makes five claims (C1-C5, in its abstract; the body is
# more precise). This chapter puts each next to the paper's own number, cited by section or table,
# and next to the number this run measured, read from the results the other chapters wrote
# (`results/<profile>/*.json`). A verdict follows from a rule stated below and computed by
# `redundancy.scorecard`, which is tested: the tests change a results file and check that the
# verdict changes with it.
#
# The verdicts are one of: **holds**, **partly**, **does not hold**, **not testable in this
# profile** (no model that did its task), and **not yet measured** (the chapter that measures the
# claim has not written its results yet). Most rules check each model (or each real architecture)
# on its own and then aggregate: all pass, holds; some pass, partly; none, does not hold.
#
# Two cautions. First, the paper's numbers come from strong models (0.97-0.99 test accuracy on the
# 35 words); a tiny model that barely learned its task cannot support or refute a claim about
# redundancy, so a model below a minimum accuracy is **flagged and left out** of every verdict.
# Second, the size and time claims (C3, C4) do not depend on the weights, so their verdicts are
# judged on the paper's real architectures with random weights; the mini models are shown beside
# them, not scored.

# %% tags=["parameters"]
profile = None  # None: $REDUNDANCY_PROFILE, else "mini"
device = "auto"

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown

from redundancy import quality
from redundancy import scorecard as sc
from redundancy.cache import atomic_write_json
from redundancy.config import load_profile
from redundancy.paths import display_path, results_dir

pd.set_option("display.max_colwidth", None)
P = load_profile(profile)
RESULTS = results_dir(P.name)
GPU_RESULTS = RESULTS.parent / "gpu"
present = sorted(p.name for p in RESULTS.glob("*.json") if p.name != "scorecard.json")
print(f"profile={P.name}; results in {display_path(RESULTS)}: {', '.join(present) or 'none yet'}")

# %% [markdown]
# ## The rules
#
# The thresholds are constants of `redundancy.scorecard` (and, for which models count, of
# `redundancy.quality`, the rule every chapter uses), so that the rule the chapter states is the rule
# the code applies:

# %%
# NBVAL_CHECK_OUTPUT
print(f"a model counts only with words test accuracy >= {quality.STRONG_ACCURACY} (chance: 1/35 = {1 / 35:.3f})")
for claim, rule in sc.RULES.items():
    print(f"{claim}: {rule}")

# %% [markdown]
# ## The scorecard
#
# In short (the same table opens the book), then each claim in full: this run's number per model or
# architecture, with the models that were flagged.

# %%
card = sc.scorecard_from_folder(RESULTS, GPU_RESULTS)
out = RESULTS / "scorecard.json"
atomic_write_json(out, card)
print(f"wrote {display_path(out)}")
Markdown(sc.markdown_table(card))

# %%
Markdown(sc.claims_markdown(card))

# %% [markdown]
# ## Which model passed which check
#
# Green: the model (or real architecture) passes the claim's check; red: it fails; grey: flagged
# (failed its own task) and left out. Claims not measured yet have no column entries.

# %%
checks = pd.DataFrame({claim: {**{m: float(ok) for m, ok in row["passed"].items()},
                               **{m: 0.5 for m in row["flagged"]}}
                       for claim, row in card.items()})
if checks.empty:
    print("no claim measured yet")
else:
    fig, ax = plt.subplots(figsize=(1.3 * len(checks.columns) + 3, 0.45 * len(checks) + 1.2))
    colours = plt.matplotlib.colors.ListedColormap(["tab:red", "lightgrey", "tab:green"])
    ax.imshow(checks.to_numpy(dtype=float), cmap=colours, vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(checks.columns)), [f"{c}\n{card[c]['verdict']}" for c in checks.columns], fontsize=8)
    ax.set_yticks(range(len(checks.index)), checks.index, fontsize=8)
    ax.set_title("per-model checks behind each verdict (green pass, red fail, grey flagged, white not checked)",
                 fontsize=9)
    fig.tight_layout()
    plt.show()

# %% [markdown]
# ## Flagged models
#
# Every model the verdicts left out, and why. A flagged model is not evidence against a claim either:
# it is a model to fix (see the baselines chapter).

# %%
flagged = pd.DataFrame([(claim, model, why) for claim, row in card.items() for model, why in row["flagged"].items()],
                       columns=["claim", "model", "reason"])
flagged if len(flagged) else "no model flagged"

# %% [markdown]
# ## Reading the verdicts
#
# - A **holds** on C3 says only that the architecture arithmetic works out: size does not depend on
#   training. C4 measures time on this machine; the paper timed a GPU, where the CNN feature encoder
#   (which every mimicking model keeps) is a smaller share of the time, so CPU reductions are expected
#   to be lower. `benchmarks/gpu_timing.sh` writes `results/gpu/timing.json`, which this chapter uses
#   for C4 when it is present.
# - C5 is judged on the mimickers that chapter 05 trains, with the mini profile's short schedule
#   (3 + 2 epochs on 2,000 clips, against the paper's 50 + 30 on every clip). Its "Is it the
#   schedule?" section trains the best two again on every clip and for longer: read C5 with it.
# - C1 and C2 are judged on the fine-tuned word models: the paper analyses fine-tuned models only.
#   The speakers task is this book's extension and is not scored here.
# - The paper's numbers in the table are its own (PAPER.md in the project's notes cites where each
#   comes from): the abstract rounds them (40 %, 95-98 %, 94 %), the tables and figures give them per
#   model.
#
# ## Exercises
#
# 1. Lower `quality.STRONG_ACCURACY` to 0.1 and recompute `sc.scorecard_from_folder(RESULTS)`. Which
#    verdicts change? Is a model at 0.15 accuracy evidence for or against a redundancy claim?
# 2. C1's rule counts blocks of at least `BLOCK_MIN_LAYERS` layers in the CKA map. Write a rule that
#    also checks the paper's sizes (first block 2/3 to 3/4 of the layers, second the last 4-5) with
#    `sc.main_blocks`, and compare its verdict with the current one.
# 3. Copy `results/<profile>` to a temporary folder, edit one number in `timing.json` so that one
#    large architecture's `time_reduction_mimic` reaches 0.9, and rerun the scorecard on the copy.
#    Which verdict moves, and which does not? (The tests in `tests/test_scorecard.py` do the same.)
