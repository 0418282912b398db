"""`renovo bench evidence`: how much the ion-evidence features say about the true peptide, per file.

No model is involved. For every labelled spectrum, the features are computed
along the true peptide (teacher forcing) and two numbers are taken per
position: whether the true residue has any support (a feature ≥ 0.15, i.e. an
ion at ≥ 1% of the base peak within the kernel), and whether it is the
best-supported candidate (the sum of its channels is the largest among the
residue tokens, ties broken against it) — the token accuracy of a predictor
that only reads the evidence. Real and simulated files side by side show where
the simulator is easier or harder than real spectra.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="*", metavar="FILE", help="labelled spectrum files (MGF, mzML, Parquet, …)")
    parser.add_argument("--simulated", type=int, default=500, help="also score this many simulated spectra (0: none)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--config", default="default", help="training config whose preprocessing and simulator to use")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override (repeatable)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--json", default=None, metavar="FILE", help="write the results as JSON")


def evidence_support(model_evidence, tokenizer, batch) -> dict:
    """Counts over the real residue positions of a batch: positions, supported, evidence-argmax correct."""
    import torch

    tokens = batch["tokens"]  # (B, T)
    features = model_evidence(model_evidence.prefix_masses_da(tokens), batch["precursor_mass_da"],
                              batch["precursor_charge"], batch["mz"], batch["intensity"], batch["peak_mask"])  # (B,T,V,C)
    residue = torch.zeros(tokenizer.vocab_size, dtype=torch.bool)
    residue[tokenizer.EOS + 1:] = True
    residue[list(tokenizer.n_terminal_ids)] = False
    real = residue[tokens]  # (B, T) positions whose target is a residue
    score = features.sum(-1).masked_fill(~residue, -math.inf)  # (B, T, V)
    true_score = score.gather(2, tokens.unsqueeze(-1)).squeeze(-1)  # (B, T)
    best_other = score.scatter(2, tokens.unsqueeze(-1), -math.inf).amax(-1)
    supported = features.gather(2, tokens[..., None, None].expand(-1, -1, 1, features.shape[-1])).squeeze(2).amax(-1) >= 0.15
    return {
        "positions": int(real.sum()),
        "supported": int((supported & real).sum()),
        "argmax_correct": int(((true_score > best_other) & real).sum()),
    }


def _score(records, collator, evidence, tokenizer, batch_size: int) -> dict:
    totals = {"spectra": 0, "positions": 0, "supported": 0, "argmax_correct": 0}
    for start in range(0, len(records), batch_size):
        chunk = records[start:start + batch_size]
        counts = evidence_support(evidence, tokenizer, collator(chunk))
        totals["spectra"] += len(chunk)
        for key, value in counts.items():
            totals[key] += value
    n = max(totals["positions"], 1)
    totals["support_rate"] = totals["supported"] / n
    totals["evidence_argmax_token_acc"] = totals["argmax_correct"] / n
    return totals


def run_bench(args: argparse.Namespace) -> int:
    from renovo.data import SkipCounter, read_spectra, simulate_records
    from renovo.model import IonEvidence, IonEvidenceConfig
    from renovo.train import load_config
    from renovo.train.module import tokenizer_from_config

    config = load_config(args.config, args.set)
    tokenizer = tokenizer_from_config(config)
    settings = config["model"].get("ion_evidence")
    settings = {} if settings in (None, True, False) else {k: v for k, v in dict(settings).items() if k != "into"}
    evidence = IonEvidence(tokenizer, IonEvidenceConfig.from_dict(settings))
    collator = _collator(config, tokenizer)
    results = {}
    for path in args.files:
        skips = SkipCounter()
        records = [r for r in read_spectra(path, vocabulary=tokenizer.vocabulary, skips=skips) if r.peptide]
        results[Path(path).name] = _score(records, collator, evidence, tokenizer, args.batch_size)
    if args.simulated:
        from renovo.train.config import simulator_config

        records = list(simulate_records(args.simulated, args.seed, simulator_config(config),
                                        vocabulary=tokenizer.vocabulary))
        results[f"simulated (n={args.simulated}, seed={args.seed})"] = _score(records, collator, evidence, tokenizer,
                                                                              args.batch_size)
    width = max(len(name) for name in results) if results else 10
    print(f"{'file':<{width}}  spectra  residues  supported  evidence-argmax token acc")
    for name, r in results.items():
        print(f"{name:<{width}}  {r['spectra']:>7}  {r['positions']:>8}  {r['support_rate']:>9.3f}  "
              f"{r['evidence_argmax_token_acc']:>25.3f}")
    if args.json:
        from renovo.files import write_json

        write_json(Path(args.json), results, indent=1)
    return 0


def _collator(config, tokenizer):
    from renovo.train import collator_from_config

    return collator_from_config(config, tokenizer)
