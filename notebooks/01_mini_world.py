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
# # The mini world: data and models
#
# The paper studies self-supervised speech models fine-tuned on Speech Commands. This chapter builds
# the world the rest of the book runs in when the real dataset and checkpoints are out of reach.

# %% tags=["parameters"]
profile = None  # None: $REDUNDANCY_PROFILE, else "mini"
device = "auto"

# %%
from redundancy.config import load_profile, resolve_device

P = load_profile(profile)
DEVICE = resolve_device(device)
print(f"profile={P.name} device={DEVICE}")

# %% [markdown]
# ## The data

# %% [markdown]
# ## The models
