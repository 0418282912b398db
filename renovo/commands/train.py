"""`renovo train`: train a model from a shipped config (or YAML), on files or the simulator."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from renovo.errors import RenovoError

#: What `renovo train` trains with no --config: the config that measured best. In the horizon plan (the
#: proposal's curriculum at 1/25 scale, 6 seeds, docs/results/horizon/) cross-entropy alone ended with the highest
#: validation token accuracy; every physics-loss config ended level or below it. --sanity, which judges the
#: physics losses, defaults to the proposal's own losses instead.
DEFAULT_CONFIG = "ce_only"
SANITY_CONFIG = "gaussian_losses"
SANITY_STEPS = 1000  # default --max-steps with --sanity: the proposal judges "by step 1000"; ~0.5 CPU-s per `small` step


def _config_names() -> list[str]:
    import renovo

    return sorted(p.stem for p in (Path(renovo.__file__).parent / "configs").glob("*.yaml"))


def add_parser(subparsers) -> argparse.ArgumentParser:
    names = _config_names()
    parser = subparsers.add_parser(
        "train",
        help="train a model (simulated data by default)",
        description=(
            "Train a de novo sequencing transformer. With no --train files, training data are simulated on the "
            "fly and validation is a fixed simulated set. Shipped configs: " + ", ".join(names) + "."
        ),
    )
    parser.add_argument("--config", default=None,
                        help="shipped config name (" + ", ".join(names) + ") or a YAML path (default ce_only, which measured best in the "
                        "horizon plan; gaussian_losses with --sanity; not with --resume, which keeps the checkpoint's)")
    parser.add_argument("--max-steps", type=int, default=None,
                        help="optimizer steps (default: the config's, or %d with --sanity)" % SANITY_STEPS)
    parser.add_argument("--max-time", default=None, metavar="DURATION",
                        help="wall-clock budget, e.g. 60m, 1h30m, 90s: training stops cleanly with a final checkpoint")
    parser.add_argument("--preset", choices=["tiny", "small", "base"], default=None, help="model size (default: the config's, small)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--out", default=None, help="run folder (default: runs/<config>_<preset>_s<seed>_<time>)")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--train", nargs="+", default=None, metavar="FILE", help="MGF / mzML / Parquet training files")
    parser.add_argument("--val", nargs="+", default=None, metavar="FILE", help="validation files")
    parser.add_argument("--val-fraction", type=float, default=None, metavar="F",
                        help="with --train and no --val: hold out this fraction of the training peptides "
                        "(all spectra of a peptide on one side) for validation")
    parser.add_argument("--resume", default=None, metavar="CKPT",
                        help="continue a run from its checkpoint (e.g. RUN/checkpoints/last.ckpt); --max-steps, "
                        "--set optim.lr=…, --batch-size may change (applied and logged in RUN/resume.log), "
                        "other config changes are refused")
    parser.add_argument("--init-from", default=None, metavar="CKPT",
                        help="warm start: a new run of --config that starts from another run's checkpoint with its "
                        "whole training state (weights, optimizer, step, data position, random state)")
    parser.add_argument("--finetune", default=None, metavar="CKPT",
                        help="fine-tune: a new run from this checkpoint's weights on --train files (fresh optimizer "
                        "and schedule sized to them, validation on held-out peptides or --val, early stopping); "
                        "its config is the checkpoint's, overlaid by --config (e.g. a vocabulary with new "
                        "modifications) and --set")
    parser.add_argument("--max-epochs", type=int, default=None, metavar="N",
                        help="size the run to N passes over the --train files (default with --finetune: 10)")
    parser.add_argument("--mix-simulated", type=float, default=None, metavar="F",
                        help="with --train: this fraction of every batch is simulated spectra (data.mix_simulated)")
    parser.add_argument("--val-real", nargs="+", default=None, metavar="FILE",
                        help="labelled real files decoded at every validation as `renovo sequence` does "
                        "(val_real/peptide_recall, …); keep the best checkpoint on them with "
                        "--set trainer.checkpoint_monitor=val_real/peptide_recall")
    parser.add_argument("-f", "--force", action="store_true",
                        help="start a fresh run in a non-empty run folder, removing the previous run's checkpoints and logs")
    parser.add_argument("--accelerator", default=None, help="cpu | gpu | auto")
    parser.add_argument("--devices", default=None, help="number of devices (processes for DDP)")
    parser.add_argument("--strategy", default=None, help="auto | ddp")
    parser.add_argument("--precision", default=None, help="32-true | bf16-mixed | 16-mixed")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key, e.g. --set optim.lr=1e-3 (repeatable)")
    parser.add_argument("--sanity", action="store_true",
                        help="after training, print the proposal's Phase 1 success criteria with PASS/FAIL")
    parser.add_argument("--scorer-spectra", type=int, default=default_scorer_spectra(), metavar="N",
                        help="after training, fit the reranker / calibrated confidence of last.ckpt on N simulated "
                        "spectra it never saw (renovo calibrate; written as last.ckpt.scorer.json); 0 = none "
                        f"(default {DEFAULT_SCORER_SPECTRA}, or the environment's RENOVO_SCORER_SPECTRA)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run)
    return parser


DEFAULT_SCORER_SPECTRA = 2000


def default_scorer_spectra() -> int:
    """``--scorer-spectra``'s default: RENOVO_SCORER_SPECTRA when set (0 turns the end-of-run fit off)."""
    text = os.environ.get("RENOVO_SCORER_SPECTRA", "")
    return int(text) if text.strip().isdigit() else DEFAULT_SCORER_SPECTRA


def fit_run_scorer(run_dir: Path, spectra: int, progress: bool, say) -> None:
    """Fit the candidate scorer of RUN/checkpoints/last.ckpt on simulated spectra (renovo calibrate's way)."""
    from renovo.commands.calibrate import fit_and_write
    from renovo.decode import RERANK_BEAM, DecodeConfig, scorer_path
    from renovo.errors import RenovoError
    from renovo.evaluate.calibrate import simulated_records
    from renovo.model.checkpoint import load_model

    checkpoint = Path(run_dir) / "checkpoints" / "last.ckpt"
    if spectra <= 0 or not checkpoint.is_file():
        return
    model = load_model(checkpoint)
    say(f"fitting the reranker of {checkpoint} on {spectra} simulated spectra (--scorer-spectra 0 skips this)")
    try:
        text = fit_and_write(model, checkpoint, simulated_records(model, spectra), spectra,
                             DecodeConfig(beam=RERANK_BEAM), f"{spectra} simulated spectra", scorer_path(checkpoint),
                             progress)
    except RenovoError as error:
        say(f"no scorer written: {error}; renovo sequence ranks by the model's score (refit later with "
            f"renovo calibrate --model {checkpoint})")
        return
    say(text)
    say(f"wrote {scorer_path(checkpoint)}: renovo sequence --model {checkpoint} reranks with it")


def _overrides(args) -> list[str | dict]:
    overrides: list[str | dict] = []
    flags = {
        ("trainer", "max_steps"): args.max_steps if args.max_steps is not None else (
            SANITY_STEPS if args.sanity and not args.resume else None),
        ("trainer", "max_time"): args.max_time,
        ("model", "preset"): args.preset,
        ("seed",): args.seed,
        ("data", "batch_size"): args.batch_size,
        ("data", "train"): args.train,
        ("data", "val"): args.val,
        ("data", "val_fraction"): args.val_fraction,
        ("data", "val_real"): args.val_real,
        ("data", "mix_simulated"): args.mix_simulated,
        ("trainer", "max_epochs"): args.max_epochs,
        ("trainer", "accelerator"): args.accelerator,
        ("trainer", "devices"): int(args.devices) if args.devices and str(args.devices).isdigit() else args.devices,
        ("trainer", "strategy"): args.strategy,
        ("trainer", "precision"): args.precision,
        ("trainer", "progress_bar"): False if args.no_progress else None,
    }
    if args.finetune and args.max_steps is not None and args.max_epochs is None:
        overrides.append({"trainer": {"max_epochs": None}})  # --max-steps wins over the fine-tune's passes
    for path, value in flags.items():
        if value is None:
            continue
        nested: object = value
        for key in reversed(path):
            nested = {key: nested}
        overrides.append(nested)
    return overrides + list(args.set)


def describe_data(config) -> str:
    """What the run trains and validates on, in one line (said before training starts)."""
    d = config["data"]
    extra = ""
    if d.get("mix_simulated"):
        extra += f"; {d['mix_simulated']:g} of every training batch simulated"
    if d.get("val_real"):
        extra += f"; real spectra of {len(d['val_real'])} file(s) decoded at every validation (val_real/…)"
    return _describe_sets(config) + extra


def _describe_sets(config) -> str:
    d = config["data"]
    simulated_val = f"a fixed simulated set of {d['val_size']} spectra (seed + data.val_seed_offset)"
    if not d["train"]:
        validation = f"{len(d['val'])} validation file(s)" if d["val"] else simulated_val
        return f"data: training spectra simulated on the fly; validation on {validation}"
    training = f"data: training on {len(d['train'])} file(s)"
    if d["val"]:
        return f"{training}; validation on {len(d['val'])} file(s)"
    if d.get("val_fraction"):
        return (f"{training}; validation on {d['val_fraction']:g} of their peptides, held out "
                "(every spectrum of a held-out peptide)")
    return (f"{training}; validation on {simulated_val}, not on your data: pass --val FILES, or "
            "--val-fraction 0.1 to hold out a tenth of the training peptides")


def decode_callbacks(config) -> list:
    """The decoded-metric validation callbacks (`renovo.evaluate.callback`): the validation set's, and the
    real spectra's with ``data.val_real``."""
    from renovo.evaluate.callback import build_callbacks

    return build_callbacks(config)


def run(args: argparse.Namespace) -> int:
    from renovo.train.config import load_config, merge_config
    from renovo.train.curriculum import Curriculum
    from renovo.train.trainer import checkpoint_config, train

    changes: list = []
    if args.finetune:
        config = _finetune_config(args)
        run_dir = Path(args.out) if args.out else None
    elif args.resume:
        from renovo.train.config import check_resume_changes, parse_override

        resume = Path(args.resume)
        base = checkpoint_config(resume)
        if args.config is not None and args.config != base.get("name"):
            raise RenovoError(f"--config {args.config} cannot be combined with --resume: the resumed run keeps its "
                              f"checkpoint's config ({base.get('name')}); change --max-steps, --batch-size or "
                              f"--set optim.lr=… instead, or start a new run")
        config = base
        for override in _overrides(args):
            config = merge_config(config, parse_override(override) if isinstance(override, str) else override)
        changes = check_resume_changes(base, config)
        run_dir = Path(args.out) if args.out else resume.resolve().parent.parent
    else:
        config = load_config(args.config or (SANITY_CONFIG if args.sanity else DEFAULT_CONFIG), _overrides(args))
        run_dir = Path(args.out) if args.out else None

    from renovo.evaluate.callback import check_decode_settings
    from renovo.train.trainer import default_run_dir

    check_decode_settings(config)  # an invalid trainer.val_decode_* is one line before any work

    # DDP re-runs this command in each process: they must agree on the run folder.
    run_dir = run_dir or Path(os.environ.get("RENOVO_RUN_DIR") or default_run_dir(config))
    os.environ["RENOVO_RUN_DIR"] = str(run_dir)
    main_process = os.environ.get("LOCAL_RANK", "0") == "0" and os.environ.get("NODE_RANK", "0") == "0"
    say = print if main_process else (lambda *a, **k: None)
    if main_process:
        from renovo.commands.runlog import command_log

        # Held in memory until the run owns its folder (a refused run leaves no file behind),
        # then written to RUN/train.log as the run goes.
        with command_log(None, args) as log:
            return _train(args, config, run_dir, say, main_process, changes, [_log_in_run_folder(log, run_dir)])
    return _train(args, config, run_dir, say, main_process, changes, [])


def _finetune_config(args) -> dict:
    """A fine-tune's config: the checkpoint's, the fine-tune defaults, --config's keys, the flags and --set."""
    from renovo.train.config import resolve_config_source
    from renovo.train.finetune import finetune_config

    for flag, value in (("--resume", args.resume), ("--init-from", args.init_from), ("--preset", args.preset)):
        if value:
            raise RenovoError(f"--finetune cannot be combined with {flag}: a fine-tune starts from its checkpoint's "
                              "weights and architecture")
    if not args.train:
        raise RenovoError("--finetune needs labelled spectra to train on: --train FILES")
    overlays: list = []
    name = None
    if args.config is not None:
        source, overlay = resolve_config_source(args.config)
        overlays.append(overlay)
        name = f"{source}-finetune"
    return finetune_config(args.finetune, overlays + _overrides(args), name=name)


def _log_in_run_folder(log, run_dir):
    """A callback that moves the command's log into RUN/train.log once training starts."""
    import lightning as L

    class LogInRunFolder(L.Callback):
        def on_fit_start(self, trainer, pl_module) -> None:
            if trainer.is_global_zero:
                log.attach(Path(run_dir) / "train.log")

    return LogInRunFolder()


def _train(args, config, run_dir, say, main_process, changes, log_callbacks) -> int:
    from renovo.train.curriculum import Curriculum
    from renovo.train.trainer import train

    epochs = config["trainer"].get("max_epochs")
    sized = bool(epochs) and not args.resume  # steps known once the data are read
    steps = (f"{epochs} pass{'es' if epochs != 1 else ''} over the training files" if sized
             else f"{config['trainer']['max_steps']} steps")
    say(f"renovo train: config {config['name']}, preset {config['model']['preset']}, seed {config['seed']}, "
          f"{steps}, batch {config['data']['batch_size']} → {run_dir}")
    if not sized:  # a sized run prints its stage table with its schedule
        say("curriculum (steps of this run):\n  " + Curriculum.from_config(config).describe().replace("\n", "\n  "))
    say(describe_data(config))
    for key, old, new in changes:
        say(f"resume: {key} {old!r} → {new!r} (applied from the resumed step; logged in {run_dir / 'resume.log'})")
    run_dir = train(config, run_dir, resume=args.resume, extra_callbacks=decode_callbacks(config) + log_callbacks,
                    force=args.force, resume_changes=changes, init_from=args.init_from,
                    finetune_from=args.finetune)
    if not main_process:
        return 0
    print(f"run folder: {run_dir} (config.yaml, metrics.csv, train.log, tensorboard/, checkpoints/last.ckpt)")
    fit_run_scorer(run_dir, args.scorer_spectra, not args.no_progress, say)
    if args.sanity:
        from renovo.experiments.sanity import sanity_report

        text, passed = sanity_report(run_dir)
        print(text)
        from renovo.files import write_text

        write_text(Path(run_dir) / "sanity.txt", text + "\n")
        return 0 if passed else 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    _args = add_parser(argparse.ArgumentParser().add_subparsers()).parse_args()
    import sys

    _args.command_line = ["renovo", *sys.argv[1:]]  # `renovo.cli.main` sets it too, for the run log
    raise SystemExit(run(_args))
