"""`renovo sequence`: de novo sequence spectra files with a trained model → mzTab or CSV."""
from __future__ import annotations

import argparse

from renovo.decode.config import DEFAULTS, RERANK_BEAM


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "sequence",
        help="de novo sequence spectra (MGF, mzML, mzXML, Parquet; .gz too) with a trained checkpoint",
        description="Sequence every spectrum of the inputs with a trained renovo checkpoint and write the "
        "predictions as mzTab 1.0 in Casanovo 5.2's layout (or CSV when OUT ends in .csv). Inputs may be "
        "files, folders (their spectrum files) or glob patterns. Spectrum references are ms_run[n]:index=i, "
        "i the 0-based position of the spectrum in the file it was first read from (for a Parquet made by "
        "`renovo convert`, its source file). Writes OUT.sequence.json with the resolved settings and counts, and "
        "OUT.log with the command, versions, settings and what was printed.",
    )
    parser.add_argument("files", nargs="+", metavar="INPUT", help="spectrum files, folders or glob patterns "
                        "(.mgf, .mzML, .mzXML, optionally .gz; .parquet)")
    parser.add_argument("--model", required=True, metavar="CKPT", help="renovo training checkpoint (.ckpt)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help="file to write: .mztab, or .csv for CSV")
    parser.add_argument("--csv", metavar="OUT.csv", help="also write the predictions as CSV")
    parser.add_argument("--beam", type=int, default=None,
                        help=f"beam size; 1 = greedy (default {RERANK_BEAM} when reranking with a scorer, "
                        f"else {DEFAULTS.beam})")
    parser.add_argument("--scorer", metavar="SCORER.json",
                        help="candidate scorer to rerank with (default: CKPT.scorer.json beside the model, when it "
                        "exists; fitted by renovo train or renovo calibrate)")
    parser.add_argument("--no-rerank", action="store_true",
                        help="rank candidates by the model's score alone, even when a scorer exists")
    parser.add_argument("--top-k", type=int, default=DEFAULTS.top_k,
                        help=f"predictions per spectrum (≤ beam; default {DEFAULTS.top_k})")
    parser.add_argument("--precursor-tolerance-ppm", type=float, default=DEFAULTS.precursor_tolerance_ppm,
                        help=f"precursor-mass constraint tolerance in ppm (default {DEFAULTS.precursor_tolerance_ppm:g}, "
                        "Casanovo's)")
    parser.add_argument("--no-mass-constraint", action="store_true", help="decode without the precursor-mass constraint")
    parser.add_argument("--isotope-offsets", default=",".join(map(str, DEFAULTS.isotope_offsets)),
                        help="isotope peaks the precursor may have been picked at, comma-separated (default "
                        f"{','.join(map(str, DEFAULTS.isotope_offsets))})")
    parser.add_argument("--min-peaks", type=int, default=DEFAULTS.min_peaks,
                        help=f"skip (and count) spectra with fewer peaks after preprocessing (default "
                        f"{DEFAULTS.min_peaks}, Casanovo's; at least 1: a spectrum with no peak left is never sequenced)")
    parser.add_argument("--max-charge", type=int, default=DEFAULTS.max_charge,
                        help="skip (and count) spectra of a higher precursor charge (default: the model's largest "
                        "charge embedding, 10 for the presets; higher charges are always skipped)")
    parser.add_argument("--batch-size", type=int, default=DEFAULTS.batch_size,
                        help=f"spectra per batch (default {DEFAULTS.batch_size})")
    parser.add_argument("--max-length", type=int, default=DEFAULTS.max_length,
                        help=f"most residues per peptide (default {DEFAULTS.max_length})")
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default)")
    parser.add_argument("--vocabulary", metavar="CONFIG.yaml",
                        help="a config whose vocabulary the model must have (a mismatch stops before decoding)")
    parser.add_argument("--column-map", metavar="RENOVO=FILE,…",
                        help="Parquet inputs in another layout: renovo column = file column, e.g. "
                        "mz=masses,intensity=intensities,precursor_mz=pmz,precursor_charge=z")
    parser.add_argument("--seed", type=int, default=0, help="random seed (decoding is deterministic; recorded)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("-f", "--force", action="store_true", help="overwrite existing output files")
    parser.set_defaults(handler=run)
    return parser


def parse_isotopes(text: str) -> tuple[int, ...]:
    from renovo.errors import RenovoError

    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise RenovoError(f"--isotope-offsets must be integers like 0,1, not {text!r}") from None
    if not values:
        raise RenovoError("--isotope-offsets needs at least one value")
    return values


def parse_column_map(text: str | None) -> dict[str, str] | None:
    from renovo.errors import RenovoError

    if not text:
        return None
    mapping = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise RenovoError(f"--column-map entries are renovo_column=file_column, not {part!r}")
        mapping[key.strip()] = value.strip()
    return mapping


def resolve_device(name: str) -> str:
    """The torch device for ``--device``; a one-line error for a CUDA device this machine lacks."""
    import torch

    from renovo.errors import RenovoError

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise RenovoError(f"--device {name}: CUDA is not available here (use --device cpu or auto)")
        index = name.partition(":")[2]
        if index and (not index.isdigit() or int(index) >= torch.cuda.device_count()):
            raise RenovoError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA device(s)")
        return name
    if name != "cpu":
        raise RenovoError(f"--device must be cpu, cuda, cuda:N or auto, not {name!r}")
    return name


def load_scorer(args):
    """The scorer to rerank with: ``--scorer``, else the one beside the checkpoint; None with --no-rerank or none."""
    from pathlib import Path

    from renovo.decode import CandidateScorer, scorer_path
    from renovo.errors import RenovoError

    if args.no_rerank:
        return None
    if args.scorer:
        if not Path(args.scorer).is_file():
            raise RenovoError(f"no scorer file {args.scorer}")
        return CandidateScorer.load(args.scorer, checkpoint=args.model)
    beside = scorer_path(args.model)
    return CandidateScorer.load(beside, checkpoint=args.model) if beside.is_file() else None


def _settings_path(output):
    return output.with_name(output.name + ".sequence.json") if output.suffix == "" else output.with_suffix(".sequence.json")


def log_path(output) -> "Path":
    """``OUT.log`` beside the output (``OUT.mztab`` → ``OUT.log``)."""
    from pathlib import Path

    output = Path(output)
    return output.with_name(output.name + ".log") if output.suffix.lower() == ".log" else output.with_suffix(".log")


def run(args: argparse.Namespace) -> int:
    from renovo.commands.runlog import command_log

    # Held in memory until the inputs and outputs are checked: a refused run writes nothing.
    with command_log(None, args) as log:
        return _run(args, log)


def _check_vocabulary(args, model) -> None:
    """One line, before decoding, when ``--vocabulary`` names another vocabulary than the model's."""
    from renovo.errors import RenovoError
    from renovo.model.checkpoint import tokenizer_from_config, vocabulary_difference
    from renovo.train.config import load_config

    difference = vocabulary_difference(tokenizer_from_config(load_config(args.vocabulary)), model.tokenizer)
    if difference:
        raise RenovoError(f"{args.model} was trained with another vocabulary than {args.vocabulary} ({difference})")


def _decode(args, model, files, settings, column_map):
    """(PSMs, counts, seconds) of the run, with a progress bar counting spectra (a total when knowable)."""
    import time

    from tqdm import tqdm

    from renovo.data import count_spectra
    from renovo.decode import Decoder, SequencingCounts

    counts = SequencingCounts()
    sizes = [count_spectra(f) for f in files] if not args.no_progress else [None]
    total = sum(sizes) if all(n is not None for n in sizes) else None

    def advance(_batch: int) -> None:
        # Spectra read, skipped ones included, so the bar reaches the file's own count.
        progress.update(counts.read + counts.skips.total - progress.n)

    started = time.perf_counter()
    with tqdm(total=total, unit="spectra", desc="sequencing", dynamic_ncols=True, disable=args.no_progress) as progress:
        psms = list(Decoder(model, settings).sequence(files, counts=counts, on_batch=advance,
                                                      read_options={"column_map": column_map} if column_map else None))
        advance(0)
    return psms, counts, time.perf_counter() - started


def _report(args, output, files, settings, counts, elapsed, settings_path) -> None:
    import math

    skips = counts.skips
    print(f"read {counts.read} spectra from {len(files)} file(s); skipped {skips.total}")
    if counts.read == 0:
        import sys

        # An mzML of MS1 scans only, or a file of skipped spectra: an empty output, said so.
        print(f"warning: 0 spectra to sequence in {len(files)} file(s); {output} holds no predictions", file=sys.stderr)
    if skips.total:
        print(skips.report())
    rate = counts.read / elapsed if elapsed > 0 else math.inf
    tolerance = settings.precursor_tolerance_ppm
    constraint = f", {counts.precursor_in_tolerance} within {tolerance:g} ppm of the precursor" if tolerance is not None else ""
    print(f"sequenced {counts.sequenced} spectra ({rate:.1f} spectra/s, beam {settings.beam}{constraint})")
    print(f"wrote {output}" + (f" and {args.csv}" if args.csv else "") + f"; settings in {settings_path}; "
          f"log in {log_path(output)}")


def _run(args: argparse.Namespace, log) -> int:
    from pathlib import Path

    import torch

    from renovo.data import check_spectrum_files, expand_inputs
    from renovo.decode import DecodeConfig, assign_q_values, scorer_path
    from renovo.errors import RenovoError
    from renovo.files import all_or_nothing, check_outputs
    from renovo.model.checkpoint import load_model

    if not Path(args.model).is_file():
        raise RenovoError(f"no checkpoint {args.model}")
    scorer = load_scorer(args)
    # Checked here, before any file is read; an error names the option.
    settings = DecodeConfig.from_keys({
        # `--beam 0` is an error, not the default (it used to fall through `or`).
        "beam": ("--beam", args.beam if args.beam is not None else RERANK_BEAM if scorer is not None else DEFAULTS.beam),
        "top_k": ("--top-k", args.top_k), "max_length": ("--max-length", args.max_length),
        "batch_size": ("--batch-size", args.batch_size),
        "precursor_tolerance_ppm": ("--precursor-tolerance-ppm",
                                    None if args.no_mass_constraint else args.precursor_tolerance_ppm),
        "isotope_offsets": ("--isotope-offsets", parse_isotopes(args.isotope_offsets)),
        "min_peaks": ("--min-peaks", args.min_peaks), "max_charge": ("--max-charge", args.max_charge),
    }, scorer=scorer)
    column_map = parse_column_map(args.column_map)
    files = expand_inputs(args.files)
    output = Path(args.output)
    # Outputs and inputs are checked before any work: no output may replace an input or the model.
    check_outputs([*files, args.model], [output, args.csv, _settings_path(output)], args.force)
    check_spectrum_files(files, column_map)
    log.attach(log_path(output))
    device = resolve_device(args.device)
    torch.manual_seed(args.seed)
    model = load_model(args.model, map_location=device)
    if args.vocabulary:
        _check_vocabulary(args, model)
    if scorer is not None:
        print(f"reranking beam-{settings.beam} candidates with the scorer {args.scorer or scorer_path(args.model)} "
              f"(fitted on {scorer.fitted_on.get('source', '?')}); --no-rerank for the model's score alone")
    psms, counts, elapsed = _decode(args, model, files, settings, column_map)
    if scorer is not None:
        assign_q_values(psms)

    recorded = {
        "model": str(Path(args.model).resolve()), "beam": settings.beam, "top_k": settings.top_k,
        "precursor_tolerance_ppm": settings.precursor_tolerance_ppm,
        "isotope_offsets": ",".join(map(str, settings.isotope_offsets)), "max_length": settings.max_length,
        "batch_size": settings.batch_size, "device": device, "seed": args.seed,
        "min_peaks": settings.min_peaks, "max_charge": settings.max_charge,
        "rerank": scorer is not None,
        "scorer": str(Path(args.scorer or scorer_path(args.model)).resolve()) if scorer is not None else None,
        "vocabulary": " ".join(model.tokenizer.tokens[3:]),
    }
    settings_path = _settings_path(output)
    with all_or_nothing([output, args.csv, settings_path]):  # a full disk at the CSV leaves no lone mzTab
        _write(args, output, psms, counts, model, settings, recorded, files, column_map, elapsed, settings_path)
    _report(args, output, files, settings, counts, elapsed, settings_path)
    return 0


def _write(args, output, psms, counts, model, settings, recorded, files, column_map, elapsed, settings_path) -> None:
    from pathlib import Path

    from renovo.evaluate.io import ms_runs_of, write_csv, write_mztab
    from renovo.files import write_json

    if output.suffix.lower() == ".csv":
        write_csv(output, psms)
    else:
        empty_inputs = [f for f, n in counts.per_input.items() if n == 0]
        write_mztab(output, psms, ms_runs_of(psms, empty_inputs), model.tokenizer.vocabulary, settings=recorded)
    if args.csv:
        write_csv(args.csv, psms)
    summary = {
        "command": "sequence", "files": [str(f.resolve()) for f in files], "output": str(output.resolve()),
        "csv": str(Path(args.csv).resolve()) if args.csv else None, **recorded,
        "isotope_offsets": list(settings.isotope_offsets), "column_map": column_map,
        "model_config": model.config_dict or {}, "counts": counts.as_dict(), "seconds": round(elapsed, 3),
    }
    write_json(settings_path, summary, default=str)  # after the predictions it describes
