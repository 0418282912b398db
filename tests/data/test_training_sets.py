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
    assert "training data: kept 6 of 12 spectra, skipped 6" in err and "unlabelled" in err and f"data.max_length={max_length}" in err


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


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from renovo.data import BucketedBatchSampler, peaks_after_preprocessing  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(counts=st.lists(st.integers(1, 500), min_size=0, max_size=200), batch_size=st.integers(1, 17),
       bucket=st.integers(1, 6), seed=st.integers(0, 3), epoch=st.integers(0, 3))
def test_bucketed_batches_hold_every_spectrum_once_per_epoch(counts, batch_size, bucket, seed, epoch):
    sampler = BucketedBatchSampler(counts, batch_size, bucket, seed=seed)
    sampler.set_epoch(epoch)
    batches = list(sampler)
    assert len(batches) == len(sampler)
    assert sorted(i for b in batches for i in b) == list(range(len(counts)))
    assert all(0 < len(b) <= batch_size for b in batches)
    assert batches == list(sampler)  # deterministic in (seed, epoch)


def test_bucketed_batches_pad_less_and_reshuffle_each_epoch():
    import random

    rng = random.Random(0)
    counts = [rng.randint(20, 500) for _ in range(640)]
    def mean_padding(batches):
        return sum(max(counts[i] for i in b) * len(b) - sum(counts[i] for i in b) for b in batches) / len(counts)
    plain = BucketedBatchSampler(counts, 32, 1, seed=0)
    bucketed = BucketedBatchSampler(counts, 32, 4, seed=0)
    assert mean_padding(list(bucketed)) < 0.6 * mean_padding(list(plain))
    first = list(bucketed)
    bucketed.set_epoch(1)
    assert list(bucketed) != first


def test_peak_count_is_what_the_collator_keeps():
    collator = SpectrumCollator(Tokenizer(), max_peaks=40)
    for record in records(5):
        width = collator([record])["mz"].shape[1]
        assert peaks_after_preprocessing(record, collator) == width


def test_skip_report_wording():
    """The training-set note read 'val: skipped kept 10 spectra, skipped 10'."""
    from renovo.data import SkipCounter

    skips = SkipCounter()
    skips.kept = 10
    for _ in range(10):
        skips.skip("too long", "x")
    assert skips.report().splitlines()[0] == "kept 10 of 20 spectra, skipped 10"
