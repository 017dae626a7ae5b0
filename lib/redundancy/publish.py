"""Published models: the trained checkpoints a profile's book reads, with their provenance.

Train once, analyse many times (DESIGN.md): ``make models`` trains a profile's models through the
cached stages and *publishes* them here as ``save_pretrained`` folders under ``models/<profile>/``
(``$REDUNDANCY_MODELS`` moves the root), one folder per model::

    models/mini/wavlm/pretrained/          the self-supervised backbone
    models/mini/wavlm/words-seed0/         fine-tuned on the words task with seed 0
    models/mini/wavlm/words-random-frozen-cnn-seed0/   a control (metrics only, no weights)

Each folder holds ``config.json`` + ``model.safetensors`` (float16 storage, loaded as float32), the
feature-extractor config, ``metrics.json`` (computed *from the stored weights*), the training curve
and ``provenance.json``: the recipe hash, code version and commit, seed, wall time, device,
package versions, the corpus hash and the SHA-256 of the weights. The recipe hash is that of the
model's own recipe (:func:`recipe` with its state: a task's fine-tuning changes stale that task's
models only). The book refuses a folder whose recipe hash differs from the profile's (stale) or
whose weights do not match their hash (corrupt), and names the command that retrains.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

from .paths import project_root
from .config import FRONT_END_DEFAULTS

MODELS_ENV = "REDUNDANCY_MODELS"
PROVENANCE_FILE = "provenance.json"
WEIGHTS_FILE = "model.safetensors"
LR_SWEEP_FILE = "lr_sweep.json"  # the learning-rate trials of `make models`, next to the models
INDEX_FILE = "index.json"  # the profile's recipe and the corpus hash of its published set
REBUILDS_KEY = "corpus_rebuilds"  # in the index: builds of its corpus on other CPU code paths, checked
CORPUS_PATTERNS = ("*.txt", "*/*.wav")  # what the corpus hash covers: the split lists and the clips
#: Controls of the words task: the architecture from random weights, CNN frozen or trained.
CONTROLS: tuple[str, ...] = ("random-frozen-cnn", "random-trainable-cnn")


class ModelsUnavailableError(RuntimeError):
    """A published model is missing, stale (another recipe) or corrupt (weights hash differs)."""


def models_root(profile_name: str) -> Path:
    """``$REDUNDANCY_MODELS/<profile>``, else ``<project>/models/<profile>``."""
    env = os.environ.get(MODELS_ENV)
    base = Path(env).expanduser().resolve() if env else (project_root() or Path.cwd()) / "models"
    return base / profile_name


def retrain_command(profile_name: str) -> str:
    """The command that (re)trains and publishes a profile's models."""
    return "make models" if profile_name == "mini" else f"make models PROFILE={profile_name}"


#: Recipe settings added after models were published, with the value that trains exactly as before
#: the setting existed. At that value a setting is left out of the recipe, so that adding it does not
#: make every published model stale; any other value is part of the recipe like every setting.
ADDED_SETTINGS: dict[tuple[str, str], Any] = {("finetune", "head_lr_multiplier"): 1.0,
                                               ("finetune", "dropout"): None,
                                               ("finetune", "frozen_cnn_blocks"): 0,
                                               ("finetune", "pooling"): "mean",
                                               ("finetune", "train_crop_seconds"): 0.0,
                                               ("finetune", "mixed_precision"): "no",
                                               **{("model", name): list(value)
                                                  for name, value in FRONT_END_DEFAULTS.items()}}
#: The same for whole profile fields added to the recipe later (``Profile.task_finetune``).
ADDED_PARTS: dict[str, Any] = {"task_finetune": (), "family_task_finetune": ()}


def recipe(profile: Any, state: str | None = None, family: str | None = None) -> dict[str, Any]:
    """What a profile's trained models depend on: corpus, model sizes, pre-training, fine-tuning.

    ``state`` narrows it to one published model ("pretrained", "words", "speakers"): the corpus,
    model and pre-training, and the fine-tuning recipe of its own task (``Profile.finetune_for``).
    So a change to one task's schedule makes that task's models stale and no others; with ``family``,
    the family's own changes for that task count too (``Profile.family_task_finetune``). A backbone
    keeps the profile's shared ``finetune`` section, as when its hash was first recorded (changing
    the shared recipe retrains everything). None: the whole profile (``index.json``).
    Analysis and timing settings are left out: changing them must not make the models stale.
    """
    from .cache import _canonical

    parts = {part: _canonical(getattr(profile, part)) for part in ("corpus", "model", "pretrain", "finetune")}
    parts["model"].pop("source", None)  # where models are read from is not how they were trained
    if state is None:
        for part, neutral in ADDED_PARTS.items():
            if getattr(profile, part, neutral) != neutral:
                parts[part] = _canonical(getattr(profile, part))
    elif state != "pretrained":
        parts["finetune"] = _canonical(profile.finetune_for(state, family))
    for (part, name), neutral in ADDED_SETTINGS.items():
        if parts[part].get(name) == neutral:
            parts[part].pop(name)
    return parts


def recipe_hash(profile: Any, state: str | None = None, family: str | None = None) -> str:
    """Short SHA-256 of :func:`recipe`: equal hashes mean the same training recipe."""
    text = json.dumps(recipe(profile, state, family), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def set_hash(hashes: dict[str, str]) -> str:
    """One name for a set of models of one task, from each family's recipe hash: the shared hash when
    every family has the same recipe (so sets recorded before per-family recipes keep their name),
    else a short SHA-256 of the family-to-hash pairs."""
    if not hashes:
        raise ValueError("a set needs at least one family's recipe hash")
    if len(set(hashes.values())) == 1:
        return next(iter(hashes.values()))
    text = ",".join(f"{family}:{hashes[family]}" for family in sorted(hashes))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def task_set_hash(profile: Any, task: str) -> str:
    """:func:`set_hash` of the profile's recipes for ``task`` over its families: the name of the set
    of ``task`` models the profile would publish (``Profile.family_task_finetune`` may differ by family)."""
    return set_hash({family: recipe_hash(profile, task, family) for family in profile.model.families})


def read_lr_sweep(profile_name: str) -> dict[str, Any] | None:
    """Per family, the learning-rate trials of the published models and the chosen rate (None: the
    profile sweeps no rates)."""
    path = models_root(profile_name) / LR_SWEEP_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def chosen_learning_rate(profile_name: str, family: str) -> float | None:
    """The backbone learning rate the published sweep chose for ``family`` (None: none recorded)."""
    chosen = (read_lr_sweep(profile_name) or {}).get(family, {}).get("chosen")
    return None if chosen is None else float(chosen)


def family_folder(name: str) -> str:
    """A model's folder under ``models/<profile>/``: the family, or a hub name with ``/`` -> ``--``."""
    return name.replace("/", "--")


def folder_name(state: str, seed: int | None = None, control: str | None = None) -> str:
    """``pretrained``, ``words-seed0``, ``words-random-frozen-cnn-seed0`` ..."""
    if state == "pretrained":
        if seed is not None or control is not None:
            raise ValueError("a pre-trained backbone has no fine-tuning seed or control")
        return "pretrained"
    if control is not None and control not in CONTROLS:
        raise ValueError(f"unknown control {control!r}: expected one of {CONTROLS}")
    return f"{state}-{control}-seed{seed or 0}" if control else f"{state}-seed{seed or 0}"


def model_path(profile_name: str, family: str, state: str, seed: int | None = None,
               control: str | None = None) -> Path:
    """Where a published model lives (it may not exist)."""
    return models_root(profile_name) / family_folder(family) / folder_name(state, seed, control)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_provenance(folder: Path) -> dict[str, Any]:
    path = Path(folder) / PROVENANCE_FILE
    if not path.is_file():
        raise ModelsUnavailableError(f"{folder}: no {PROVENANCE_FILE}: not a published model folder")
    return json.loads(path.read_text())


def check_published(folder: Path, profile: Any, *, weights: bool = True) -> dict[str, Any]:
    """The provenance of a published folder, after checking it is current and intact.

    Raises :class:`ModelsUnavailableError` naming the retraining command when the folder is
    missing, was trained with another recipe, or its weights do not match their recorded hash.
    """
    folder = Path(folder)
    command = retrain_command(profile.name)
    if not folder.is_dir():
        raise ModelsUnavailableError(
            f"published model {folder} is missing. Train and publish the {profile.name} models with "
            f"`{command}` (or pass retrain=True to the notebook to train through the cache)."
        )
    provenance = read_provenance(folder)
    state = provenance.get("state")
    expected = recipe_hash(profile, state, provenance.get("family"))
    if provenance.get("recipe_hash") != expected:
        raise ModelsUnavailableError(
            f"published model {folder} is stale: it was trained with recipe {provenance.get('recipe_hash')}, "
            f"but the {profile.name} profile's recipe for {state} models is now {expected}. Retrain with "
            f"`{command}` (`{command} ONLY_STALE=1` retrains the stale models only); old models are never "
            "mixed with a new recipe."
        )
    if weights and provenance.get("weights_sha256"):
        actual = file_sha256(folder / WEIGHTS_FILE)
        if actual != provenance["weights_sha256"]:
            raise ModelsUnavailableError(
                f"published model {folder}: {WEIGHTS_FILE} has SHA-256 {actual[:12]}..., but its provenance "
                f"records {provenance['weights_sha256'][:12]}...: the file is corrupt or was changed. "
                f"Restore it from git or retrain with `{command}`."
            )
    return provenance


def corpus_hash(root: Path) -> str:
    """SHA-256 over the corpus' lists and clips (paths and bytes): the data the models saw."""
    root = Path(root)
    digest = hashlib.sha256()
    files = sorted({p for pattern in CORPUS_PATTERNS for p in root.glob(pattern) if p.is_file()})
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


class CorpusMismatchWarning(UserWarning):
    """The corpus built here is not the one the published models were trained and measured on."""


def read_index(profile_name: str) -> dict[str, Any]:
    """The published set's ``index.json`` (recipe, corpus build, its platform and recorded
    rebuilds), or {} when nothing is published for the profile."""
    index = models_root(profile_name) / INDEX_FILE
    return json.loads(index.read_text()) if index.is_file() else {}


def check_corpus(profile_name: str, root: str | Path) -> bool:
    """Whether the corpus at ``root`` is the one the published ``profile_name`` models saw (the
    ``corpus_hash`` of their ``index.json``); warns when it is not. The synthetic corpus is
    byte-identical only under the pinned torch and torchaudio (its clips are resampled with
    torchaudio) and on one CPU code path (:mod:`redundancy.cpu_platform`), so another install or
    another kind of CPU can build clips that differ in their last bits. True when nothing is
    published."""
    record = read_index(profile_name)
    recorded = record.get("corpus_hash")
    if recorded is None:
        return True
    rebuild = recorded_rebuild(record)
    return _corpus_matches(profile_name, str(root), recorded, record.get("corpus_platform"),
                           rebuild.get("corpus_hash"), rebuild.get("recorded_on"))


def recorded_rebuild(index: dict[str, Any], platform: str | None = None) -> dict[str, Any]:
    """The rebuild of the published corpus recorded in ``index`` for ``platform`` (default: this
    machine's CPU code path; :mod:`redundancy.corpus_rebuild` records them), or {}."""
    from .cpu_platform import corpus_platform, same_code_path

    here = platform or corpus_platform()
    rebuilds = index.get(REBUILDS_KEY, {})
    if here in rebuilds:
        return rebuilds[here]
    # a record kept before MKL's branch was part of the path covers every branch of its vendor and width
    return next((entry for recorded, entry in rebuilds.items() if same_code_path(recorded, here)), {})


def corpus_difference_explained(recorded_platform: str | None) -> bool:
    """Whether a corpus hash other than the published one is expected here: the published corpus
    was built on another CPU code path (:func:`redundancy.cpu_platform.corpus_platform`), where
    MKL rounds some samples to the other int16 neighbour. False when the path is the same or
    unrecorded: then a different hash means different data (or different packages)."""
    from .cpu_platform import same_code_path

    return recorded_platform is not None and not same_code_path(recorded_platform)


@functools.lru_cache(maxsize=None)
def _corpus_matches(profile_name: str, root: str, recorded: str, recorded_platform: str | None = None,
                    rebuild: str | None = None, rebuild_date: str | None = None) -> bool:
    """:func:`check_corpus` once per process for each corpus and record (hashing reads every clip)."""
    from .cpu_platform import corpus_platform

    actual = corpus_hash(Path(root))
    if actual == recorded:
        return True
    if actual == rebuild:
        cause = (f"It is the rebuild recorded for this CPU code path ({corpus_platform()}) on {rebuild_date}: "
                 f"the training build was made on {recorded_platform}, where MKL rounds a few samples to the "
                 "other 16-bit neighbour, and every published model scores on this one within one test clip "
                 "of its committed accuracy (`python -m redundancy record-corpus-rebuild` checked it).")
    elif corpus_difference_explained(recorded_platform):
        cause = (f"The published corpus was built on another CPU code path ({recorded_platform}; here "
                 f"{corpus_platform()}), where MKL rounds a few samples to the other 16-bit neighbour "
                 "(at most one least significant bit in at most 2e-4 of the samples, measured by "
                 "benchmarks/corpus_cpu_paths.py): the same speech, not the same bytes.")
    else:
        cause = ("The usual cause is a torch or torchaudio other than the pinned ones (requirements.txt; "
                 "`make venv` installs them).")
    warnings.warn(
        f"the {profile_name} corpus built here ({root}, hash {actual}) is not the one the published models "
        f"were trained and measured on (hash {recorded}): their committed metrics describe other clips, "
        f"and analyses here read slightly different data. {cause} "
        f"`{retrain_command(profile_name)}` retrains the models on this corpus.",
        CorpusMismatchWarning, stacklevel=3)
    return False


def published_key(folder: Path) -> str | None:
    """A cache key for a published folder: the hash of its weights (None if not a published one)."""
    path = Path(folder) / PROVENANCE_FILE
    if not path.is_file():
        return None
    sha = json.loads(path.read_text()).get("weights_sha256")
    return f"published-{sha[:16]}" if sha else None


def published_digest(folder: Path) -> str | None:
    """One short hash of every published model under ``folder`` (a profile's models root): each
    model's path and weights hash. A chapter records it when executed, so that the status page can
    tell a chapter executed on other published models than today's. None: nothing published there."""
    records = sorted(f"{path.parent.relative_to(folder).as_posix()}:{json.loads(path.read_text()).get('weights_sha256')}"
                     for path in Path(folder).glob(f"**/{PROVENANCE_FILE}"))
    return hashlib.sha256("\n".join(records).encode()).hexdigest()[:16] if records else None


def weights_record(profile_name: str, models: dict[str, tuple[str, ...]]) -> dict[str, dict[str, str | None]]:
    """What a study read: family -> state -> :func:`published_key` of the published folder (seed 0).
    A study stores it, so that a later reader can tell whether it still describes the published models."""
    return {family: {state: published_key(model_path(profile_name, family, state, None if state == "pretrained" else 0))
                     for state in states} for family, states in models.items()}


def changed_since(recorded: dict[str, dict[str, str | None]] | None, profile_name: str) -> list[str] | None:
    """The models (``family/state``) whose published weights are no longer those a study recorded
    with :func:`weights_record`; None when the study recorded none (it may describe earlier models)."""
    if not recorded:
        return None
    now = weights_record(profile_name, {family: tuple(states) for family, states in recorded.items()})
    return [f"{family}/{state}" for family, states in recorded.items() for state, key in states.items()
            if now[family][state] != key]


def source_key(source: str | Path) -> str:
    """Cache input naming a model: a cached artifact's key, a published folder's weights hash, the
    content hash of any other checkpoint folder, or a hub name as it is.

    Never the path alone: republishing a model keeps its path, and an analysis cached under the path
    would silently describe the old weights."""
    from . import cache

    path = Path(str(source))
    if not path.is_dir():
        return str(source)
    if (path / "_manifest.json").is_file():
        return cache.key_of(path)
    published = published_key(path)
    if published:
        return published
    digest = hashlib.sha256()
    for file in sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")):
        digest.update(file.name.encode() + b"\0" + bytes.fromhex(file_sha256(file)))
    return f"folder-{digest.hexdigest()[:16]}"


def package_versions() -> dict[str, str]:
    import numpy
    import torch
    import transformers

    from . import __version__

    return {"redundancy": __version__, "torch": torch.__version__,
            "transformers": transformers.__version__, "numpy": numpy.__version__}


def git_commit() -> str | None:
    """The checkout's commit (with ``+dirty`` when the working tree differs), or None outside git.
    ``$REDUNDANCY_GIT_COMMIT`` names it for a copy of the checkout without ``.git`` (a GPU machine
    that receives the working tree only)."""
    import subprocess

    if os.environ.get("REDUNDANCY_GIT_COMMIT"):
        return os.environ["REDUNDANCY_GIT_COMMIT"]

    root = project_root()
    if root is None:
        return None
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "lib"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return sha + ("+dirty" if dirty else "")


def export(source: Path, dest: Path, provenance: dict[str, Any], *, with_weights: bool = True,
           extra_files: tuple[str, ...] = ("metrics.json", "train_log.json", "loss_curve.json",
                                            "pretrain_info.json", "test_predictions.npz")) -> Path:
    """Publish a cached checkpoint folder at ``dest`` (replaced atomically).

    Weights are stored as float16 (half the size; ``load`` casts back to float32); the caller
    re-measures metrics from the stored weights. ``with_weights=False`` publishes the metrics and
    curves only (the controls).
    """
    import torch

    from .models import load_backbone, load_classifier

    source, dest = Path(source), Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    try:
        if with_weights:
            architectures = json.loads((source / "config.json").read_text()).get("architectures") or ()
            classifier = any("Classification" in name for name in architectures)
            model = load_classifier(source) if classifier else load_backbone(source, dtype=torch.float32)
            model.half().save_pretrained(str(tmp))
            _set_config_dtype(tmp, "float32")
            for name in ("preprocessor_config.json",):
                if (source / name).is_file():
                    shutil.copy2(source / name, tmp / name)
        for name in extra_files:
            if (source / name).is_file():
                shutil.copy2(source / name, tmp / name)
        record = dict(provenance)
        record["weights_sha256"] = file_sha256(tmp / WEIGHTS_FILE) if with_weights else None
        record["weights_dtype"] = "float16" if with_weights else None
        (tmp / PROVENANCE_FILE).write_text(json.dumps(record, indent=2, sort_keys=True))
        if dest.exists():
            shutil.rmtree(dest)
        os.rename(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def _set_config_dtype(folder: Path, dtype: str) -> None:
    """Record float32 as the model's dtype, so that loading upcasts the float16 storage."""
    path = folder / "config.json"
    config = json.loads(path.read_text())
    for key in ("dtype", "torch_dtype"):
        if key in config:
            config[key] = dtype
    path.write_text(json.dumps(config, indent=2, sort_keys=True))


def update_metrics(folder: Path, metrics: dict[str, Any]) -> None:
    """Rewrite a published folder's ``metrics.json`` (after re-measuring from the stored weights)."""
    (Path(folder) / "metrics.json").write_text(json.dumps(metrics, indent=2))


def provenance_record(profile: Any, *, family: str, state: str, seed: int | None, control: str | None,
                      corpus_hash: str, seconds: float | None, device: str, cache_key: str,
                      threads: int | None = None) -> dict[str, Any]:
    """The provenance of one published model (see the module docstring). ``threads``: the torch
    threads the run trained with (a worker's, not this process's); None: this process's."""
    import platform

    import torch

    return {
        "profile": profile.name,
        "recipe_hash": recipe_hash(profile, state, family),
        "family": family,
        "state": state,
        "seed": seed,
        "control": control,
        "corpus_hash": corpus_hash,
        "train_seconds": seconds,
        "device": device,
        "torch_threads": threads if threads is not None else torch.get_num_threads(),
        "machine": platform.machine(),
        "versions": package_versions(),
        "git_commit": git_commit(),
        "cache_key": cache_key,
        "finetune": dataclasses.asdict(profile.finetune_for(state, family)) if state != "pretrained" else None,
    }
