"""Speech Commands v0.02 (real or synthetic): the two tasks of the paper over one folder layout.

Layout (Warden 2018, arXiv:1804.03209): ``ROOT/<word>/<speaker>_nohash_<n>.wav``, plus
``ROOT/validation_list.txt`` and ``ROOT/testing_list.txt`` (paths relative to ROOT; every other clip is
train) and ``ROOT/_background_noise_/``. The same reader serves the real archive and SynthCommands.

Tasks, as in the authors' code (see PAPER.md):

- ``words``: the 35 words (label = index in :data:`WORDS`), splits from the dataset's own lists.
- ``speakers``: from the *train* split only, speakers with at least ``min_utterances`` clips become
  classes (sorted speaker ids); their clips are split 90/10 with ``seed`` (42 in the paper). We
  split per speaker (stratified), so that every class has test clips even with few utterances.

Unreadable files: listing a split checks every file's header (``soundfile.info``, cheap). A file that
fails is *skipped and reported*: it is listed in ``CommandsSplit.skipped`` with the reason and a
warning names how many were skipped and the first few, so nothing is dropped silently. Pass
``on_error="raise"`` to make the first such file an :class:`~redundancy.audio.AudioError` instead.
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .audio import CLIP_SAMPLES, SAMPLE_RATE, AudioError, fix_length, load_audio

#: The 35 words of Speech Commands v0.02, sorted; a word's label id is its index.
WORDS: tuple[str, ...] = (
    "backward", "bed", "bird", "cat", "dog", "down", "eight", "five", "follow", "forward",
    "four", "go", "happy", "house", "learn", "left", "marvin", "nine", "no", "off",
    "on", "one", "right", "seven", "sheila", "six", "stop", "three", "tree", "two",
    "up", "visual", "wow", "yes", "zero",
)  # fmt: skip

TASKS: tuple[str, ...] = ("words", "speakers")
SPLITS: dict[str, tuple[str, ...]] = {
    "words": ("train", "validation", "test"),
    "speakers": ("train", "validation", "test"),
}
VALIDATION_LIST = "validation_list.txt"
TESTING_LIST = "testing_list.txt"
NOISE_DIR = "_background_noise_"
SPEAKER_TEST_FRACTION = 0.1  # the authors' 90/10 split of the speakers task
# Our addition: a validation part for model selection, taken from the authors' 90 % train part, so
# the test clips stay exactly the authors' (90/10 becomes 80/10/10 for training/validation/test).
SPEAKER_VALIDATION_FRACTION = 0.1


@dataclass
class CommandsSplit:
    """One split of one task: file paths, integer labels and speaker ids, read lazily."""

    files: list[Path]
    labels: np.ndarray
    speakers: list[str]
    classes: list[str]
    task: str
    split: str
    root: Path
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[np.ndarray, int]:
        """The clip as float32 of exactly 1 s at 16 kHz, and its label."""
        return fix_length(load_audio(self.files[index], SAMPLE_RATE), CLIP_SAMPLES), int(self.labels[index])

    def load_all(self, progress: bool = True) -> np.ndarray:
        """Every clip of the split as one (n, 16000) float32 array (about 64 kB per clip)."""
        from tqdm import tqdm

        out = np.empty((len(self.files), CLIP_SAMPLES), dtype=np.float32)
        for i, path in enumerate(
            tqdm(self.files, desc=f"reading {self.task}/{self.split}", disable=not progress, unit="clip")
        ):
            out[i] = fix_length(load_audio(path, SAMPLE_RATE), CLIP_SAMPLES)
        return out

    def counts(self) -> dict[str, int]:
        """Clips per class name (classes without clips included, with 0)."""
        tally = Counter(self.labels.tolist())
        return {name: tally.get(i, 0) for i, name in enumerate(self.classes)}


def speaker_of(path: str | Path) -> str:
    """The speaker id of a clip: the part of the file name before ``_nohash_``."""
    name = Path(path).name
    if "_nohash_" not in name:
        raise ValueError(f"{path}: not a Speech Commands clip name (expected <speaker>_nohash_<n>.wav)")
    return name.split("_nohash_")[0]


def read_list(root: Path, name: str) -> set[str]:
    """A split list as a set of ``word/file.wav`` strings; a missing list is a clear error."""
    path = Path(root) / name
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: missing. A Speech Commands v0.02 root must contain {VALIDATION_LIST} and "
            f"{TESTING_LIST} next to the word folders (is {root} the extracted archive's top folder?)"
        )
    return {line.strip().replace("\\", "/") for line in path.read_text().splitlines() if line.strip()}


def list_clips(root: Path) -> list[str]:
    """Every clip of a root as sorted ``word/file.wav``; a folder that is not one of the 35 words fails."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such Speech Commands root folder")
    clips = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if folder.name == NOISE_DIR or folder.name.startswith("."):
            continue
        if folder.name not in WORDS:
            raise ValueError(
                f"{folder}: folder {folder.name!r} is not one of the 35 words of Speech Commands v0.02 "
                f"({', '.join(WORDS)}); remove it or point the root elsewhere"
            )
        clips.extend(f"{folder.name}/{f.name}" for f in sorted(folder.glob("*.wav")))
    if not clips:
        raise ValueError(f"{root}: no clips found (expected <word>/<speaker>_nohash_<n>.wav files)")
    return clips


def _words_split(root: Path, split: str) -> list[str]:
    validation = read_list(root, VALIDATION_LIST)
    testing = read_list(root, TESTING_LIST)
    clips = list_clips(root)
    if split == "validation":
        return [c for c in clips if c in validation]
    if split == "test":
        return [c for c in clips if c in testing]
    return [c for c in clips if c not in validation and c not in testing]


def _check_headers(
    root: Path, clips: list[str], on_error: str, progress: bool
) -> tuple[list[str], list[tuple[Path, str]]]:
    """Keep the clips whose header libsndfile can parse; report (or raise for) the others."""
    import soundfile as sf
    from tqdm import tqdm

    good, skipped = [], []
    for clip in tqdm(clips, desc="checking files", disable=not progress, unit="file"):
        path = root / clip
        try:
            info = sf.info(str(path))
            problem = "audio file is empty (0 samples)" if info.frames == 0 else None
        except (sf.LibsndfileError, RuntimeError) as error:
            problem = f"not a readable audio file ({error})"
        if problem is None:
            good.append(clip)
        elif on_error == "raise":
            raise AudioError(f"{path}: {problem}")
        else:
            skipped.append((path, problem))
    if skipped:
        shown = "; ".join(f"{p}: {why}" for p, why in skipped[:3])
        warnings.warn(f"skipped {len(skipped)} unreadable file(s) under {root}: {shown}", stacklevel=3)
    return good, skipped


def _speaker_split(
    clips: list[str], min_utterances: int, seed: int
) -> tuple[list[str], dict[str, list[str]]]:
    """Classes (sorted speakers with enough clips) and their clips split 80/10/10 per speaker.

    The test tenth is the authors' 90/10 draw; the validation tenth comes out of their train part.
    """
    by_speaker: dict[str, list[str]] = {}
    for clip in clips:
        by_speaker.setdefault(speaker_of(clip), []).append(clip)
    classes = sorted(s for s, cs in by_speaker.items() if len(cs) >= min_utterances)
    rng = np.random.default_rng(seed)
    parts: dict[str, list[str]] = {"train": [], "validation": [], "test": []}
    for speaker in classes:
        own = sorted(by_speaker[speaker])
        order = rng.permutation(len(own))
        n_test = max(1, int(round(SPEAKER_TEST_FRACTION * len(own))))
        n_val = max(1, int(round(SPEAKER_VALIDATION_FRACTION * len(own))))
        parts["test"].extend(own[i] for i in order[:n_test])
        parts["validation"].extend(own[i] for i in order[n_test:n_test + n_val])
        parts["train"].extend(own[i] for i in order[n_test + n_val:])
    return classes, {k: sorted(v) for k, v in parts.items()}


def load_split(
    root: str | Path,
    task: str,
    split: str,
    *,
    min_utterances: int = 50,
    seed: int = 42,
    progress: bool = False,
    on_error: str = "skip",
) -> CommandsSplit:
    """One split of the ``words`` or ``speakers`` task over a Speech Commands v0.02 root.

    ``min_utterances`` and ``seed`` only matter for ``speakers`` (the authors' 50 and 42).
    ``on_error``: ``"skip"`` (report unreadable files in ``.skipped``, and warn) or ``"raise"``.
    """
    root = Path(root)
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}: valid tasks are {', '.join(TASKS)}")
    if split not in SPLITS[task]:
        raise ValueError(f"unknown split {split!r} for task {task!r}: valid splits are "
                         f"{', '.join(SPLITS[task])}")
    if on_error not in ("skip", "raise"):
        raise ValueError(f"on_error must be 'skip' or 'raise', got {on_error!r}")
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such Speech Commands root folder")
    if task == "words":
        clips, skipped = _check_headers(root, _words_split(root, split), on_error, progress)
        classes = list(WORDS)
        labels = [WORDS.index(c.split("/")[0]) for c in clips]
    else:
        train, skipped = _check_headers(root, _words_split(root, "train"), on_error, progress)
        classes, parts = _speaker_split(train, min_utterances, seed)
        if not classes:
            raise ValueError(
                f"{root}: no speaker of the train split has at least {min_utterances} utterances, "
                "so the speakers task has no classes (lower min_utterances for a small corpus)"
            )
        clips = parts[split]
        index = {s: i for i, s in enumerate(classes)}
        labels = [index[speaker_of(c)] for c in clips]
    return CommandsSplit(
        files=[root / c for c in clips],
        labels=np.asarray(labels, dtype=np.int64),
        speakers=[speaker_of(c) for c in clips],
        classes=classes,
        task=task,
        split=split,
        root=root,
        skipped=skipped,
    )
