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
retrain = False  # True: train the models here through the cache instead of reading the published ones

# %%
from redundancy.config import load_profile, resolve_device, with_model_source

P = load_profile(profile)
if retrain:
    P = with_model_source(P, "train")
DEVICE = resolve_device(device)
print(f"profile={P.name} device={DEVICE} models={P.model.source}")

# %% [markdown]
# ## The data
#
# The paper fine-tunes on **Speech Commands v0.02** {cite:p}`warden2018speech`: 35 one-second words, about 2,600
# speakers, and ready-made validation and test lists that keep speakers apart. Here, without the
# download, the same 35 words are spoken by synthetic voices of eSpeak NG {cite:p}`espeakng`: *SynthCommands*. Each
# speaker has a fixed accent, voice, pitch, speaking rate and room; each utterance jitters pitch, rate
# and loudness, sits somewhere in its 1 s clip, and gets room reverberation and background noise. It
# is written in exactly the Speech Commands layout (`<word>/<speaker>_nohash_<n>.wav`, the two lists,
# `_background_noise_/`), so one loader reads both worlds. Under the `paper` profile `build_corpus`
# returns the real dataset's folder instead (`python -m redundancy download --root DIR`).
#
# The published models record the hash of the corpus they were trained and measured on, and the
# corpus built here is checked against it: the synthesis is deterministic, but only under the pinned
# torch and torchaudio (they resample every clip), so another install can build slightly different
# clips, and then this cell warns.

# %%
from redundancy import pipeline, publish

ROOT = pipeline.corpus_root(P)
print(ROOT)
if P.model.source == "published":
    print("the corpus the published models saw:", publish.check_corpus(P.name, str(ROOT)))

# %% [markdown]
# Two tasks come from one folder, as in the paper. **Words**: 35 classes with the dataset's own
# splits. **Speakers**: speakers of the *train* split with enough utterances become the classes, and
# their clips are split 90/10 (seed 42), as in the authors' code for the sister paper. We take a
# validation tenth out of their 90 % for model selection (80/10/10), so the test clips stay theirs.

# %%
import pandas as pd

from redundancy.commands import WORDS, load_split

splits = {("words", s): load_split(ROOT, "words", s) for s in ("train", "validation", "test")}
for s in ("train", "test"):
    splits[("speakers", s)] = load_split(
        ROOT, "speakers", s, min_utterances=P.corpus.speaker_min_utterances, seed=P.corpus.speaker_split_seed
    )
counts = pd.DataFrame(
    [
        {"task": task, "split": split, "clips": len(d), "classes": len(d.classes), "speakers": len(set(d.speakers))}
        for (task, split), d in splits.items()
    ]
).set_index(["task", "split"])
counts

# %%
# NBVAL_CHECK_OUTPUT
words_train = set(splits[("words", "train")].speakers)
print(f"{len(WORDS)} words, from {WORDS[0]!r} to {WORDS[-1]!r}")
print("a speaker shared by words/train and words/test:", bool(words_train & set(splits[("words", "test")].speakers)))
print("a speaker shared by words/train and words/validation:",
      bool(words_train & set(splits[("words", "validation")].speakers)))

# %% [markdown]
# One word, several speakers: the waveform (top) and its spectrogram (bottom). Speakers differ in
# pitch (the spacing of the harmonics), formants, speed, loudness, room and noise.

# %%
import matplotlib.pyplot as plt
import numpy as np

from redundancy.audio import load_audio

WORD = "sheila"
train = splits[("words", "train")]
examples = {}
for path, speaker in zip(train.files, train.speakers):
    if path.parent.name == WORD and speaker not in examples and len(examples) < 4:
        examples[speaker] = load_audio(path)
fig, axes = plt.subplots(2, len(examples), figsize=(3.2 * len(examples), 4.6), sharex=True, squeeze=False)
for col, (speaker, x) in enumerate(examples.items()):
    t = np.arange(len(x)) / 16000
    axes[0, col].plot(t, x, linewidth=0.5)
    axes[0, col].set(title=f"{WORD!r} by {speaker}", ylim=(-1, 1))
    axes[1, col].specgram(x, Fs=16000, NFFT=400, noverlap=240, cmap="magma")
    axes[1, col].set(xlabel="time (s)")
axes[0, 0].set_ylabel("amplitude")
axes[1, 0].set_ylabel("frequency (Hz)")
fig.tight_layout()

# %% [markdown]
# Listen: the same word by those speakers, then three other words by the first one.

# %%
from IPython.display import Audio, display

for speaker, x in examples.items():
    display(Audio(x, rate=16000))
first = next(iter(examples))
for word in ("yes", "backward", "seven"):
    display(Audio(load_audio(ROOT / word / f"{first}_nohash_0.wav"), rate=16000))

# %% [markdown]
# The tiny models of the next section learn speech first without labels, on longer multi-word
# utterances spoken by the same voices (all but the test speakers), as wav2vec2, HuBERT and WavLM did
# on LibriSpeech. The `paper` profile skips this: it starts from the published checkpoints.

# %%
if P.name != "paper":
    import json

    from redundancy.corpus import build_pretrain_corpus

    PRETRAIN = build_pretrain_corpus(P)
    utterances = json.loads((PRETRAIN / "manifest.json").read_text())["utterances"]
    minutes = sum(u["seconds"] for u in utterances) / 60
    print(f"{len(utterances)} utterances, {minutes:.1f} minutes, {len({u['speaker'] for u in utterances})} speakers")
    print(f"e.g. {utterances[0]['speaker']}: {utterances[0]['text']!r}")
    display(Audio(load_audio(PRETRAIN / utterances[0]["file"]), rate=16000))

# %% [markdown]
# **Exercises.**
# 1. Plot the spectrogram of one speaker saying `tree` and `three`. Which part of the picture
#    tells them apart, and why might a model confuse them?
# 2. Build the corpus with another seed (`dataclasses.replace(P, corpus=dataclasses.replace(P.corpus,
#    seed=1))`). Are the speaker names the same? Why do the test lists have to keep speakers apart
#    for the words task to measure what we want?
# 3. The speakers task splits each speaker's clips 80/10/10. What would go wrong if it used the words
#    task's speaker-disjoint lists instead?

# %% [markdown]
# ## The models
#
# Each family is pre-trained here with its own self-supervised objective (the `paper` profile loads
# the published checkpoints instead): wav2vec2 contrasts the context of masked frames with quantized
# targets, HuBERT predicts k-means clusters of MFCC frames under the mask, and WavLM does the same
# while another utterance or noise is mixed in. The checkpoints are saved exactly like hub ones, so
# every later chapter loads them with the same code as `facebook/wav2vec2-base`.
#
# **Trained once, published in the repository.** As the paper's authors fine-tuned once and then
# analysed, `make models` trains the mini models from scratch (corpus, pre-training, fine-tuning with
# three seeds, controls) and publishes them in `models/mini/` with their metrics, training curves and
# provenance. This chapter and the next ones read those folders; each is checked against the
# profile's recipe and its weights' hash first. Set `retrain = True` to train through the cache here
# instead.

# %%
import json

from redundancy.models import load_backbone
from redundancy.size import parameters_by_component

CHECKPOINTS = {name: pipeline.model_dir(P, name, "pretrained", DEVICE) for name in pipeline.model_names(P)}
if P.model.source == "published" and not P.model.hub_names:
    provenance = {name: json.loads((path / "provenance.json").read_text()) for name, path in CHECKPOINTS.items()}
    display(pd.DataFrame(provenance).T[["recipe_hash", "train_seconds", "device", "git_commit"]])

# %% [markdown]
# The three architectures side by side: the same CNN feature encoder (7 layers, 20 ms frames),
# feature projection and positional convolution, then the transformer blocks the paper prunes.

# %%
components = ["cnn_encoder", "feature_projection", "positional_conv", "transformer", "other", "total"]
rows = {}
for name, path in CHECKPOINTS.items():
    backbone = load_backbone(path)
    counts = parameters_by_component(backbone)
    rows[name] = {**{c: counts[c] for c in components},
                  "blocks": backbone.config.num_hidden_layers, "width": backbone.config.hidden_size}
architectures = pd.DataFrame(rows).T
architectures

# %% [markdown]
# Pre-training loss and masked-prediction accuracy. For wav2vec2 the accuracy is how often the true
# quantized frame is the most similar of the candidates (chance: 1 / (K + 1)); for HuBERT and WavLM
# it is the accuracy of the predicted cluster of masked frames (chance: about 1 / clusters).

# %%
if P.name != "paper":
    from redundancy.pretrain import loss_curve

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 3.6))
    for family, path in CHECKPOINTS.items():
        curve = pd.DataFrame(loss_curve(path))
        ax_loss.plot(curve["step"], curve["loss"], label=family)
        ax_acc.plot(curve["step"], curve["accuracy"], label=family)
    ax_loss.set(xlabel="step", ylabel="pre-training loss", title="loss (each family its own objective)")
    ax_acc.set(xlabel="step", ylabel="accuracy on masked frames", title="masked prediction")
    ax_acc.legend()
    fig.tight_layout()
    plt.show()
    info = pd.DataFrame({f: json.loads((p / "pretrain_info.json").read_text()) for f, p in CHECKPOINTS.items()}).T
    display(info[["steps", "seconds", "device", "parameters"]])

# %% [markdown]
# ## What did pre-training teach?
#
# A linear probe per layer: each layer's hidden states, averaged over frames, feed a logistic
# regression fitted on 1,500 clips of the words train split and scored on the validation split. The
# same probe on the *random-init twin* (the same architecture, never trained) is the baseline: what
# pre-training adds is the gap between the two curves. In the real self-supervised models the probe
# rises above layer 0 in the middle layers; a flat curve means the transformer itself learned little.

# %%
if P.name != "paper":
    from redundancy.make_models import backbone_probe

    probes = {}
    for family, path in CHECKPOINTS.items():
        probe_file = path / "probe.json"  # published models carry it; otherwise it is computed here
        probes[family] = json.loads(probe_file.read_text()) if probe_file.is_file() else backbone_probe(path, ROOT, DEVICE)
    fig, axes = plt.subplots(1, len(probes), figsize=(4 * len(probes), 3.4), sharey=True, squeeze=False)
    for ax, (family, probe) in zip(axes[0], probes.items()):
        for kind, style in (("pretrained", "-o"), ("random_init", "--s")):
            ax.plot(probe[kind]["layers"], probe[kind]["accuracy"], style, ms=3, label=kind.replace("_", " "))
        ax.axhline(probe["pretrained"]["chance"], color="k", lw=0.8, ls=":", label="chance")
        ax.set(title=family, xlabel="layer (0 = feature projection)", ylim=(0, 1))
    axes[0][0].set_ylabel("probe accuracy (words, validation)")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    plt.show()
    display(pd.DataFrame({f: {"layer 0": p["pretrained"]["accuracy"][0],
                              "best layer": int(np.argmax(p["pretrained"]["accuracy"])),
                              "best": max(p["pretrained"]["accuracy"]),
                              "random twin, best": max(p["random_init"]["accuracy"])}
                          for f, p in probes.items()}).T.round(3))

# %% [markdown]
# The pre-trained models' layer similarity (linear CKA on centred representations, the analysis clips
# of the words test split). The similarity chapter studies the *fine-tuned* models, as the paper
# does; this is where they start from.

# %%
from redundancy.similarity import similarity_matrix

fig, axes = plt.subplots(1, len(CHECKPOINTS), figsize=(4 * len(CHECKPOINTS), 3.6), squeeze=False)
for ax, name in zip(axes[0], CHECKPOINTS):
    states = pipeline.hidden_states(P, name, "pretrained", DEVICE)
    matrix = similarity_matrix(states.representations("flatten"), "cka")  # centred inside, as the paper says
    image = ax.imshow(matrix, vmin=0, vmax=1, cmap="viridis", origin="lower")
    ax.set(title=f"{name} (pre-trained)", xlabel="layer", ylabel="layer")
fig.colorbar(image, ax=axes[0].tolist(), shrink=0.8, label="linear CKA")
plt.show()

# %% [markdown]
# A look inside HuBERT's targets: the k-means clusters of MFCC frames it learns to predict, under
# the spectrogram of one pre-training utterance. Stretches of one phone keep one cluster; the
# clusters change where the sound changes, which is what makes them a useful first target.

# %%
if P.name != "paper":
    import numpy as np

    from redundancy.corpus import build_pretrain_corpus
    from redundancy.pretrain import build_targets, load_targets

    corpus_dir = build_pretrain_corpus(P)
    targets = load_targets(build_targets(P.pretrain, corpus_dir))
    first = json.loads((corpus_dir / "manifest.json").read_text())["utterances"][0]
    wave = load_audio(corpus_dir / first["file"])
    fig, (ax_spec, ax_lab) = plt.subplots(2, 1, figsize=(11, 3.8), sharex=True,
                                          gridspec_kw={"height_ratios": [4, 1]})
    ax_spec.specgram(wave, NFFT=400, Fs=16000, noverlap=240, cmap="magma")
    ax_spec.set(ylabel="Hz", title=repr(first["text"]))
    frames = np.arange(len(targets[0])) * 0.02 + 0.0125
    ax_lab.imshow(targets[0][None], aspect="auto", cmap="tab20", interpolation="nearest",
                  extent=(frames[0] - 0.01, frames[-1] + 0.01, 0, 1))
    ax_lab.set(yticks=[], xlabel="seconds", ylabel="cluster")
    fig.tight_layout()
    plt.show()

# %% [markdown]
# **Exercises.**
# 1. Which component holds most of the parameters of the tiny models, and which one of the real
#    `facebook/wav2vec2-base` (build it with `transformers.Wav2Vec2Config()`)? What does that mean
#    for the savings one can expect from pruning transformer blocks?
# 2. Pre-train HuBERT with fewer clusters (`dataclasses.replace(P.pretrain, num_clusters=10)`).
#    How do the final loss and accuracy change, and why is the accuracy not comparable across k?
# 3. WavLM mixes a second utterance into 20% of the inputs but keeps the first utterance's targets.
#    Why should that help a speaker task, and what would happen to the targets if it did not?
