"""Checkpoints are safe: atomic writes, refusal of corrupted / foreign / incompatible files, no code execution."""
from __future__ import annotations

import io
import pathlib
import shutil

import pytest
import torch

from renovo.cli import main
from renovo.errors import RenovoError
from renovo.train import load_config, load_model, train
from renovo.train.checkpoints import AtomicCheckpointIO, CheckpointError, atomic_torch_save, read_checkpoint
from renovo.train.data import RenovoDataModule
from renovo.train.module import RenovoModule
from renovo.train.trainer import build_trainer

FAST = ["model.preset=tiny", "data.batch_size=4", "data.val_size=4", "data.val_batch_size=4",
        "trainer.log_every_n_steps=1", "trainer.progress_bar=false", "monitors.gradient_flow_every_n_steps=0",
        "trainer.max_steps=2", "trainer.val_every_n_steps=2"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return train(load_config("gaussian_losses", FAST), tmp_path_factory.mktemp("ckpt") / "run")


@pytest.fixture
def good(run, tmp_path):
    path = tmp_path / "good.ckpt"
    shutil.copy(run / "checkpoints" / "last.ckpt", path)
    return path


class Payload:
    """Unpickling it writes a file: the side effect a weights-only load must never run."""

    def __init__(self, marker: pathlib.Path):
        self.marker = marker

    def __reduce__(self):
        return pathlib.Path.write_text, (self.marker, "executed")


def _truncated(good, tmp_path):
    data = good.read_bytes()
    path = tmp_path / "truncated.ckpt"
    path.write_bytes(data[: len(data) // 2])
    return path


def _garbage(good, tmp_path):
    path = tmp_path / "garbage.ckpt"
    path.write_bytes(bytes(range(256)) * 64)
    return path


def _empty(good, tmp_path):
    path = tmp_path / "empty.ckpt"
    path.write_bytes(b"")
    return path


def _foreign(good, tmp_path):
    path = tmp_path / "foreign.ckpt"
    torch.save({"a": 1}, path)
    return path


def _other_vocabulary(good, tmp_path):
    # A renovo checkpoint whose vocabulary lacks a token this build has (M[Oxidation]): its weights cannot fit.
    checkpoint = torch.load(good, weights_only=True)
    tok = checkpoint["renovo"]["tokenizer"]
    tok["tokens"] = [t for t in tok["tokens"] if t != "M[Oxidation]"]
    tok["masses_da"] = {t: m for t, m in tok["masses_da"].items() if t != "M[Oxidation]"}
    path = tmp_path / "vocab.ckpt"
    torch.save(checkpoint, path)
    return path


BAD = {"truncated": (_truncated, "not a loadable renovo checkpoint"),
       "garbage": (_garbage, "not a loadable renovo checkpoint"),
       "empty": (_empty, "not a loadable renovo checkpoint"),
       "foreign": (_foreign, "not a renovo training checkpoint"),
       "vocabulary": (_other_vocabulary, "do not fit|vocabulary")}


def test_trainer_writes_through_the_atomic_io(tmp_path):
    config = load_config("gaussian_losses", FAST)
    trainer = build_trainer(config, tmp_path / "r")
    assert isinstance(trainer.strategy.checkpoint_io, AtomicCheckpointIO)


def test_failed_write_leaves_the_previous_checkpoint_intact(good, monkeypatch):
    before = good.read_bytes()
    real_save = torch.save

    def half_then_crash(obj, f, *args, **kwargs):
        buffer = io.BytesIO()
        real_save(obj, buffer, *args, **kwargs)
        f.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
        raise OSError("No space left on device (simulated)")

    monkeypatch.setattr(torch, "save", half_then_crash)
    checkpoint = torch.load(good, weights_only=True)
    checkpoint["global_step"] = 999
    with pytest.raises(OSError, match="simulated"):
        AtomicCheckpointIO().save_checkpoint(checkpoint, good)
    monkeypatch.undo()
    assert good.read_bytes() == before  # byte for byte: the old last.ckpt survives
    assert sorted(p.name for p in good.parent.iterdir()) == ["good.ckpt"]  # no temp file left over
    assert read_checkpoint(good)["global_step"] == 2 and not load_model(good).training


def test_successful_write_replaces(good):
    checkpoint = torch.load(good, weights_only=True)
    checkpoint["global_step"] = 7
    AtomicCheckpointIO().save_checkpoint(checkpoint, good)
    assert read_checkpoint(good)["global_step"] == 7
    assert sorted(p.name for p in good.parent.iterdir()) == ["good.ckpt"]


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_checkpoint_refused_by_load_model(kind, good, tmp_path):
    make, message = BAD[kind]
    path = make(good, tmp_path)
    with pytest.raises(CheckpointError, match=message) as info:
        load_model(path)
    assert path.name in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_checkpoint_refused_by_cli(kind, good, tmp_path, capsys):
    make, message = BAD[kind]
    path = make(good, tmp_path)
    capsys.readouterr()
    assert main(["train", "--resume", str(path), "--no-progress", "--out", str(tmp_path / "resumed")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("renovo train: error:") and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert path.name in err
    mgf = tmp_path / "s.mgf"
    mgf.write_text("BEGIN IONS\nPEPMASS=500.0\nCHARGE=2+\n100.0 1.0\n200.0 2.0\nEND IONS\n")
    assert main(["sequence", str(mgf), "--model", str(path), "-o", str(tmp_path / "out.mztab"), "--beam", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("renovo sequence: error:") and len(err.splitlines()) == 1, err


def test_resume_refuses_other_vocabulary_before_training(good, tmp_path):
    path = _other_vocabulary(good, tmp_path)
    config = read_checkpoint(good)["renovo"]["config"]
    with pytest.raises(CheckpointError, match="vocabulary"):
        train(config, tmp_path / "r", resume=path)


def test_pickle_payload_is_never_executed(good, tmp_path, capsys):
    armed, marker = tmp_path / "armed.txt", tmp_path / "marker.txt"
    # The payload is real: an unrestricted load runs it.
    probe = tmp_path / "probe.ckpt"
    torch.save({"state_dict": {}, "renovo": Payload(armed)}, probe)
    torch.load(probe, weights_only=False)
    assert armed.read_text() == "executed"

    evil = tmp_path / "evil.ckpt"
    checkpoint = torch.load(good, weights_only=True)
    checkpoint["renovo"]["note"] = Payload(marker)
    torch.save(checkpoint, evil)
    with pytest.raises(RenovoError, match="weights-only"):
        load_model(evil)
    assert main(["train", "--resume", str(evil), "--no-progress"]) == 2
    assert main(["sequence", str(evil), "--model", str(evil), "-o", str(tmp_path / "o.mztab")]) == 2
    # Lightning's own resume path, even when asked for an unrestricted load.
    config = read_checkpoint(good)["renovo"]["config"]
    module = RenovoModule(config)
    trainer = build_trainer(config, tmp_path / "lightning")
    with pytest.raises(CheckpointError, match="weights-only"):
        trainer.fit(module, datamodule=RenovoDataModule(config, module.tokenizer), ckpt_path=str(evil),
                    weights_only=False)
    with pytest.raises(CheckpointError):
        AtomicCheckpointIO().load_checkpoint(evil, weights_only=False)
    assert not marker.exists()


def test_atomic_torch_save_creates_folders(tmp_path):
    path = atomic_torch_save({"x": torch.ones(2)}, tmp_path / "a" / "b" / "x.pt")
    assert torch.equal(torch.load(path, weights_only=True)["x"], torch.ones(2))


@pytest.mark.parametrize("kind", ["truncated", "garbage", "empty"])
def test_unloadable_checkpoint_message_is_renovos_own(kind, good, tmp_path):
    """Before, the message quoted PyTorch's advice ('weights_only=False will likely succeed'), cut mid-sentence."""
    path = BAD[kind][0](good, tmp_path)
    with pytest.raises(CheckpointError) as info:
        load_model(path)
    message = str(info.value)
    assert message.startswith(str(path)) and "damaged" in message and "not a renovo checkpoint" in message
    assert "weights_only" not in message and "likely succeed" not in message and "\n" not in message


def test_checkpoints_store_a_content_hash_verified_on_load(good, tmp_path):
    """Flipped bytes inside the weights used to load silently (4 of 5 predictions changed); now the stored
    SHA-256 of the state-dict tensors does not match and loading stops with one line naming the file."""
    checkpoint = torch.load(good, weights_only=True)
    assert len(checkpoint["renovo"]["state_dict_sha256"]) == 64
    data = bytearray(good.read_bytes())
    name = next(k for k, v in checkpoint["state_dict"].items() if v.numel() > 1000)
    raw = checkpoint["state_dict"][name].numpy().tobytes()
    at = bytes(data).find(raw[:64])
    assert at > 0
    data[at + 16:at + 48] = bytes(b ^ 0xFF for b in data[at + 16:at + 48])
    damaged = tmp_path / "damaged.ckpt"
    damaged.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="damaged.ckpt.*content hash") as info:
        load_model(damaged)
    assert "\n" not in str(info.value)


def test_checkpoint_without_a_hash_still_loads(good, tmp_path):
    checkpoint = torch.load(good, weights_only=True)
    del checkpoint["renovo"]["state_dict_sha256"]
    older = tmp_path / "older.ckpt"
    torch.save(checkpoint, older)
    assert not load_model(older).training
