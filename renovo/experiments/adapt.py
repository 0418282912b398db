"""Label-free adaptation: a model teaches itself on a lab's unlabelled spectra, checked by physics.

Each round decodes the unlabelled spectra with the current model (the reranked beam when the checkpoint has a
scorer, `renovo.decode.scorer`), keeps the rank-1 predictions the physics checks accept — the precursor within
the search tolerance, the Gaussian spectral cosine (σ 0.01 Da) and the fraction of matched b/y ions above
thresholds, and the calibrated probability above a threshold when a scorer exists — and fine-tunes the model
on them (`renovo.train.finetune`) with simulated spectra mixed into every batch against forgetting. Two
signals from the accepted spectra:

- ``pseudo``: their decoded peptides as labels (cross-entropy), as self-training does;
- ``physics``: no cross-entropy on them at all (``label_weight`` 0): the decoded peptide only places the
  teacher-forced prefix, and the proposal's losses that need no label — the marginal Gaussian rendering of
  the spectrum and the precursor loss against the *measured* precursor mass — are the only signal.

Labels, when the files have them, are hidden from every step and used only to count how many accepted
predictions were right (`AdaptRound.right`).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from renovo.data import SpectrumRecord
from renovo.decode import FEATURE_NAMES, RERANK_BEAM, DecodeConfig, Decoder, candidate_features, rerank
from renovo.errors import RenovoError
from renovo.evaluate.metrics import match_peptide

SIGNALS = ("pseudo", "physics")


@dataclass
class AcceptanceRule:
    """Which decoded predictions become training spectra."""

    min_gaussian_cosine: float = 0.3  # gaussian_cosine_10mda
    min_ion_fraction: float = 0.3
    min_probability: float = 0.3  # with a scorer only
    require_in_tolerance: bool = True

    def accepts(self, features: dict[str, float], probability: float | None) -> bool:
        if self.require_in_tolerance and features["in_tolerance"] < 1:
            return False
        if features["gaussian_cosine_10mda"] < self.min_gaussian_cosine:
            return False
        if features["ion_fraction"] < self.min_ion_fraction:
            return False
        return probability is None or probability >= self.min_probability


@dataclass
class AdaptRound:
    """What one round did: spectra decoded, predictions accepted, and (with hidden labels) how many were right."""

    round: int
    decoded: int
    accepted: int
    right: int | None = None  # accepted predictions equal to the hidden label (None without labels)
    labelled: int = 0  # accepted spectra that had a hidden label
    checkpoint: str = ""
    extra: dict = field(default_factory=dict)


def accepted_predictions(model, records: Sequence[SpectrumRecord], settings: DecodeConfig,
                         rule: AcceptanceRule) -> list[tuple[SpectrumRecord, str, dict[str, float], float | None]]:
    """Decode ``records`` (their labels unread) and return (record, predicted peptide, features, probability) for
    every rank-1 prediction ``rule`` accepts. With ``settings.scorer`` the beam is reranked first."""
    decoder = Decoder(model, settings)
    collate = decoder.collate
    hidden = [dataclasses.replace(r, peptide=None) for r in records]  # labels play no part in decoding
    chosen = []
    for start in range(0, len(hidden), settings.batch_size):
        chunk = hidden[start:start + settings.batch_size]
        batch = collate(chunk)
        results = decoder.search(batch, top_k=settings.beam if settings.scorer is not None else 1)
        if settings.scorer is not None:
            ranked = rerank(batch, results, model.tokenizer, settings)
            tops = [candidates[0] if candidates else None for candidates in ranked]
        else:
            features = candidate_features(batch, [r[:1] for r in results], model.tokenizer, settings.isotope_offsets)
            tops = [(r[0], None, dict(zip(FEATURE_NAMES, map(float, f[0])))) if r else None
                    for r, f in zip(results, features)]
        for record, top in zip(records[start:start + settings.batch_size], tops):
            if top is None or not top[0].peptide:
                continue
            prediction, probability, feats = top
            if rule.accepts(feats, probability):
                chosen.append((record, prediction.peptide, feats, probability))
    return chosen


def training_records(accepted: Iterable[tuple[SpectrumRecord, str, dict, float | None]], signal: str) -> list[SpectrumRecord]:
    """The accepted spectra as training records: the decoded peptide as the label, its cross-entropy weight 1
    (``pseudo``) or 0 (``physics``: the label only places the prefix for the physics losses)."""
    if signal not in SIGNALS:
        raise RenovoError(f"signal must be one of {', '.join(SIGNALS)}, not {signal!r}")
    weight = 1.0 if signal == "pseudo" else 0.0
    return [dataclasses.replace(record, peptide=peptide, label_weight=weight)
            for record, peptide, _, _ in accepted]


def count_right(accepted: Sequence[tuple[SpectrumRecord, str, dict, float | None]], vocabulary) -> tuple[int, int]:
    """(accepted spectra with a hidden label, of those whose prediction equals it) — evaluation only."""
    labelled = [(record, peptide) for record, peptide, _, _ in accepted if record.peptide]
    right = sum(match_peptide(peptide, record.peptide, vocabulary).peptide_match for record, peptide in labelled)
    return len(labelled), right


#: What the physics signal trains on the accepted spectra: the marginal rendering (it keeps a gradient at any
#: accuracy, and at this weight its gradient is about 10-25% of cross-entropy's) and the precursor loss against
#: the measured mass (the decoded peptide's own mass would make it zero).
PHYSICS_OVERRIDES = {
    "loss": {"spectrum": {"type": "gaussian_marginal", "render": "analytic", "sigma": 0.05},
             "precursor": {"type": "scaled_l1", "scale_factor": 0.004, "target": "measured", "isotope_offsets": 1}},
    "curriculum": {"scale_to_max_steps": False, "reference_steps": 100000,
                   "stages": [{"start": 0, "spectrum": 2.5, "precursor": 0.08}]},
    "trainer": {"checkpoint_monitor": "val/total"},
}


@dataclass
class AdaptSettings:
    """A label-free adaptation: rounds, the signal, the acceptance rule, the fine-tune of each round."""

    rounds: int = 3
    signal: str = "pseudo"
    rule: AcceptanceRule = field(default_factory=AcceptanceRule)
    decode: DecodeConfig = field(default_factory=lambda: DecodeConfig(beam=RERANK_BEAM))
    mix_simulated: float = 0.5
    max_epochs: int = 20
    seed: int = 0
    overrides: list = field(default_factory=list)  # further config overlays of every round's fine-tune


def adapt(checkpoint: str | Path, records: Sequence[SpectrumRecord], out: str | Path, settings: AdaptSettings,
          *, scorer=None, extra_callbacks=(), say=print, force: bool = False) -> list[AdaptRound]:
    """Adapt ``checkpoint`` to ``records`` (their labels, if any, are hidden and only counted) for
    ``settings.rounds`` rounds into ``out/round-<n>/``; the rounds' log. ``scorer`` (for ``checkpoint``) reranks
    the first round's decoding; later rounds use the acceptance thresholds alone (the scorer belongs to the
    checkpoint it was fitted for). Stops early when a round accepts fewer than two. ``force`` lets a round
    replace an earlier adaptation's folder of the same number."""
    from renovo.model.checkpoint import load_model
    from renovo.train.finetune import finetune

    if settings.signal not in SIGNALS:
        raise RenovoError(f"signal must be one of {', '.join(SIGNALS)}, not {settings.signal!r}")
    out = Path(out)
    current = Path(checkpoint)
    log: list[AdaptRound] = []
    for number in range(1, settings.rounds + 1):
        model = load_model(current)
        decode = dataclasses.replace(settings.decode, scorer=scorer if number == 1 else None)
        accepted = accepted_predictions(model, records, decode, settings.rule)
        labelled, right = count_right(accepted, model.tokenizer.vocabulary)
        entry = AdaptRound(number, len(records), len(accepted), right if labelled else None, labelled)
        say(f"round {number}: {len(accepted)} of {len(records)} predictions accepted"
            + (f", {right} of the {labelled} with a hidden label right" if labelled else ""))
        if len(accepted) < 2:
            say(f"round {number}: too few accepted predictions to train on; stopping")
            log.append(entry)
            break
        overrides = [{"seed": settings.seed, "data": {"mix_simulated": settings.mix_simulated},
                      "trainer": {"max_epochs": settings.max_epochs}}]
        if settings.signal == "physics":
            overrides.append(PHYSICS_OVERRIDES)
        run = finetune(current, training_records(accepted, settings.signal), run_dir=out / f"round-{number}",
                       overrides=overrides + list(settings.overrides), extra_callbacks=extra_callbacks, force=force)
        current = best_checkpoint(run)
        entry.checkpoint = str(current)
        log.append(entry)
    return log


def best_checkpoint(run_dir: Path) -> Path:
    """A run's best checkpoint by its monitor (best-*.ckpt), else its last."""
    best = sorted(Path(run_dir, "checkpoints").glob("best-*.ckpt"))
    return best[-1] if best else Path(run_dir, "checkpoints", "last.ckpt")


__all__ = ["AcceptanceRule", "AdaptRound", "AdaptSettings", "PHYSICS_OVERRIDES", "SIGNALS", "accepted_predictions",
           "adapt", "best_checkpoint", "count_right", "training_records"]
