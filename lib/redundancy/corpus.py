"""SynthCommands: the 35 Speech Commands words spoken by synthetic voices, in the real layout.

No machine this project is tested on can download Speech Commands, so the mini and smoke profiles
speak the same words with eSpeak NG (``espeakng-loader`` ships the library and its data; driven
through ctypes) and write them exactly as Speech Commands v0.02 is laid out, so that the one loader
(:mod:`redundancy.commands`) reads both. A *speaker* is a fixed accent, voice variant, base pitch,
pitch range, speaking rate and room. Each utterance jitters pitch, rate and gain, sits at a random
place in its 1 s clip, gets a light synthetic room reverberation and background noise at a random SNR.

Determinism: every random draw comes from a numpy Generator seeded by (seed, speaker, word,
repetition), and WAVs are written as 16-bit PCM from int16 arrays. eSpeak NG itself keeps a hidden
global state across calls (its pitch "flutter" index and C ``rand()``, which survive even
``espeak_Terminate``), so the same request gives slightly different audio depending on what was
spoken before in the process. Each build therefore speaks in a *fresh* helper process, in a fixed
order, which makes the same profile and seed byte-identical from run to run.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .audio import SAMPLE_RATE, resample
from .commands import NOISE_DIR, TESTING_LIST, VALIDATION_LIST, WORDS

CLIP = SAMPLE_RATE  # 1 s clips
ESPEAK_RATE = 22050  # eSpeak NG's output rate

# Voices: accents of the English voices shipped with eSpeak NG, and voice variants (formant sets).
ACCENTS: tuple[str, ...] = (
    "en-us", "en", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-us-nyc", "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
)  # fmt: skip
VARIANTS: tuple[str, ...] = (
    "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt2",
    "klatt3", "adam", "linda", "Annie", "Andy", "edward",
)  # fmt: skip

#: Everything about the voices and the recording simulation; part of the cache key.
SYNTHESIS: dict[str, Any] = {
    "format": 2,  # bump when the synthesis code changes its output
    "accents": ACCENTS,
    "variants": VARIANTS,
    "pitch": (25, 75),  # eSpeak base pitch, 0-100 (50 = the voice's default)
    "pitch_range": (30, 90),  # eSpeak intonation range, 0-100
    "rate_wpm": (140, 195),  # base speaking rate, words per minute (eSpeak default 175)
    "pitch_jitter": 6,  # +- per utterance, eSpeak units
    "rate_jitter": 0.10,  # +- relative, per utterance
    "peak_dbfs": (-14.0, -2.0),  # speech peak level per utterance (the gain jitter)
    "rt60_s": (0.08, 0.35),  # per-speaker room: reverberation time
    "drr_db": (6.0, 16.0),  # per-speaker room: direct-to-reverberant energy ratio
    "max_word_s": 0.95,
    "phrase_gap_s": (0.08, 0.35),  # pre-training corpus: silence between phrases
    "noises": ("white_noise", "pink_noise", "brown_noise", "hum", "running_tap"),
}


# --------------------------------------------------------------------------------------------
# eSpeak NG through ctypes, in a helper process


def _espeak_server() -> None:  # pragma: no cover - runs in the helper process
    """Helper-process loop: read JSON requests on stdin, answer int16 PCM at 22050 Hz on stdout.

    Protocol: one JSON line per request ``{"voice", "rate", "pitch", "range", "text", "seed"}``;
    reply: 4-byte little-endian status (0 ok, else eSpeak error code), 4-byte sample count, samples.
    """
    import ctypes

    import espeakng_loader

    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything the C library prints goes to stderr, never into the protocol
    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    callback_type = ctypes.CFUNCTYPE(
        ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
    )
    chunks: list[bytes] = []

    def collect(wav, n, _events):  # type: ignore[no-untyped-def]
        if wav and n > 0:
            chunks.append(ctypes.string_at(wav, 2 * n))
        return 0  # 0: continue synthesis

    callback = callback_type(collect)
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
    lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                 ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
    # speak_lib.h: AUDIO_OUTPUT_SYNCHRONOUS = 2 (samples go to the callback, Synth returns when
    # done); espeakINITIALIZE_DONT_EXIT = 0x8000. Returns the sample rate (22050).
    rate = lib.espeak_Initialize(2, 0, espeakng_loader.get_data_path().encode(), 0x8000)
    if rate != ESPEAK_RATE:
        raise RuntimeError(f"espeak_Initialize returned {rate}, expected sample rate {ESPEAK_RATE}")
    lib.espeak_SetSynthCallback(callback)
    for line in sys.stdin:
        request = json.loads(line)
        chunks.clear()
        status = lib.espeak_SetVoiceByName(request["voice"].encode())
        if status == 0:
            # espeak_PARAMETER: espeakRATE = 1, espeakPITCH = 3, espeakRANGE = 4 (absolute values)
            for parameter, value in ((1, request["rate"]), (3, request["pitch"]), (4, request["range"])):
                lib.espeak_SetParameter(parameter, int(value), 0)
            lib.espeak_ng_SetRandSeed(int(request["seed"]))
            text = request["text"].encode()
            # position 0, POS_CHARACTER = 1, no end, espeakCHARS_UTF8 = 1
            status = lib.espeak_Synth(text, len(text) + 1, 0, 1, 0, 1, None, None)
        pcm = b"".join(chunks) if status == 0 else b""
        out.write(struct.pack("<iI", status, len(pcm) // 2) + pcm)
        out.flush()


def _start_helper(server: str) -> subprocess.Popen:
    """A helper process running ``redundancy.corpus.<server>()``, talking over its stdin and stdout
    (this package found first on its path, whatever the caller's working directory)."""
    package_parent = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([package_parent, os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen([sys.executable, "-c", f"from redundancy.corpus import {server}; {server}()"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)


class Espeak:
    """A fresh eSpeak NG helper process (see the module docstring for why fresh). Use as a context."""

    def __init__(self) -> None:
        self._proc = _start_helper("_espeak_server")

    def say(self, text: str, voice: str, rate: int, pitch: int, pitch_range: int, seed: int) -> np.ndarray:
        """Speak ``text``; float32 samples at 22050 Hz. An unknown voice is an error naming it."""
        request = {"voice": voice, "rate": int(rate), "pitch": int(pitch), "range": int(pitch_range),
                   "text": text, "seed": int(seed)}
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write((json.dumps(request) + "\n").encode())
        self._proc.stdin.flush()
        header = self._proc.stdout.read(8)
        if len(header) != 8:
            code = self._proc.poll()
            raise RuntimeError(f"the eSpeak NG helper process died (exit code {code}); see stderr")
        status, n = struct.unpack("<iI", header)
        pcm = self._proc.stdout.read(2 * n)
        if status != 0:
            raise ValueError(f"eSpeak NG failed for voice {voice!r}, text {text!r} (espeak_ERROR {status}; "
                             "2 = voice not found)")
        return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0

    def close(self) -> None:
        if self._proc.poll() is None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            self._proc.wait(timeout=30)

    def __enter__(self) -> Espeak:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------------------------
# Speakers, splits, noise, rooms (pure numpy, deterministic)


@dataclass(frozen=True)
class Speaker:
    """A synthetic speaker: fixed voice and room."""

    index: int
    name: str  # 8 hex digits, like the real dataset's speaker hashes
    accent: str
    variant: str
    pitch: int
    pitch_range: int
    rate: int
    rt60: float
    drr_db: float

    @property
    def voice(self) -> str:
        return f"{self.accent}+{self.variant}"


def make_speakers(n: int, seed: int) -> list[Speaker]:
    """``n`` speakers drawn from ``seed``; accent x variant pairs are distinct while they last."""
    if n < 1:
        raise ValueError(f"n_speakers must be at least 1, got {n}")
    rng = np.random.default_rng([seed, 0])
    pairs = [(a, v) for a in ACCENTS for v in VARIANTS]
    order = np.concatenate([rng.permutation(len(pairs)) for _ in range(-(-n // len(pairs)))])
    s = SYNTHESIS
    speakers = []
    for i in range(n):
        accent, variant = pairs[order[i]]
        name = hashlib.sha256(f"synthcommands:{seed}:{i}".encode()).hexdigest()[:8]
        speakers.append(Speaker(
            index=i, name=name, accent=accent, variant=variant,
            pitch=int(rng.integers(s["pitch"][0], s["pitch"][1] + 1)),
            pitch_range=int(rng.integers(s["pitch_range"][0], s["pitch_range"][1] + 1)),
            rate=int(rng.integers(s["rate_wpm"][0], s["rate_wpm"][1] + 1)),
            rt60=float(rng.uniform(*s["rt60_s"])),
            drr_db=float(rng.uniform(*s["drr_db"])),
        ))
    if len({sp.name for sp in speakers}) != n:
        raise RuntimeError(f"speaker name collision for seed {seed}; choose another seed")
    return speakers


def split_speakers(speakers: list[Speaker], heldout_fraction: float, seed: int) -> dict[str, str]:
    """Speaker name -> "train" / "validation" / "test"; about ``heldout_fraction`` each, disjoint."""
    n = len(speakers)
    held = max(1, int(round(heldout_fraction * n)))
    if n < 2 * held + 1:
        raise ValueError(f"{n} speakers cannot give {held} validation, {held} test and >= 1 train speaker; "
                         "raise n_speakers or lower heldout_fraction")
    order = np.random.default_rng([seed, 1]).permutation(n)
    split = {speakers[i].name: "train" for i in range(n)}
    for rank, i in enumerate(order[: 2 * held]):
        split[speakers[i].name] = "test" if rank < held else "validation"
    return split


def _colored(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """Gaussian noise with power spectrum ~ 1/f**exponent (0 white, 1 pink, 2 brown)."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
    f[0] = f[1]
    return np.fft.irfft(spectrum * f ** (-exponent / 2.0), n)


def background_noises(seconds: float, seed: int) -> dict[str, np.ndarray]:
    """The ``_background_noise_`` recordings: white, pink, brown noise, mains hum, a running tap.

    Returned as int16-quantised float32 (exactly what is written), each at an RMS of about 0.1.
    """
    from scipy.signal import butter, sosfilt

    n = int(seconds * SAMPLE_RATE)
    rng = np.random.default_rng([seed, 3])
    t = np.arange(n) / SAMPLE_RATE
    noises = {
        "white_noise": rng.standard_normal(n),
        "pink_noise": _colored(rng, n, 1.0),
        "brown_noise": _colored(rng, n, 2.0),
    }
    hum = sum(np.sin(2 * np.pi * 50 * k * t + rng.uniform(0, 2 * np.pi)) / k for k in range(1, 8))
    noises["hum"] = hum * (1 + 0.2 * np.sin(2 * np.pi * 0.3 * t)) + 0.3 * _colored(rng, n, 1.0)
    tap = sosfilt(butter(4, [700, 5000], btype="band", fs=SAMPLE_RATE, output="sos"), rng.standard_normal(n))
    envelope = np.abs(_colored(rng, n, 2.0))
    noises["running_tap"] = tap * (0.6 + envelope / envelope.max())
    out = {}
    for name in SYNTHESIS["noises"]:
        x = noises[name]
        x = np.clip(0.1 * x / np.sqrt(np.mean(x**2)), -1, 1)
        out[name] = np.round(x * 32767).astype(np.int16).astype(np.float32) / 32767
    return out


def room_response(rng: np.random.Generator, rt60: float, drr_db: float) -> np.ndarray:
    """A light synthetic room: a direct path plus an exponentially decaying noise tail.

    The tail decays by 60 dB over ``rt60`` seconds (amplitude exp(-3 ln(10) t / rt60)), and its
    energy is ``drr_db`` below the direct path's.
    """
    n = max(2, int(rt60 * SAMPLE_RATE))
    t = np.arange(1, n) / SAMPLE_RATE
    tail = rng.standard_normal(n - 1) * np.exp(-3 * np.log(10) * t / rt60)
    tail *= np.sqrt(10 ** (-drr_db / 10) / np.sum(tail**2))
    return np.concatenate([[1.0], tail])


def _trim(x: np.ndarray, threshold: float = 0.02) -> np.ndarray:
    """Cut eSpeak's leading and trailing silence (keep 30 ms before, 40 ms after the loud part)."""
    loud = np.flatnonzero(np.abs(x) > threshold * np.max(np.abs(x)))
    if loud.size == 0:
        return x
    start = max(0, loud[0] - 3 * SAMPLE_RATE // 100)
    return x[start : loud[-1] + SAMPLE_RATE // 25]


def _record(rng: np.random.Generator, speech: np.ndarray, speaker: Speaker, length: int | None,
            noises: dict[str, np.ndarray], snr_db: tuple[float, float]) -> np.ndarray:
    """Room, gain, placement inside ``length`` samples (None: as long as the speech), noise; int16."""
    from scipy.signal import fftconvolve

    rt60 = speaker.rt60 * rng.uniform(0.9, 1.1)
    wet = fftconvolve(speech, room_response(rng, rt60, speaker.drr_db))
    wet *= 10 ** (rng.uniform(*SYNTHESIS["peak_dbfs"]) / 20) / max(np.max(np.abs(wet)), 1e-9)
    length = length or len(wet)
    wet = wet[:length]
    clip = np.zeros(length)
    offset = int(rng.integers(0, length - len(wet) + 1))
    clip[offset : offset + len(wet)] = wet
    noise_name = SYNTHESIS["noises"][int(rng.integers(len(SYNTHESIS["noises"])))]
    source = noises[noise_name]
    start = int(rng.integers(0, len(source) - length + 1))
    noise = source[start : start + length]
    snr = rng.uniform(*snr_db)
    speech_power = np.mean(wet**2)  # over the speech itself, not the silence around it
    clip += noise * np.sqrt(speech_power / (np.mean(noise**2) * 10 ** (snr / 10)))
    peak = np.max(np.abs(clip))
    if peak > 0.99:
        clip *= 0.99 / peak
    return np.round(clip * 32767).astype(np.int16)


def _utterance_voice(rng: np.random.Generator, speaker: Speaker) -> dict[str, Any]:
    """Per-utterance jitter of the speaker's pitch and rate (eSpeak units)."""
    j, jitter = SYNTHESIS["pitch_jitter"], SYNTHESIS["rate_jitter"]
    return {
        "voice": speaker.voice,
        "pitch": int(np.clip(speaker.pitch + rng.integers(-j, j + 1), 0, 100)),
        "pitch_range": speaker.pitch_range,
        "rate": int(round(speaker.rate * rng.uniform(1 - jitter, 1 + jitter))),
        "seed": int(rng.integers(1, 2**31 - 1)),
    }


def speak_word(espeak: Espeak, rng: np.random.Generator, speaker: Speaker, word: str) -> np.ndarray:
    """One word at 16 kHz, trimmed, no longer than ``max_word_s`` (spoken faster when it would be)."""
    params = _utterance_voice(rng, speaker)
    limit = int(SYNTHESIS["max_word_s"] * SAMPLE_RATE)
    for _ in range(4):
        x = _trim(resample(espeak.say(word, **params), ESPEAK_RATE, SAMPLE_RATE))
        if len(x) <= limit:
            return x
        params["rate"] = int(params["rate"] * 1.15 * len(x) / limit)
    return x[:limit]


def _write_pcm16(path: Path, samples: np.ndarray) -> None:
    import soundfile as sf

    sf.write(str(path), samples, SAMPLE_RATE, subtype="PCM_16", format="WAV")


# --------------------------------------------------------------------------------------------
# Recording in a helper process while eSpeak speaks in order

#: One clip to record: its file, its Generator (state after the voice was drawn), the dry speech,
#: the speaker, the clip length in samples (None: as long as the speech) and the SNR range.
RecordJob = tuple[str, np.random.Generator, np.ndarray, Speaker, "int | None", tuple[float, float]]


def _recorder_server() -> None:  # pragma: no cover - runs in the helper process
    """Helper-process loop: record and write batches of clips (:func:`_record`) sent on stdin.

    Protocol: the first message is ``(noise_seconds, seed)``, then lists of :data:`RecordJob`; each
    message is an 8-byte little-endian length and a pickle. After each batch it answers a 4-byte
    length and an error text (empty: done), and it stops at the first error.
    """
    import pickle
    import traceback

    src = sys.stdin.buffer
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)

    def receive() -> Any:
        header = src.read(8)
        if len(header) < 8:
            return None
        (n,) = struct.unpack("<Q", header)
        return pickle.loads(src.read(n))

    noise_seconds, seed = receive()
    noises = background_noises(noise_seconds, seed)
    while (jobs := receive()) is not None:
        try:
            for path, rng, speech, speaker, length, snr_db in jobs:
                _write_pcm16(Path(path), _record(rng, speech, speaker, length, noises, snr_db))
            error = b""
        except Exception:  # reported to the parent, which raises it
            error = traceback.format_exc().encode()
        out.write(struct.pack("<I", len(error)) + error)
        out.flush()
        if error:
            return


class ClipRecorder:
    """Records and writes clips while the caller goes on speaking (a context manager).

    Speaking has to stay in one process and in order (eSpeak's hidden state, module docstring), but
    about two thirds of a clip's time is the recording after it: reverberation, noise, the WAV. Each
    clip carries its own Generator, so recording it in a helper process draws exactly what it would
    draw here: the files are byte-identical (a test compares). A plain helper process, like eSpeak's,
    not :mod:`multiprocessing`, so that scripts, notebooks and the command line behave alike. With one
    core, or ``helper=False``, it records inline.
    """

    def __init__(self, noises: dict[str, np.ndarray], noise_seconds: float, seed: int,
                 helper: bool | None = None, batch: int = 64):
        self.noises, self.batch = noises, batch
        self._jobs: list[RecordJob] = []
        self._sent = 0
        self._proc: subprocess.Popen | None = None
        if (os.cpu_count() or 1) > 1 if helper is None else helper:
            self._proc = _start_helper("_recorder_server")
            self._send((noise_seconds, seed))

    def _send(self, message: Any) -> None:
        import pickle

        assert self._proc is not None and self._proc.stdin is not None
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self._proc.stdin.write(struct.pack("<Q", len(data)) + data)
            self._proc.stdin.flush()
        except BrokenPipeError:
            self._answers(self._sent)  # raises the helper's error, if it left one
            raise RuntimeError(f"the recording helper process died (exit code {self._proc.poll()}); see stderr")

    def _answers(self, n: int) -> None:
        """Read ``n`` answers; raise the first error."""
        assert self._proc is not None and self._proc.stdout is not None
        for _ in range(n):
            header = self._proc.stdout.read(4)
            if len(header) < 4:
                raise RuntimeError(f"the recording helper process died (exit code {self._proc.poll()}); see stderr")
            (length,) = struct.unpack("<I", header)
            if length:
                raise RuntimeError("recording a clip failed in the helper process:\n"
                                   + self._proc.stdout.read(length).decode(errors="replace"))
            self._sent -= 1

    def add(self, path: Path, rng: np.random.Generator, speech: np.ndarray, speaker: Speaker,
            length: int | None, snr_db: tuple[float, float]) -> None:
        """Record ``speech`` into ``path``; the caller must not draw from ``rng`` afterwards."""
        if self._proc is None:
            _write_pcm16(path, _record(rng, speech, speaker, length, self.noises, snr_db))
            return
        self._jobs.append((str(path), rng, speech, speaker, length, snr_db))
        if len(self._jobs) >= self.batch:
            self._flush()

    def _flush(self) -> None:
        if self._jobs:
            self._send(self._jobs)
            self._sent += 1
            self._jobs = []

    def close(self) -> None:
        """Wait for every clip; a failure in the helper is raised here."""
        if self._proc is None:
            return
        proc, ok = self._proc, False
        try:
            self._flush()
            self._answers(self._sent)
            ok = True
        finally:
            self._proc = None
            assert proc.stdin is not None
            proc.stdin.close()
            if ok:
                proc.wait(timeout=60)
            else:
                proc.kill()
                proc.wait()

    def __enter__(self) -> ClipRecorder:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.close()
        elif self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None


# --------------------------------------------------------------------------------------------
# The two corpora


def _seed(profile: Any, seed: int | None) -> int:
    return int(profile.corpus.seed if seed is None else seed)


def synthesize_commands(
    root: str | Path, profile: Any, seed: int | None = None, progress: bool = True, helper: bool | None = None
) -> Path:
    """Write SynthCommands into ``root`` (uncached): word folders, split lists, background noise.

    Also writes ``synthcommands.json`` (the speakers' voices and splits), which readers ignore.
    ``helper``: record in a second process (:class:`ClipRecorder`; None: when there are 2+ cores).
    """
    from tqdm import tqdm

    cfg, seed = profile.corpus, _seed(profile, seed)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    speakers = make_speakers(cfg.n_speakers, seed)
    split = split_speakers(speakers, cfg.heldout_fraction, seed)
    noises = background_noises(cfg.noise_seconds, seed)
    (root / NOISE_DIR).mkdir(exist_ok=True)
    for name, x in noises.items():
        _write_pcm16(root / NOISE_DIR / f"{name}.wav", np.round(x * 32767).astype(np.int16))
    lists: dict[str, list[str]] = {"validation": [], "test": []}
    jobs = [(s, w, r) for s in speakers for w in range(len(WORDS)) for r in range(cfg.repetitions)]
    for word in WORDS:
        (root / word).mkdir(exist_ok=True)
    with Espeak() as espeak, ClipRecorder(noises, cfg.noise_seconds, seed, helper) as recorder:
        for speaker, w, rep in tqdm(jobs, desc="SynthCommands", unit="clip", disable=not progress):
            rng = np.random.default_rng([seed, 10, speaker.index, w, rep])
            speech = speak_word(espeak, rng, speaker, WORDS[w])
            relative = f"{WORDS[w]}/{speaker.name}_nohash_{rep}.wav"
            recorder.add(root / relative, rng, speech, speaker, CLIP, cfg.snr_db)
            if split[speaker.name] != "train":
                lists[split[speaker.name]].append(relative)
    (root / VALIDATION_LIST).write_text("".join(f"{p}\n" for p in sorted(lists["validation"])))
    (root / TESTING_LIST).write_text("".join(f"{p}\n" for p in sorted(lists["test"])))
    meta = {"seed": seed, "synthesis": _canonical(SYNTHESIS),
            "speakers": [dict(dataclasses.asdict(s), split=split[s.name]) for s in speakers]}
    (root / "synthcommands.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return root


# A small grammar for the pre-training corpus: the command words in context, with filler words.
_NOUNS = ("bed", "bird", "cat", "dog", "house", "tree")
_NAMES = ("marvin", "sheila")
_NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_DIRECTIONS = ("up", "down", "left", "right", "forward", "backward", "on", "off")
_TEMPLATES = (
    "go {dir}", "turn {dir} now", "move {dir} {num} steps", "the {noun} is happy", "{name} saw the {noun}",
    "{num} {noun}s and {num} {noun}s", "please stop the {noun}", "follow {name}", "yes go {dir}",
    "no not {dir}", "wow look at the {noun}", "{name} will learn to go {dir}", "a visual {noun}",
    "then {dir} again", "the {noun} and the {noun} went {dir}", "{name} said {num}", "stop",
    "is the {noun} in the house", "count {num} {num} {num}", "happy {name}",
)


def _sentence_phrase(rng: np.random.Generator) -> str:
    template = _TEMPLATES[int(rng.integers(len(_TEMPLATES)))]
    pick = lambda options: options[int(rng.integers(len(options)))]  # noqa: E731
    out = template
    slots = (("{dir}", _DIRECTIONS), ("{num}", _NUMBERS), ("{noun}", _NOUNS), ("{name}", _NAMES))
    for slot, options in slots:
        while slot in out:
            out = out.replace(slot, pick(options), 1)
    return out


def synthesize_pretrain(
    root: str | Path, profile: Any, seed: int | None = None, progress: bool = True, helper: bool | None = None
) -> Path:
    """Write the pre-training corpus into ``root`` (uncached): ``wav/NNNNN.wav`` and ``manifest.json``.

    Utterances of ``pretrain_seconds`` made of grammar phrases, by every corpus speaker except the
    test speakers (round robin), recorded like the commands (room, gain, noise). ``helper``: as in
    :func:`synthesize_commands`.
    """
    from tqdm import tqdm

    cfg, seed = profile.corpus, _seed(profile, seed)
    root = Path(root)
    (root / "wav").mkdir(parents=True, exist_ok=True)
    speakers = make_speakers(cfg.n_speakers, seed)
    split = split_speakers(speakers, cfg.heldout_fraction, seed)
    voices = [s for s in speakers if split[s.name] != "test"]
    noises = background_noises(cfg.noise_seconds, seed)
    lo, hi = cfg.pretrain_seconds
    utterances = []
    with Espeak() as espeak, ClipRecorder(noises, cfg.noise_seconds, seed, helper) as recorder:
        for i in tqdm(range(cfg.pretrain_utterances), desc="pre-training corpus", unit="utt",
                      disable=not progress):
            rng = np.random.default_rng([seed, 20, i])
            speaker = voices[i % len(voices)]
            target = int(rng.uniform(lo, hi) * SAMPLE_RATE)
            pieces, words, total = [], [], 0
            while total < target:
                phrase = _sentence_phrase(rng)
                said = espeak.say(phrase, **_utterance_voice(rng, speaker))
                x = _trim(resample(said, ESPEAK_RATE, SAMPLE_RATE))
                gap = np.zeros(int(rng.uniform(*SYNTHESIS["phrase_gap_s"]) * SAMPLE_RATE))
                pieces += [x, gap]
                words.append(phrase)
                total += len(x) + len(gap)
            speech = np.concatenate(pieces)[:target]
            relative = f"wav/{i:05d}.wav"
            recorder.add(root / relative, rng, speech, speaker, target, cfg.snr_db)
            utterances.append({"file": relative, "speaker": speaker.name, "text": " ".join(words),
                               "seconds": target / SAMPLE_RATE})  # exact: samples / 16000
    manifest = {"sample_rate": SAMPLE_RATE, "utterances": utterances}
    (root / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return root


def _canonical(value: Any) -> Any:
    from .cache import _canonical as canonical

    return canonical(value)


def _synthesis_key() -> dict[str, Any]:
    """The voice/synthesis parameters and the eSpeak NG build: anything that changes the audio."""
    from importlib.metadata import version

    return {"synthesis": SYNTHESIS, "espeakng_loader": version("espeakng-loader")}


def _commands_key(cfg: Any) -> dict[str, Any]:
    fields = ("n_speakers", "repetitions", "heldout_fraction", "snr_db", "noise_seconds", "seed")
    return {"corpus": {f: getattr(cfg, f) for f in fields}, **_synthesis_key()}


def validate_root(root: str | Path) -> Path:
    """A real Speech Commands v0.02 root must exist and have its split lists."""
    root = Path(root).expanduser()
    for name in (VALIDATION_LIST, TESTING_LIST):
        if not (root / name).is_file():
            raise FileNotFoundError(
                f"{root / name}: missing; {root} is not a Speech Commands v0.02 root. Download it with "
                f"`python -m redundancy download --root {root}`"
            )
    return root


def build_corpus(profile: Any, progress: bool = True) -> Path:
    """The words corpus root: cached SynthCommands (mini/smoke) or the real root (paper, validated)."""
    if profile.name == "paper":
        if not profile.corpus.root:
            raise ValueError(
                "the paper profile needs a Speech Commands v0.02 root: set $SPEECH_COMMANDS_ROOT "
                "(download with `python -m redundancy download --root DIR`)"
            )
        return validate_root(profile.corpus.root)
    from .cache import build_artifact

    return build_artifact("corpus", _commands_key(profile.corpus),
                          lambda tmp: synthesize_commands(tmp, profile, progress=progress))


def build_pretrain_corpus(profile: Any, progress: bool = True) -> Path:
    """The cached pre-training corpus folder (``wav/`` + ``manifest.json``) of a mini/smoke profile."""
    if profile.name == "paper":
        raise ValueError(
            "the paper profile fine-tunes pre-trained hub checkpoints: it has no pre-training corpus"
        )
    from .cache import build_artifact

    key = dict(_commands_key(profile.corpus), pretrain={
        "utterances": profile.corpus.pretrain_utterances, "seconds": profile.corpus.pretrain_seconds})
    return build_artifact(
        "pretrain-corpus", key, lambda tmp: synthesize_pretrain(tmp, profile, progress=progress)
    )


def add_cli(subparsers: Any) -> None:
    """``python -m redundancy corpus --profile smoke [--root DIR] [--seed N] [--pretrain]``."""
    parser = subparsers.add_parser("corpus", help="synthesize SynthCommands (and its pre-training corpus)")
    parser.add_argument("--profile", default=None, help="smoke, mini (default: $REDUNDANCY_PROFILE or mini)")
    parser.add_argument("--root", default=None, help="write here (uncached); default: the cache")
    parser.add_argument("--seed", type=int, default=None, help="default: the profile's corpus seed")
    parser.add_argument("--pretrain", action="store_true",
                        help="also the pre-training corpus (cached, or in ROOT-pretrain next to --root)")
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(func=_run_cli)


def _run_cli(args: argparse.Namespace) -> int:
    from .config import load_profile

    profile = load_profile(args.profile)
    progress = not args.no_progress
    if profile.name == "paper":
        raise SystemExit(
            "corpus: the paper profile uses the real Speech Commands; see `python -m redundancy download`"
        )
    if args.root is None and args.seed is not None:
        profile = dataclasses.replace(profile, corpus=dataclasses.replace(profile.corpus, seed=args.seed))
    if args.root is None:
        print(build_corpus(profile, progress=progress))
        if args.pretrain:
            print(build_pretrain_corpus(profile, progress=progress))
        return 0
    print(synthesize_commands(args.root, profile, seed=args.seed, progress=progress))
    if args.pretrain:
        # next to the commands root, not inside it: a Speech Commands root holds only word folders
        target = Path(args.root).with_name(Path(args.root).name + "-pretrain")
        print(synthesize_pretrain(target, profile, seed=args.seed, progress=progress))
    return 0
