"""What training reads: labelled files (in memory or streamed) and simulated batches."""
from __future__ import annotations

import dataclasses

import pytest

from renovo.chem import Tokenizer
from renovo.data import (LabelledStream, RecordList, SimulatedBatches, Simulator, SpectrumCollator,
                         load_labelled_dataset, simulate_records, write_mgf, write_parquet)
from renovo.errors import RenovoError


def records(n=12, seed=1):
    return list(simulate_records(n, seed))


def test_files_read_whole_keep_only_usable_labels(tmp_path, capsys):
    items = records()
    items[0] = dataclasses.replace(items[0], peptide=None)
    write_mgf(items, tmp_path / "a.mgf")
    tokenizer = Tokenizer()
    max_length = sorted(len(tokenizer.encode(r.peptide)) - 1 for r in items[1:])[5]  # some peptides are longer
    dataset = load_labelled_dataset([tmp_path / "a.mgf"], tokenizer, max_length, "training data")
    assert isinstance(dataset, RecordList)
    kept = [r for r in items[1:] if len(tokenizer.encode(r.peptide)) - 1 <= max_length]
    assert [r.peptide for r in dataset.records] == [r.peptide for r in kept]
    err = capsys.readouterr().err
    assert "training data: skipped" in err and "unlabelled" in err and f"data.max_length={max_length}" in err


def test_parquet_streams_and_unlabelled_parquet_is_refused(tmp_path):
    write_parquet(records(), tmp_path / "a.parquet")
    stream = load_labelled_dataset([tmp_path / "a.parquet"], Tokenizer(), 50, "training data", shuffle_buffer=0)
    assert isinstance(stream, LabelledStream) and len(list(stream)) == 12
    assert isinstance(load_labelled_dataset([tmp_path / "a.parquet"], Tokenizer(), 50, "v", stream=False), RecordList)
    write_parquet([dataclasses.replace(r, peptide=None) for r in records()], tmp_path / "u.parquet")
    with pytest.raises(RenovoError, match="no usable labelled spectra"):
        load_labelled_dataset([tmp_path / "u.parquet"], Tokenizer(), 50, "training data")


def test_a_stream_with_no_usable_spectrum_stops_instead_of_spinning(tmp_path):
    write_parquet(records(), tmp_path / "a.parquet")
    stream = load_labelled_dataset([tmp_path / "a.parquet"], Tokenizer(), 1, "training data", shuffle_buffer=0)
    with pytest.raises(RenovoError, match="no usable labelled spectra"):
        list(stream)


def test_simulated_batches_depend_on_seed_index_and_rank_only():
    tokenizer = Tokenizer()
    collator = SpectrumCollator(tokenizer)

    def stream(start=0, rank=0, bucket=1):
        return SimulatedBatches(Simulator(), collator, 7, 4, start_batch=start, rank=rank, world_size=2,
                                bucket=bucket)

    fresh, resumed = iter(stream()), iter(stream(start=3))
    batches = [next(fresh) for _ in range(5)]
    assert next(resumed)["peptides"] == batches[3]["peptides"]
    assert stream(rank=1).batch(0)["peptides"] != batches[0]["peptides"]
    bucketed = stream(bucket=2)
    pair = bucketed.batch(0)["peptides"] + bucketed.batch(1)["peptides"]
    assert sorted(pair) == sorted(batches[0]["peptides"] + batches[1]["peptides"])  # same spectra, regrouped
