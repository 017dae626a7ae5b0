"""The pipeline the notebooks call: corpus -> pre-trained models -> fine-tuned models -> analyses.

Calls go one way: the pipeline (and the command line) resolve the profile once and hand each stage
its own configuration section and explicit paths; no stage imports the pipeline back.

Each function is a cached stage (see :mod:`redundancy.cache`), so calling it again is free, and the
notebooks can ask for what they need in any order. Models are named by family in the mini and smoke
profiles (``wav2vec2``, ``hubert``, ``wavlm``: pre-trained here) and by hub name or local folder in the
paper profile.
"""

from __future__ import annotations

import argparse

from pathlib import Path

import numpy as np

from .config import Profile, load_profile

STATES: tuple[str, ...] = ("pretrained", "words", "speakers")


def _profile(profile: Profile | str | None) -> Profile:
    return profile if isinstance(profile, Profile) else load_profile(profile)


def model_names(profile: Profile | str | None = None) -> list[str]:
    """The models a profile studies: hub names (paper) or families pre-trained here."""
    profile = _profile(profile)
    return list(profile.model.hub_names) or list(profile.model.families)


def corpus_root(profile: Profile | str | None = None, progress: bool = True) -> Path:
    """The Speech Commands root of the profile (synthesised and cached, or the real one). When the
    profile reads published models, the corpus is checked against the one they saw
    (:func:`redundancy.publish.check_corpus`: a mismatch warns)."""
    from . import publish
    from .corpus import build_corpus

    profile = _profile(profile)
    root = build_corpus(profile, progress=progress)
    if profile.model.source == "published":
        publish.check_corpus(profile.name, str(root))
    return root


def pretrained_dir(profile: Profile | str | None, name: str, device: str = "auto", progress: bool = True) -> Path | str:
    """A pre-trained backbone: pre-trained here (family names) or a hub name / local folder."""
    profile = _profile(profile)
    if name in profile.model.hub_names or Path(name).is_dir() or "/" in name:
        return name
    if name not in profile.model.families:
        raise ValueError(
            f"unknown model {name!r} for profile {profile.name!r}: expected one of {model_names(profile)}"
        )
    from .corpus import build_pretrain_corpus
    from .pretrain import pretrain

    return pretrain(name, profile.model, profile.pretrain, corpus_dir=build_pretrain_corpus(profile, progress),
                    device=device, progress=progress)


def finetuned_dir(profile: Profile | str | None, name: str, task: str, *, random_init: bool = False,
                  train_cnn: bool | None = None, device: str = "auto", seed: int = 0, progress: bool = True,
                  backbone: Path | None = None) -> Path:
    """A model fine-tuned on ``task`` with ``seed`` (``random_init``: the architecture without
    pre-training). ``profile.finetune.seeds`` lists the seeds a profile trains. ``backbone``: the
    checkpoint to fine-tune (a published backbone); None: the profile's pre-training, cached."""
    from .finetune import finetune

    profile = _profile(profile)
    source = backbone if backbone is not None else pretrained_dir(profile, name, device, progress)
    return finetune(source, task, profile.finetune_for(task, name),
                    corpus_root=corpus_root(profile, progress), speaker_min_utterances=profile.corpus.speaker_min_utterances,
                    speaker_split_seed=profile.corpus.speaker_split_seed, random_init=random_init,
                    train_cnn=train_cnn, seed=seed, device=device, progress=progress)


def model_dir(profile: Profile | str | None, name: str, state: str, device: str = "auto",
              seed: int = 0) -> Path | str:
    """The checkpoint of a model in a state: ``pretrained``, ``words`` or ``speakers`` (with its
    fine-tuning ``seed``; the pre-trained state has one model per family).

    With ``profile.model.source == "published"`` the checkpoint is the published folder under
    ``models/<profile>/``, checked against the profile's recipe and its weights hash (a missing or
    stale model fails with the command that retrains); with ``"train"`` it comes from the cache.
    """
    profile = _profile(profile)
    if state not in STATES:
        raise ValueError(f"unknown state {state!r}: expected one of {STATES}")
    if profile.model.source == "published" and not (state == "pretrained" and profile.model.hub_names):
        return published_dir(profile, name, state, seed)
    if state == "pretrained":
        return pretrained_dir(profile, name, device)
    return finetuned_dir(profile, name, state, device=device, seed=seed)


def published_dir(profile: Profile | str | None, name: str, state: str, seed: int = 0) -> Path:
    """The published folder of a model (see :mod:`redundancy.publish`), checked before use."""
    from . import publish

    profile = _profile(profile)
    if name not in model_names(profile):
        raise ValueError(
            f"unknown model {name!r} for profile {profile.name!r}: expected one of {model_names(profile)}"
        )
    folder = publish.model_path(profile.name, name, state, None if state == "pretrained" else seed)
    publish.check_published(folder, profile)
    return folder


def analysis_waveforms(profile: Profile | str | None = None) -> tuple[np.ndarray, str]:
    """The clips every analysis uses: a fixed random ``n_utterances`` of the words test split.

    Returns the (n, 16000) float32 array and a key naming exactly this data for the cache.
    """
    from . import cache
    from .commands import load_split

    profile = _profile(profile)
    root = corpus_root(profile)
    split = load_split(root, "words", "test")
    order = _analysis_indices(profile, len(split))
    n = len(order)
    waveforms = np.stack([split[int(i)][0] for i in order]).astype(np.float32)
    key = cache.stage_key("analysis-waveforms", {"n": n, "seed": profile.corpus.seed}, [cache.folder_key(root)])
    return waveforms, key


def analysis_labels(profile: Profile | str | None = None) -> np.ndarray:
    """Word labels of :func:`analysis_waveforms`' clips, in the same order."""
    from .commands import load_split

    profile = _profile(profile)
    split = load_split(corpus_root(profile), "words", "test")
    return np.asarray(split.labels)[_analysis_indices(profile, len(split))]


def _analysis_indices(profile: Profile, n_clips: int) -> np.ndarray:
    """A fixed random subset of the test clips (sorted), the same for every model and analysis."""
    n = min(profile.analysis.n_utterances, n_clips)
    return np.sort(np.random.default_rng(profile.corpus.seed).permutation(n_clips)[:n])


def hidden_states(profile: Profile | str | None, name: str, state: str, device: str = "auto",
                  seed: int = 0):
    """Hidden states of every layer of a model on the analysis clips (extracted once, cached)."""
    from .config import resolve_device
    from .features import cached_hidden_states

    profile = _profile(profile)
    waveforms, data_key = analysis_waveforms(profile)
    return cached_hidden_states(
        Path(str(model_dir(profile, name, state, device, seed=seed))), waveforms, data_key,
        batch_size=profile.analysis.batch_size, device=resolve_device(device),
    )


def add_cli(subparsers) -> None:
    """``python -m redundancy finetune --profile P --model M --task T [--seed S]``: one run."""
    parser = subparsers.add_parser("finetune", help="fine-tune one of the profile's models on a task")
    parser.add_argument("--profile", default=None)
    parser.add_argument("--model", required=True, help="family (mini/smoke), hub name or folder")
    parser.add_argument("--task", choices=("words", "speakers"), required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--random-init", action="store_true")
    parser.add_argument("--train-cnn", action=argparse.BooleanOptionalAction, default=None,
                        help="train the CNN feature encoder (or --no-train-cnn: keep it frozen); default: the recipe's")
    parser.set_defaults(func=_finetune_cli)


def _finetune_cli(args) -> int:
    import json

    from .finetune import read_metrics

    profile = load_profile(args.profile)
    folder = finetuned_dir(profile, args.model, args.task, random_init=args.random_init,
                          train_cnn=args.train_cnn, seed=args.seed, device=args.device)
    print(json.dumps(read_metrics(folder), indent=2))
    print(folder)
    return 0
