"""End to end: `renovo train` on the simulator, resume, checkpoint loading (NaN guard: test_nan_guard.py)."""
from __future__ import annotations

import math

import pytest
import torch
import yaml

from renovo.cli import main
from renovo.errors import RenovoError
from renovo.train import load_config, load_model, train
from renovo.train import read_metrics

from .conftest import StopAt

FAST = ["model.preset=tiny", "data.batch_size=4", "data.val_size=8", "data.val_batch_size=8",
        "trainer.log_every_n_steps=1", "trainer.progress_bar=false", "monitors.gradient_flow_every_n_steps=5"]


def fast_config(name="gaussian_losses", steps=12, extra=()):
    return load_config(name, FAST + [f"trainer.max_steps={steps}", f"trainer.val_every_n_steps={steps // 2}",
                                      *extra])


def test_cli_train_writes_run_folder_and_sanity(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--config", "gaussian_losses", "--preset", "tiny", "--max-steps", "20", "--batch-size", "4",
                 "--seed", "3", "--out", str(out), "--no-progress", "--sanity",
                 "--set", "data.val_size=8", "--set", "trainer.val_every_n_steps=10",
                 "--set", "trainer.log_every_n_steps=1", "--set", "monitors.gradient_flow_every_n_steps=5"])
    printed = capsys.readouterr().out
    assert code in (0, 1)  # PASS/FAIL is the run's verdict, not a crash
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["seed"] == 3 and config["name"] == "gaussian_losses" and config["trainer"]["max_steps"] == 20
    assert (out / "checkpoints" / "last.ckpt").is_file()
    assert list((out / "checkpoints").glob("best-*.ckpt"))
    assert (out / "tensorboard").is_dir()
    metrics = read_metrics(out / "metrics.csv")
    train_steps = [s for s, m in metrics.items() if "train/ce" in m]
    assert train_steps == list(range(20))
    row = metrics[10]
    for key in ("train/ce", "train/spectrum", "train/precursor", "train/total", "train/w_spectrum", "lr",
                "grad/total_norm_pre_clip", "grad/total_norm_post_clip", "speed/spectra_per_s",
                "memory/peak_rss_mb", "nan_guard/skipped"):
        assert key in row and math.isfinite(row[key]), key
    # Gradient flow every 5 steps: per-component norms and cosines with CE.
    for step in (0, 5, 10, 15):
        for key in ("grad/ce_norm", "grad/spectrum_norm", "grad/precursor_norm", "grad/spectrum_cos_ce",
                    "grad/precursor_cos_ce", "grad/spectrum_weighted_norm"):
            assert key in metrics[step], (step, key)
        assert -1.0 <= metrics[step]["grad/spectrum_cos_ce"] <= 1.0
        # Each term's share of the update adds up to 1 (a term at weight 0 has share 0).
        shares = [metrics[step][f"grad/{n}_gradient_share"] for n in ("ce", "spectrum", "precursor")]
        assert sum(shares) == pytest.approx(1.0, abs=1e-9), (step, shares)
        if metrics[step]["grad/w_spectrum"] == 0:
            assert shares[1] == 0.0
    assert "grad/ce_norm" not in metrics[3]
    assert metrics[15]["train/w_spectrum"] == 0.25  # a 20-step run reaches the last stage
    assert metrics[19]["grad/total_norm_post_clip"] <= 1.0 + 1e-4
    val = [m for m in metrics.values() if "val/ce" in m]
    assert len(val) == 2 and all("val/token_acc" in m and "val/spectrum" in m for m in val)
    assert "No NaN losses" in printed and "Sanity check:" in printed and (out / "sanity.txt").is_file()


def test_load_model_weights_only(tmp_path):
    run = train(fast_config(steps=4), tmp_path / "run")
    model = load_model(run / "checkpoints" / "last.ckpt")
    assert not model.training and model.tokenizer.vocab_size > 20
    assert model.config_dict["model"]["preset"] == "tiny"
    raw = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert raw["global_step"] == 4 and isinstance(raw["renovo"]["config"], dict)
    with pytest.raises(RenovoError, match="not found"):
        load_model(tmp_path / "missing.ckpt")


def test_resume_is_exact(tmp_path):
    config = fast_config(steps=12, extra=["monitors.gradient_flow_every_n_steps=0", "trainer.val_every_n_steps=5",
                                          "model.dropout=0.1"])
    full = train(config, tmp_path / "full")
    # A run that dies at step 8: its last checkpoint is the periodic one of step 5.
    part = train(config, tmp_path / "part", extra_callbacks=[StopAt(8)])
    assert torch.load(part / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 5
    code = main(["train", "--resume", str(part / "checkpoints" / "last.ckpt"), "--no-progress"])
    assert code == 0
    a = torch.load(full / "checkpoints" / "last.ckpt", weights_only=True)
    b = torch.load(part / "checkpoints" / "last.ckpt", weights_only=True)
    assert b["global_step"] == 12
    for key, value in a["state_dict"].items():
        assert torch.equal(b["state_dict"][key], value), key  # bit-identical on CPU (dropout included)
    steps = [s for s, m in read_metrics(part / "metrics.csv").items() if "train/ce" in m]
    assert steps == list(range(12))  # the log of both segments, each step once


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["train", "--config", "nope", "--out", str(tmp_path / "x")]) == 2
    assert "shipped configs" in capsys.readouterr().err
    assert main(["train", "--set", "optim.learnrate=1", "--out", str(tmp_path / "x")]) == 2
    assert "valid keys under optim" in capsys.readouterr().err


def test_help_lists_configs(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    assert "gaussian_variance_aware" in text and "old_losses" in text


@pytest.mark.slow  # ~20 s idle, over a minute on a loaded 2-core machine (greedy-decoded validation)
def test_train_on_real_mgf_files(tmp_path, shared_data):
    train_file = shared_data / "real" / "massivekb_500.mgf"
    val_file = shared_data / "real" / "casanovo_mouse_128.mgf"
    out = tmp_path / "real"
    code = main(["train", "--config", "huber_l1", "--preset", "tiny", "--max-steps", "3", "--batch-size", "8",
                 "--train", str(train_file), "--val", str(val_file), "--out", str(out), "--no-progress",
                 "--set", "trainer.log_every_n_steps=1", "--set", "data.val_batch_size=64"])
    assert code == 0
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["data"]["train"] == [str(train_file)]
    metrics = read_metrics(out / "metrics.csv")
    assert [s for s, m in metrics.items() if "train/ce" in m] == [0, 1, 2]
    assert any("val/ce" in m and math.isfinite(m["val/ce"]) for m in metrics.values())


def test_train_streams_parquet(tmp_path):
    from renovo.data import write_parquet
    from renovo.data.simulate import simulate_records

    shard = tmp_path / "train.parquet"
    write_parquet(simulate_records(40, seed=5), shard)
    out = tmp_path / "pq"
    config = load_config("gaussian_losses", FAST + ["trainer.max_steps=12", "trainer.val_every_n_steps=12",
                                                     f"data.train=[{shard}]", "data.shuffle_buffer=16"])
    train(config, out)
    metrics = read_metrics(out / "metrics.csv")
    # 40 spectra / batch 4 = 10 batches an epoch: 12 steps cross into a second pass.
    assert [s for s, m in metrics.items() if "train/ce" in m] == list(range(12))


def test_max_time_stops_cleanly_with_a_final_checkpoint(tmp_path):
    config = fast_config(steps=100000, extra=["trainer.max_time=4s", "monitors.gradient_flow_every_n_steps=0",
                                              "trainer.val_every_n_steps=1000000"])
    run = train(config, tmp_path / "run")
    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    steps = [s for s, m in read_metrics(run / "metrics.csv").items() if "train/ce" in m]
    assert 0 < checkpoint["global_step"] < 100000
    assert checkpoint["global_step"] == max(steps) + 1  # the step reached, not an earlier interval


@pytest.mark.parametrize("text, seconds", [("60m", 3600.0), ("1h30m", 5400.0), ("90s", 90.0), (120, 120.0)])
def test_max_time_parsing(text, seconds):
    from renovo.train.trainer import parse_duration_s

    assert parse_duration_s(text) == seconds


@pytest.mark.parametrize("text", ["abc", "-5", 0])
def test_max_time_refuses_nonsense(text):
    from renovo.train.trainer import parse_duration_s

    with pytest.raises(RenovoError, match="max_time"):
        parse_duration_s(text)


def test_fused_adamw_matches_the_per_parameter_loop():
    from renovo.train import build_optimizer

    torch.manual_seed(0)
    optim = {"lr": 1e-2, "betas": [0.9, 0.999], "weight_decay": 1e-2}
    models = [torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3)) for _ in range(2)]
    models[1].load_state_dict(models[0].state_dict())
    fused = build_optimizer(models[0].parameters(), optim)
    loop = torch.optim.AdamW(models[1].parameters(), lr=1e-2, weight_decay=1e-2, foreach=False)
    assert fused.defaults["fused"]
    x = torch.randn(32, 8)
    for _ in range(5):
        for model, optimizer in zip(models, (fused, loop)):
            model(x).square().mean().backward()
            optimizer.step()
            optimizer.zero_grad()
    for a, b in zip(models[0].parameters(), models[1].parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
