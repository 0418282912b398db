"""The scale part of `renovo bench data`: Parquet shards simulated in parallel (and reused),
one epoch streamed through the training DataLoader, and the memory of the process and its
workers sampled meanwhile."""
from __future__ import annotations

import json
import math
import threading
import time
from pathlib import Path

from renovo.bench.common import default_collator
from renovo.files import write_json

MANIFEST = "manifest.json"


# ----------------------------------------------------------------------------- shards

def _expected_rows(path: Path) -> int | None:
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(str(path)).metadata.num_rows
    except Exception:  # a partial or foreign file is simply rewritten
        return None


_progress = None


def _init_worker(counter) -> None:
    global _progress
    _progress = counter


def _write_shard(task: tuple) -> tuple[str, int, float]:
    """Simulate spectra [start, start + count) into ``path`` (atomically: temp file, then rename)."""
    from renovo.data import simulate_records, write_parquet

    path, start, count, seed = task
    path = Path(path)
    t0 = time.perf_counter()

    def records():
        pending = 0
        for record in simulate_records(count, seed, start_index=start):
            yield record
            pending += 1
            if pending == 256 and _progress is not None:
                with _progress.get_lock():
                    _progress.value += pending
                pending = 0
        if pending and _progress is not None:
            with _progress.get_lock():
                _progress.value += pending

    partial = path.with_name(path.name + ".partial")
    written = write_parquet(records(), partial)
    partial.replace(path)
    return str(path), written, time.perf_counter() - t0


def make_shards(out: Path, n_spectra: int, shard_size: int, seed: int, workers: int, progress: bool = True) -> dict:
    """Simulated spectra [0, n) in shards of ``shard_size`` under ``out``; returns a summary with ``paths``.

    Shard ``k`` holds spectra [k·shard_size, …) and depends only on (seed,
    shard_size, k), so complete shards from an earlier run with the same seed
    and shard size are reused (also by a run with a larger n)."""
    import multiprocessing as mp

    from tqdm import tqdm

    out.mkdir(parents=True, exist_ok=True)
    settings = {"shard_size": shard_size, "seed": seed}
    manifest_path = out / MANIFEST
    if manifest_path.is_file():
        try:
            previous = json.loads(manifest_path.read_text()).get("settings")
        except ValueError:
            previous = None
        if previous != settings:  # other spectra: start over rather than mix
            for stale in out.glob("shard_*.parquet"):
                stale.unlink()
    write_json(manifest_path, {"settings": settings, "n_spectra": n_spectra, "complete": False})
    n_shards = max(1, math.ceil(n_spectra / shard_size))
    tasks, reused, paths = [], 0, []
    for shard in range(n_shards):
        start = shard * shard_size
        count = min(shard_size, n_spectra - start)
        path = out / f"shard_{shard:05d}.parquet"
        paths.append(path)
        if path.is_file() and _expected_rows(path) == count:
            reused += count
            continue
        tasks.append((str(path), start, count, seed))
    t0 = time.perf_counter()
    simulated = sum(t[2] for t in tasks)
    if tasks:
        context = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        counter = context.Value("q", 0)
        bar = tqdm(total=simulated, unit="spectra", desc="simulate shards", disable=not progress, smoothing=0.05)
        with context.Pool(max(1, min(workers, len(tasks))), initializer=_init_worker, initargs=(counter,)) as pool:
            result = pool.map_async(_write_shard, tasks, chunksize=1)
            while not result.ready():
                result.wait(0.5)
                bar.update(counter.value - bar.n)
            result.get()  # re-raise a worker's error
        bar.update(counter.value - bar.n)
        bar.close()
    seconds = time.perf_counter() - t0
    write_json(manifest_path, {"settings": settings, "n_spectra": n_spectra, "complete": True})
    return {
        "paths": paths,
        "shards": n_shards,
        "spectra_simulated": simulated,
        "spectra_reused": reused,
        "seconds": seconds,
        "spectra_per_s": simulated / seconds if simulated and seconds > 0 else None,
        "processes": workers,
    }


# ----------------------------------------------------------------------------- memory sampling

class MemorySampler(threading.Thread):
    """Samples RSS (and PSS) of this process plus its children every ``interval_s``."""

    def __init__(self, interval_s: float = 0.5):
        super().__init__(daemon=True)
        import psutil

        self.interval_s = interval_s
        self.process = psutil.Process()
        self.samples: list[dict] = []  # {"t_s", "spectra", "rss", "pss", "processes"}
        self.spectra = 0  # updated by the consumer
        self._stop_event = threading.Event()
        self._t0 = time.perf_counter()

    def sample(self) -> None:
        import psutil

        rss = pss = 0
        have_pss = True
        processes = [self.process]
        try:
            processes += self.process.children(recursive=True)
        except psutil.Error:
            pass
        for process in processes:
            try:
                if have_pss:
                    try:
                        info = process.memory_full_info()
                        rss += info.rss
                        pss += getattr(info, "pss", 0)
                        have_pss = hasattr(info, "pss")
                        continue
                    except psutil.AccessDenied:
                        have_pss = False
                rss += process.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        self.samples.append({"t_s": time.perf_counter() - self._t0, "spectra": self.spectra, "rss": rss,
                             "pss": pss if have_pss else None, "processes": len(processes)})

    def run(self) -> None:
        while not self._stop_event.wait(self.interval_s):
            self.sample()

    def stop(self) -> None:
        self._stop_event.set()
        self.join()
        self.sample()


def rss_at_fraction(samples: list[dict], total: int, fraction: float, key: str = "rss") -> int | None:
    """The sample value taken when ``fraction`` of ``total`` spectra had been read (first sample at or past it)."""
    target = fraction * total
    for sample in samples:
        if sample["spectra"] >= target and sample[key] is not None:
            return sample[key]
    return samples[-1][key] if samples else None


# ----------------------------------------------------------------------------- the epoch

def stream_epoch(paths, *, batch_size: int, workers: int, shuffle_buffer: int, seed: int, sample_s: float,
                 keep_batches: int = 0, progress: bool = True, rank: int | None = None,
                 world_size: int | None = None) -> dict:
    """One epoch of the training DataLoader over Parquet shards, with memory samples."""
    import torch
    from tqdm import tqdm

    from renovo.data import ParquetSpectra

    # even_shards=False: a single rank needs no padding, so every spectrum is read exactly once.
    dataset = ParquetSpectra(paths, shuffle_buffer=shuffle_buffer, seed=seed, rank=rank, world_size=world_size,
                             even_shards=False)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, num_workers=workers, collate_fn=default_collator(),
        persistent_workers=False, prefetch_factor=4 if workers > 0 else None,
    )
    sampler = MemorySampler(sample_s)
    sampler.sample()
    sampler.start()
    kept = []
    spectra = batches = labelled = 0
    t0 = time.perf_counter()
    first_batch_s = None
    with tqdm(total=dataset.num_rows, unit="spectra", desc="stream epoch", disable=not progress, smoothing=0.05) as bar:
        for batch in loader:
            n = len(batch["peptides"])
            if first_batch_s is None:
                first_batch_s = time.perf_counter() - t0
            spectra += n
            batches += 1
            labelled += sum(p is not None for p in batch["peptides"])
            sampler.spectra = spectra
            if len(kept) < keep_batches:
                kept.append(batch)
            bar.update(n)
    seconds = time.perf_counter() - t0
    sampler.stop()
    samples = sampler.samples
    peak = max(s["rss"] for s in samples)
    at = {f"{int(f * 100)}%": rss_at_fraction(samples, spectra, f) for f in (0.1, 0.5, 0.9)}
    pss_values = [s["pss"] for s in samples if s["pss"] is not None]
    growth = (at["90%"] - at["10%"]) if at["90%"] is not None and at["10%"] is not None else None
    step = max(1, len(samples) // 200)
    return {
        "spectra": spectra,
        "rows_in_shards": dataset.num_rows,
        "labelled": labelled,
        "batches": batches,
        "seconds": seconds,
        "first_batch_s": first_batch_s,
        "spectra_per_s": spectra / seconds if seconds > 0 else None,
        "workers": workers,
        "shuffle_buffer": shuffle_buffer,
        "peak_rss_bytes": peak,
        "peak_pss_bytes": max(pss_values) if pss_values else None,
        "rss_bytes_at": at,
        "pss_bytes_at": {f"{int(f * 100)}%": rss_at_fraction(samples, spectra, f, "pss") for f in (0.1, 0.5, 0.9)}
        if pss_values else None,
        "rss_growth_10_to_90_bytes": growth,
        "samples": [{k: s[k] for k in ("t_s", "spectra", "rss", "pss")} for s in samples[::step]],
        "_batches": kept,
    }
