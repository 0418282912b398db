"""`renovo sequence`: de novo sequence spectra files with a trained model → mzTab (+ CSV)."""
from __future__ import annotations

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "sequence",
        help="de novo sequence spectra (MGF, mzML, Parquet) with a trained checkpoint; writes mzTab",
        description="Sequence every spectrum of the input files with a trained renovo checkpoint and "
        "write the predictions as mzTab 1.0 (and optionally CSV). Spectrum references are "
        "ms_run[n]:index=i, i the 0-based position of the spectrum in its file. Writes "
        "OUT.sequence.json with the resolved settings and counts.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="spectrum files (.mgf, .mzML, .parquet)")
    parser.add_argument("--model", required=True, metavar="CKPT", help="renovo training checkpoint (.ckpt)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.mztab", help="mzTab file to write")
    parser.add_argument("--csv", metavar="OUT.csv", help="also write the predictions as CSV")
    parser.add_argument("--beam", type=int, default=5, help="beam size; 1 = greedy (default 5)")
    parser.add_argument("--top-k", type=int, default=1, help="predictions per spectrum (≤ beam; default 1)")
    parser.add_argument("--precursor-tolerance-ppm", type=float, default=50.0,
                        help="precursor-mass constraint tolerance in ppm (default 50, Casanovo's)")
    parser.add_argument("--no-mass-constraint", action="store_true", help="decode without the precursor-mass constraint")
    parser.add_argument("--isotope-offsets", default="0,1",
                        help="isotope peaks the precursor may have been picked at, comma-separated (default 0,1)")
    parser.add_argument("--batch-size", type=int, default=32, help="spectra per batch (default 32)")
    parser.add_argument("--max-length", type=int, default=60, help="most residues per peptide (default 60)")
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (decoding is deterministic; recorded)")
    parser.add_argument("-f", "--force", action="store_true", help="overwrite existing output files")
    parser.set_defaults(handler=run)
    return parser


def _isotopes(text: str) -> tuple[int, ...]:
    from renovo.errors import RenovoError

    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise RenovoError(f"--isotope-offsets must be integers like 0,1, not {text!r}") from None
    if not values:
        raise RenovoError("--isotope-offsets needs at least one value")
    return values


def _settings_path(output):
    """OUT.sequence.json beside the mzTab file."""
    return output.with_name(output.name + ".sequence.json") if output.suffix == "" else output.with_suffix(".sequence.json")


def _batches(records, size: int):
    batch = []
    for record in records:
        batch.append(record)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


# long function: validation, device choice, collation, PSM building and printing; to be split into a
# decode pipeline (sequence_files) with this command left thin.
def run(args: argparse.Namespace) -> int:
    import math
    import time
    from pathlib import Path

    import torch
    from tqdm import tqdm

    from renovo.data import SkipCounter, SpectrumCollator, read_spectra
    from renovo.decode import beam_search
    from renovo.errors import RenovoError
    from renovo.evaluate.io import PSM, calc_mz, write_csv, write_mztab
    from renovo.train import load_model

    if args.beam < 1 or args.top_k < 1 or args.batch_size < 1 or args.max_length < 1:
        raise RenovoError("--beam, --top-k, --batch-size and --max-length must be ≥ 1")
    if args.top_k > args.beam:
        raise RenovoError(f"--top-k {args.top_k} exceeds --beam {args.beam}")
    files = [Path(f) for f in args.files]
    for f in files:
        if not f.is_file():
            raise RenovoError(f"no spectrum file {f}")
    if not Path(args.model).is_file():
        raise RenovoError(f"no checkpoint {args.model}")
    # Outputs and inputs are checked before any work (files.py): no output may replace an input or the model.
    from renovo.data import check_spectrum_files
    from renovo.files import check_outputs, write_json

    check_outputs([*files, args.model], [args.output, args.csv, _settings_path(Path(args.output))], args.force)
    check_spectrum_files(files)
    tolerance = None if args.no_mass_constraint else float(args.precursor_tolerance_ppm)
    if tolerance is not None and tolerance <= 0:
        raise RenovoError("--precursor-tolerance-ppm must be > 0 (or use --no-mass-constraint)")
    isotopes = _isotopes(args.isotope_offsets)
    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    torch.manual_seed(args.seed)

    model = load_model(args.model, map_location=device)
    config = getattr(model, "config_dict", {}) or {}
    try:  # preprocess exactly as in training: same data.max_peaks and data.preprocess
        collate = SpectrumCollator.from_config(model.tokenizer, config if isinstance(config, dict) else {})
    except (TypeError, ValueError) as error:
        raise RenovoError(f"checkpoint's config {error}") from None

    skips = SkipCounter()
    psms: list[PSM] = []
    n_read = n_sequenced = n_in_tolerance = 0
    started = time.perf_counter()
    progress = tqdm(unit="spectra", desc="sequencing", dynamic_ncols=True)
    for path in files:
        # Labels play no part in sequencing: no label table is joined.
        records = read_spectra(path, labels=False, vocabulary=model.tokenizer.vocabulary, skips=skips, on_unknown_mod="ignore")
        for records_batch in _batches(records, args.batch_size):
            batch = collate(records_batch)
            results = beam_search(
                model, batch, beam_size=args.beam, top_k=args.top_k, max_length=args.max_length,
                precursor_tolerance_ppm=tolerance, isotope_offsets=isotopes,
            )
            n_read += len(records_batch)
            for record, predictions in zip(records_batch, results):
                if predictions:
                    n_sequenced += 1
                    n_in_tolerance += bool(predictions[0].precursor_match)
                for rank, prediction in enumerate(predictions, start=1):
                    psms.append(PSM(
                        source_file=str(path),
                        index=record.index,
                        peptide=prediction.peptide,
                        score=prediction.score,
                        residue_scores=prediction.residue_scores,
                        rank=rank,
                        charge=record.precursor_charge,
                        precursor_mz=record.precursor_mz,
                        calc_mz=calc_mz(prediction.mass_da, record.precursor_charge),
                        mass_error_ppm=prediction.mass_error_ppm,
                        precursor_match=prediction.precursor_match,
                        retention_time_s=record.retention_time_s,
                        title=record.title,
                        scan=record.scan,
                    ))
            progress.update(len(records_batch))
    progress.close()
    elapsed = time.perf_counter() - started

    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    write_mztab(output, psms, [str(f) for f in files], model.tokenizer.vocabulary)
    if args.csv:
        Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
        write_csv(args.csv, psms)
    settings = {
        "command": "sequence",
        "files": [str(f.resolve()) for f in files],
        "model": str(Path(args.model).resolve()),
        "output": str(output.resolve()),
        "csv": str(Path(args.csv).resolve()) if args.csv else None,
        "beam": args.beam,
        "top_k": args.top_k,
        "precursor_tolerance_ppm": tolerance,
        "isotope_offsets": list(isotopes),
        "batch_size": args.batch_size,
        "max_length": args.max_length,
        "device": device,
        "seed": args.seed,
        "model_config": config,
        "counts": {"read": n_read, "sequenced": n_sequenced, "precursor_in_tolerance": n_in_tolerance,
                   "skips": skips.as_dict()},
        "seconds": round(elapsed, 3),
    }
    settings_path = _settings_path(output)
    write_json(settings_path, settings, default=str)  # after the predictions it describes

    print(f"read {n_read} spectra from {len(files)} file(s); skipped {skips.total}")
    if skips.total:
        print(skips.report())
    rate = n_read / elapsed if elapsed > 0 else math.inf
    constraint = f", {n_in_tolerance} within {tolerance:g} ppm of the precursor" if tolerance is not None else ""
    print(f"sequenced {n_sequenced} spectra ({rate:.1f} spectra/s, beam {args.beam}{constraint})")
    print(f"wrote {output}" + (f" and {args.csv}" if args.csv else "") + f"; settings in {settings_path}")
    return 0
