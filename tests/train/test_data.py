"""The training data module: a held-out split that never puts one peptide on both sides (modified forms,
I/L and charges included), simulated spectra mixed into every batch of file spectra at the configured
fraction, records in memory in place of files."""
from __future__ import annotations

import pytest

from renovo.chem import Tokenizer
from renovo.data import SimulatedShare, simulated_per_batch
from renovo.errors import RenovoError
from renovo.train import load_config
from renovo.train.data import RenovoDataModule, peptide_key, split_by_peptide

from .conftest import make_records

FORMS = ["PEPTIDEK", "PEPTLDEK", "PEPM[Oxidation]TIDEK", "PEPMTIDEK", "[Acetyl]-SAMPLER", "SAMPLER", "GGLLK",
         "ACDEFGHIKR", "LLGKM[Oxidation]R", "LLGKMR", "VVNNR", "VVN[Deamidated]NR"]


def test_modified_forms_and_isoleucine_are_one_peptide():
    assert peptide_key("PEPM[Oxidation]IK") == peptide_key("PEPMLK") == "PEPMLK"
    assert peptide_key("[Acetyl]-SAMPLER") == peptide_key("SAMPLER")
    assert peptide_key("PEPTIDEK") != peptide_key("PEPTIDER")


@pytest.mark.parametrize("seed", range(6))
def test_split_keeps_every_form_of_a_peptide_on_one_side(seed):
    records = make_records(FORMS, charge=2) + make_records(FORMS, charge=3)
    train, val = split_by_peptide(records, 0.4, seed=seed)
    assert train and val and len(train) + len(val) == len(records)
    assert not ({peptide_key(r.peptide) for r in train} & {peptide_key(r.peptide) for r in val})


def _module(records, fraction, batch_size=8, **data):
    config = load_config("ce_only", ["model.preset=tiny", f"data.batch_size={batch_size}", "data.bucket_batches=1",
                                     f"data.mix_simulated={fraction}",
                                     *[f"data.{k}={v}" for k, v in data.items()]])
    module = RenovoDataModule(config, Tokenizer(), train_records=records, val_records=records[:2])
    module.setup("fit")
    return module


def test_every_batch_holds_the_mixed_fraction_of_fresh_simulated_spectra():
    records = make_records(["PEPTIDEK", "ACDEFGHIKR", "SAMPLER", "GGLLK"] * 6)  # 24 file spectra
    files = {r.peptide for r in records}
    module = _module(records, 0.25)
    assert module.file_batch() == (6, 2) and module.training_spectra() == 24
    batches = list(module.train_dataloader())
    assert len(batches) == 4  # 24 file spectra, 6 a batch
    simulated = []
    for batch in batches:
        assert len(batch["peptides"]) == 8
        assert sum(p in files for p in batch["peptides"]) == 6
        simulated += [p for p in batch["peptides"] if p not in files]
    assert len(simulated) == 8 and len(set(simulated)) > 4  # new spectra each batch
    plain = _module(records, 0.0)
    assert plain.file_batch() == (8, 0)
    assert all(p in files for batch in plain.train_dataloader() for p in batch["peptides"])


def test_simulated_share_is_disjoint_across_ranks_and_workers():
    class Drawn:  # a simulator that says which spectrum it was asked for
        def spectrum(self, seed, index):
            return (seed, index)

    ranks = [SimulatedShare(list, Drawn(), 7, 3, rank=r, world_size=2) for r in (0, 1)]
    drawn = [share(["file"])[1:] for _ in range(3) for share in ranks]
    indices = [i for batch in drawn for _, i in batch]
    assert len(indices) == len(set(indices)) == 18 and all(seed == 7 for batch in drawn for seed, _ in batch)
    assert SimulatedShare(list, Drawn(), 7, 3).simulated(4) == [(7, 12), (7, 13), (7, 14)]


def test_mix_fraction_rules():
    assert simulated_per_batch(0.25, 32) == 8 and simulated_per_batch(0.99, 4) == 3 and simulated_per_batch(0.0, 8) == 0
    with pytest.raises(RenovoError, match=r"\[0, 1\)"):
        simulated_per_batch(1.0, 8)
    with pytest.raises(Exception, match="data.mix_simulated"):
        load_config(None, ["data.mix_simulated=1.0"])
    config = load_config("ce_only", ["model.preset=tiny", "data.mix_simulated=0.5"])
    with pytest.raises(RenovoError, match="without training files"):
        RenovoDataModule(config, Tokenizer()).setup("fit")
