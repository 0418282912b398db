"""With ion-evidence features, a tiny model fits a fixed small simulated set clearly better in the same steps."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from renovo.chem import Tokenizer
from renovo.data import collate_spectra, simulate_records
from renovo.model import build_model, model_config


def _fit(ion_evidence: bool, batches: list[dict], steps: int) -> float:
    """Train a tiny model on ``batches`` (cycled) for ``steps``; token accuracy on them afterwards."""
    torch.manual_seed(0)
    model = build_model(model_config("tiny", ion_evidence=ion_evidence), Tokenizer())
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    for step in range(steps):
        batch = batches[step % len(batches)]
        logits = model(batch)
        loss = F.cross_entropy(logits.transpose(1, 2), batch["tokens"], ignore_index=Tokenizer.PAD)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for batch in batches:
            real = batch["tokens"] != Tokenizer.PAD
            correct += int(((model(batch).argmax(-1) == batch["tokens"]) & real).sum())
            total += int(real.sum())
    return correct / total


def test_ion_evidence_learns_a_fixed_set_faster():
    torch.set_num_threads(1)  # deterministic on any machine
    tokenizer = Tokenizer()
    records = list(simulate_records(64, seed=11))
    batches = [collate_spectra(records[i:i + 32], tokenizer) for i in (0, 32)]
    plain = _fit(False, batches, steps=120)
    evidence = _fit(True, batches, steps=120)
    # Measured: plain 0.36 (residue frequencies and some memorising), ion evidence 0.79.
    assert evidence > plain + 0.2, (plain, evidence)
