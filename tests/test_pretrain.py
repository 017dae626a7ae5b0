"""Pre-training: each recipe learns, its checkpoint reloads offline, interrupted runs resume."""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from redundancy import pretrain as pt
from redundancy.config import FAMILIES, load_profile

SR = 16000


def make_corpus(folder: Path, n: int = 4, seconds: float = 1.5, seed: int = 0) -> Path:
    """A pre-training corpus folder of the real shape: sequences of tone / chirp / noise 'phones'.

    Units last 60-200 ms, so their MFCC clusters and their order give the models something to
    predict from context, like phones in speech.
    """
    rng = np.random.default_rng(seed)
    (folder / "wav").mkdir(parents=True, exist_ok=True)
    t_unit = np.arange(int(0.2 * SR)) / SR
    units = [np.sin(2 * np.pi * f * t_unit) for f in (220, 440, 880, 1760)]
    units.append(np.sin(2 * np.pi * (300 + 3000 * t_unit) * t_unit))  # chirp
    units.append(rng.standard_normal(len(t_unit)) * 0.5)  # noise
    units.append(np.zeros(len(t_unit)))  # silence
    entries = []
    for i in range(n):
        parts, total = [], 0
        while total < seconds * SR:
            unit = units[rng.integers(len(units))]
            length = int(rng.integers(int(0.06 * SR), len(unit)))
            parts.append(unit[:length] * rng.uniform(0.2, 0.8))
            total += length
        wave = np.concatenate(parts)[: int(seconds * SR)] + 0.003 * rng.standard_normal(int(seconds * SR))
        name = f"wav/{i:05d}.wav"
        sf.write(folder / name, wave.astype(np.float32), SR, subtype="PCM_16")
        entries.append({"file": name, "seconds": seconds})
    (folder / "manifest.json").write_text(json.dumps({"sample_rate": SR, "utterances": entries}))
    return folder


def tiny_profile(**pretrain_overrides):
    """The smoke profile with a fixed batch: batch size = corpus size, utterances = crop length."""
    smoke = load_profile("smoke")
    pretrain = dataclasses.replace(smoke.pretrain, batch_size=4, max_seconds=1.5, **pretrain_overrides)
    return dataclasses.replace(smoke, pretrain=pretrain)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models train several times faster on one thread (and do not fight other processes)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("pretrain")
    return root, make_corpus(root / "corpus")


@pytest.fixture(scope="module")
def trained(workspace):
    """The three smoke checkpoints, built once for the module (cache in a temporary folder)."""
    root, corpus = workspace
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REDUNDANCY_CACHE", str(root / "cache"))
        profile = tiny_profile()
        return {family: pt.pretrain(family, profile.model, profile.pretrain, progress=False, corpus_dir=corpus)
                for family in FAMILIES}


@pytest.mark.parametrize("family", FAMILIES)
def test_recipe_lowers_its_loss(trained, family):
    log = json.loads((trained[family] / "loss_curve.json").read_text())
    assert log[0]["step"] == 0 and log[-1]["step"] == tiny_profile().pretrain.steps - 1
    first, last = log[0]["loss"], np.mean([e["loss"] for e in log[-2:]])
    assert last < 0.8 * first, f"{family}: loss {first:.3f} at step 0, {last:.3f} at the end"
    assert {"step", "loss", "accuracy"} <= set(log[0])


@pytest.mark.parametrize("family", FAMILIES)
def test_checkpoint_folder_is_a_hub_style_checkpoint(trained, family):
    folder = trained[family]
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == family and config["layerdrop"] == 0.0
    assert (folder / "model.safetensors").is_file()
    extractor = json.loads((folder / "preprocessor_config.json").read_text())
    assert extractor["sampling_rate"] == SR and extractor["do_normalize"] is True
    assert extractor["return_attention_mask"] is False
    if family == "wavlm":  # the gated relative position bias is there
        assert config["num_buckets"] > 0


def test_checkpoints_reload_offline_with_identical_outputs(trained):
    """A fresh process with HF_HUB_OFFLINE=1 reloads each folder and reproduces the saved probe."""
    script = (
        "import sys, numpy as np, torch\n"
        "from transformers import AutoModel\n"
        "for folder in sys.argv[1:]:\n"
        "    probe = np.load(folder + '/probe.npz')\n"
        "    model = AutoModel.from_pretrained(folder).eval()\n"
        "    with torch.no_grad():\n"
        "        out = model(torch.as_tensor(probe['input_values'])).last_hidden_state.numpy()\n"
        "    diff = float(np.abs(out - probe['last_hidden_state']).max())\n"
        "    print(type(model).__name__, diff)\n"
        "    assert diff < 1e-5, (folder, diff)\n"
    )
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    result = subprocess.run([sys.executable, "-c", script, *[str(trained[f]) for f in FAMILIES]],
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert names == ["Wav2Vec2Model", "HubertModel", "WavLMModel"]


def test_checkpoint_loads_through_load_backbone(trained):
    from redundancy.models import load_backbone

    model = load_backbone(trained["hubert"])
    probe = np.load(trained["hubert"] / "probe.npz")
    with torch.no_grad():
        out = model.eval()(torch.as_tensor(probe["input_values"])).last_hidden_state
    np.testing.assert_allclose(out.numpy(), probe["last_hidden_state"], atol=1e-5)


def test_finished_stage_is_reused(trained, workspace, monkeypatch):
    root, corpus = workspace
    monkeypatch.setenv("REDUNDANCY_CACHE", str(root / "cache"))
    monkeypatch.setattr(pt, "train", lambda *a, **k: pytest.fail("a finished stage was retrained"))
    profile = tiny_profile()
    assert pt.pretrain("wavlm", profile.model, profile.pretrain, progress=False, corpus_dir=corpus) == trained["wavlm"]


def test_interrupted_run_resumes_from_its_checkpoint(tmp_path, workspace, monkeypatch):
    _, corpus = workspace
    profile = tiny_profile(steps=6, save_every=3, log_every=2)
    monkeypatch.setenv("REDUNDANCY_CACHE", str(tmp_path / "reference"))
    reference = pt.pretrain("hubert", profile.model, profile.pretrain, progress=False, corpus_dir=corpus)

    monkeypatch.setenv("REDUNDANCY_CACHE", str(tmp_path / "resumed"))
    original_save = pt.save_checkpoint

    def save_then_stop(path, module, optimizer, scheduler, state):
        original_save(path, module, optimizer, scheduler, state)
        raise KeyboardInterrupt  # the user stops the run right after the checkpoint at step 3

    monkeypatch.setattr(pt, "save_checkpoint", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        pt.pretrain("hubert", profile.model, profile.pretrain, progress=False, corpus_dir=corpus)
    checkpoint = next((tmp_path / "resumed").glob("pretrain-hubert/*.work/checkpoint.pt"))
    assert torch.load(checkpoint, weights_only=False)["state"]["step"] == 3

    monkeypatch.setattr(pt, "save_checkpoint", original_save)
    seen = []
    original_batch = pt.masked_prediction_recipe

    def recording_recipe(*args, **kwargs):
        recipe = original_batch(*args, **kwargs)
        make = recipe.make_batch
        recipe.make_batch = lambda step: (seen.append(step), make(step))[1]
        return recipe

    monkeypatch.setattr(pt, "masked_prediction_recipe", recording_recipe)
    resumed = pt.pretrain("hubert", profile.model, profile.pretrain, progress=False, corpus_dir=corpus)
    assert seen == [3, 4, 5], "the second call must continue at the saved step"
    assert _same_curve(resumed, reference), "resumed run must follow the uninterrupted one"
    np.testing.assert_allclose(np.load(resumed / "probe.npz")["last_hidden_state"],
                               np.load(reference / "probe.npz")["last_hidden_state"], atol=1e-4)
    assert not list((tmp_path / "resumed").glob("pretrain-hubert/*.work")), "work folder is cleaned up"


def _same_curve(a: Path, b: Path) -> bool:
    curve_a = json.loads((a / "loss_curve.json").read_text())
    curve_b = json.loads((b / "loss_curve.json").read_text())
    return [e["step"] for e in curve_a] == [e["step"] for e in curve_b] and np.allclose(
        [e["loss"] for e in curve_a], [e["loss"] for e in curve_b], rtol=1e-4
    )


def test_unknown_family_is_refused(workspace):
    _, corpus = workspace
    with pytest.raises(ValueError, match="unknown family 'bert'.*wav2vec2, hubert, wavlm"):
        pt.pretrain("bert", tiny_profile().model, tiny_profile().pretrain, progress=False, corpus_dir=corpus)


def test_corpus_without_manifest_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="no manifest.json"):
        pt.load_corpus(tmp_path)


def test_kmeans_finds_separated_clusters():
    gen = torch.Generator().manual_seed(0)
    centres = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    x = torch.cat([c + torch.randn(50, 2, generator=gen) * 0.3 for c in centres])
    labels = pt.assign_clusters(x, pt.kmeans(x, 3, iterations=10))
    groups = [set(labels[i * 50:(i + 1) * 50].tolist()) for i in range(3)]
    assert all(len(g) == 1 for g in groups) and len(set.union(*groups)) == 3


def test_mfcc_frames_match_the_encoder_frames():
    for n in (16000, 16399, 16400, 24321):
        assert len(pt.mfcc_frames(np.zeros(n, dtype=np.float32))) == pt.frames_of(n)


def test_utterance_mixing_keeps_the_main_signal_and_changes_some():
    rng = np.random.default_rng(0)
    waves = torch.randn(8, 16000)
    mixed, count = pt.mix_utterances(waves, rng, prob=1.0, max_fraction=0.5, energy_db=(-5.0, 5.0))
    assert count == 8
    changed = (mixed != waves).float().mean(1)
    assert torch.all(changed > 0) and torch.all(changed <= 0.5 + 1e-6)
    same, none = pt.mix_utterances(waves, rng, prob=0.0, max_fraction=0.5, energy_db=(-5.0, 5.0))
    assert none == 0 and torch.equal(same, waves)
