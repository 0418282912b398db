"""Run `renovo` or `casanovo` from its own command line, timed from the inside, the same way for both.

Usage (with the tool's own Python)::

    python instrument.py --tool renovo|casanovo --events EVENTS.json [options] -- TOOL ARGS...

The tool's CLI runs unchanged in this process; this script only adds one
Lightning callback to every ``Trainer`` the tool builds (and, for renovo's
decoder, which does not use Lightning, wraps ``renovo.decode.pipeline.search_batch``, the batch search of ``renovo.decode.Decoder``):

* training: the time of every optimizer step's end (``train_batch_end``);
  ``--max-steps`` and ``--budget-s`` stop training (``trainer.should_stop``);
* ``--eval-every-s``: every so many seconds of training wall time (and at the
  start and the end, and at each of ``--eval-at-s``, e.g. dense early points
  where a curve rises fastest) the callback evaluates the model, teacher forced, on the
  validation data the tool itself loaded (cross-entropy without label
  smoothing and token accuracy over the non-padding target positions,
  residues and the stop token) — the clock stops while it does;
* ``--final-ckpt``: ``trainer.save_checkpoint`` at the end of training (the
  tool's own checkpoint format, loadable by its ``sequence`` command);
* decoding: the time and size of every decoded batch.

Times are ``time.time()`` seconds; ``HARNESS_T0`` in the environment (set by the
harness just before it starts the process) is the process's launch time, so
``wall_s`` values include interpreter start-up, imports and data loading.
The events file is written atomically at the end (and after each evaluation).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time

T0 = float(os.environ.get("HARNESS_T0", time.time()))


class Recorder:
    def __init__(self, path: str):
        self.path = path
        self.events: list[dict] = [{"event": "start", "t": time.time(), "launch_t": T0, "argv": sys.argv}]

    def add(self, **event) -> None:
        event.setdefault("t", time.time())
        self.events.append(event)

    def write(self) -> None:
        folder = os.path.dirname(os.path.abspath(self.path))
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".events.", suffix=".tmp")
        with os.fdopen(handle, "w") as out:
            json.dump(self.events, out)
        os.replace(temporary, self.path)


def teacher_forced(tool: str, module, batch):
    """(logits (B, T, V), targets (B, T), pad id) of one validation batch under each tool's own forward."""
    if tool == "renovo":
        return module.model(batch), batch["tokens"], 0
    pred, truth = module._forward_step(batch)  # Casanovo: scores (B, T+1, V), tokens (B, T)
    return pred[:, :-1, :], truth, 0


def to_device(batch, device):
    import torch

    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, device) for v in batch)
    return batch.to(device) if isinstance(batch, torch.Tensor) else batch


def make_callback(args, recorder: Recorder, captured: dict):
    import lightning.pytorch as pl
    import torch
    from torch.nn import functional as F

    class HarnessCallback(pl.Callback):
        def __init__(self):
            self.eval_seconds = 0.0  # excluded from the training clock
            self.next_eval = 0.0
            self.steps = 0

        def train_wall_s(self) -> float:
            return time.time() - T0 - self.eval_seconds

        def val_loader(self, trainer):
            if captured.get("val") is not None:
                loaders = captured["val"]
            elif captured.get("datamodule") is not None:
                loaders = captured["datamodule"].val_dataloader()
            else:
                loaders = trainer.val_dataloaders
            if isinstance(loaders, (list, tuple)):
                loaders = loaders[0]
            return loaders

        @torch.no_grad()
        def evaluate(self, trainer, module, when: str) -> None:
            start = time.time()
            wall = start - T0 - self.eval_seconds
            was_training = module.training
            module.eval()
            loss_sum, correct, count, spectra = 0.0, 0, 0, 0
            for batch in self.val_loader(trainer):
                batch = to_device(batch, module.device)
                logits, targets, pad = teacher_forced(args.tool, module, batch)
                real = targets != pad
                loss_sum += float(F.cross_entropy(logits.float().transpose(1, 2), targets, ignore_index=pad,
                                                  reduction="sum"))
                correct += int(((logits.argmax(-1) == targets) & real).sum())
                count += int(real.sum())
                spectra += int(targets.shape[0])
            if was_training:
                module.train()
            seconds = time.time() - start
            self.eval_seconds += seconds
            recorder.add(event="eval", when=when, step=int(trainer.global_step), wall_s=wall,
                         val_loss=loss_sum / max(count, 1), val_token_acc=correct / max(count, 1),
                         val_spectra=spectra, val_tokens=count, eval_s=seconds)
            recorder.write()

        def on_train_start(self, trainer, module):
            recorder.add(event="train_start", step=int(trainer.global_step), wall_s=self.train_wall_s())
            if args.eval_every_s:
                self.evaluate(trainer, module, "start")
                self.next_eval = args.eval_every_s
                self.early = sorted(t for t in args.eval_at_s if t > self.train_wall_s())

        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
            self.steps += 1
            recorder.add(event="train_batch_end", step=int(trainer.global_step))
            wall = self.train_wall_s()
            stop = bool(args.max_steps and self.steps >= args.max_steps) or bool(args.budget_s and wall >= args.budget_s)
            if stop:
                trainer.should_stop = True
                # The last evaluation is taken here, where training stops: Lightning then runs the
                # tool's own validation (it does whenever should_stop is set), which is not training.
                self.stop_wall_s = wall
                if args.eval_every_s:
                    self.evaluate(trainer, module, "end")
            elif args.eval_every_s and (wall >= self.next_eval or (self.early and wall >= self.early[0])):
                self.evaluate(trainer, module, "periodic")
                while self.next_eval <= wall:
                    self.next_eval += args.eval_every_s
                self.early = [t for t in self.early if t > wall]

        def on_train_end(self, trainer, module):
            stopped = getattr(self, "stop_wall_s", None)
            recorder.add(event="train_end", step=int(trainer.global_step),
                         wall_s=stopped if stopped is not None else self.train_wall_s())
            if args.eval_every_s and stopped is None:  # the tool stopped on its own (its max_steps)
                self.evaluate(trainer, module, "end")
            if args.final_ckpt:
                trainer.save_checkpoint(args.final_ckpt)
                recorder.add(event="final_ckpt", path=args.final_ckpt)

        def on_predict_batch_end(self, trainer, module, outputs, batch, batch_idx, dataloader_idx=0):
            recorder.add(event="decode_batch_end", spectra=int(batch["precursor_mz"].shape[0]))

    return HarnessCallback()


def install(args, recorder: Recorder) -> None:
    import lightning.pytorch as pl

    captured: dict = {}
    callback = make_callback(args, recorder, captured)
    original_init, original_fit = pl.Trainer.__init__, pl.Trainer.fit

    def init(self, *a, **kw):
        callbacks = list(kw.get("callbacks") or [])
        kw["callbacks"] = callbacks + [callback]
        original_init(self, *a, **kw)

    def fit(self, model, train_dataloaders=None, val_dataloaders=None, datamodule=None, *a, **kw):
        captured["val"], captured["datamodule"] = val_dataloaders, datamodule
        return original_fit(self, model, train_dataloaders, val_dataloaders, datamodule, *a, **kw)

    pl.Trainer.__init__, pl.Trainer.fit = init, fit

    if args.tool == "renovo":
        import renovo.decode
        import renovo.decode.pipeline

        search_batch = renovo.decode.pipeline.search_batch

        def timed_search_batch(model, batch, *a, **kw):
            result = search_batch(model, batch, *a, **kw)
            recorder.add(event="decode_batch_end", spectra=len(result))
            return result

        # `renovo sequence` runs `renovo.decode.Decoder`, which searches through the pipeline module's own
        # reference (imported by name there): patch that one.
        renovo.decode.pipeline.search_batch = timed_search_batch


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tool", required=True, choices=["renovo", "casanovo"])
    parser.add_argument("--events", required=True, help="JSON file of timed events to write")
    parser.add_argument("--max-steps", type=int, default=0, help="stop training after this many steps (0: the tool's)")
    parser.add_argument("--budget-s", type=float, default=0.0, help="stop training after this much training wall time")
    parser.add_argument("--eval-every-s", type=float, default=0.0, help="teacher-forced validation every so often")
    parser.add_argument("--eval-at-s", type=lambda text: [float(t) for t in text.split(",") if t.strip()], default=[],
                        help="extra evaluation times, seconds of training wall time, comma-separated (with --eval-every-s)")
    parser.add_argument("--final-ckpt", default=None, help="save the trained model here at the end of training")
    parser.add_argument("tool_args", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    tool_args = args.tool_args[1:] if args.tool_args[:1] == ["--"] else args.tool_args
    recorder = Recorder(args.events)
    install(args, recorder)
    code = 0
    try:
        if args.tool == "renovo":
            from renovo.cli import main as renovo_main

            code = int(renovo_main(tool_args) or 0)
        else:
            from casanovo.casanovo import main as casanovo_main

            sys.argv = ["casanovo", *tool_args]
            try:
                casanovo_main(standalone_mode=False)
            except SystemExit as stop:
                code = int(stop.code or 0)
    finally:
        recorder.add(event="end", exit_code=code)
        recorder.write()
    return code


if __name__ == "__main__":
    sys.exit(main())
