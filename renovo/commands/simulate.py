"""`renovo simulate`: write simulated annotated spectra (MGF or Parquet)."""
from __future__ import annotations

import argparse

from renovo.files import add_force_argument


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "simulate",
        help="write simulated annotated spectra to MGF or Parquet",
        description="Simulate annotated MS2 spectra (no download needed). Spectrum i depends only on "
        "(seed, i), so shards and reruns are reproducible. Writes OUT.simulate.json with the resolved settings.",
    )
    parser.add_argument("-n", "--count", type=int, required=True, help="number of spectra")
    parser.add_argument("-o", "--output", required=True, help="output file: .mgf or .parquet")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--fasta", help="draw peptides from a tryptic digest of this FASTA instead of the embedded generator")
    parser.add_argument("--shard-size", type=int, help="write OUT_00000.ext, OUT_00001.ext, … of this many spectra each")
    parser.add_argument("--start-index", type=int, default=0, help="index of the first spectrum (default 0)")
    parser.add_argument("--config", help="YAML/JSON file of SimulatorConfig settings to override")
    add_force_argument(parser)
    parser.set_defaults(handler=run)
    return parser


def load_simulator_config(path: str | None):
    from renovo.data.simulate import SimulatorConfig
    from renovo.errors import RenovoError

    if path is None:
        return SimulatorConfig()
    import yaml

    from renovo.train.config import yaml_load

    try:
        with open(path) as handle:
            values = yaml_load(handle.read()) or {}
        return SimulatorConfig.from_dict(values.get("simulator", values))
    except yaml.YAMLError as error:
        from renovo.errors import yaml_error_message

        raise RenovoError("simulator config " + yaml_error_message(path, error)) from None
    except (OSError, ValueError, TypeError) as error:
        raise RenovoError(f"simulator config {path}: {error}") from None


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tqdm import tqdm

    from renovo.data import write_mgf, write_parquet
    from renovo.data.simulate import simulate_records
    from renovo.errors import RenovoError
    from renovo.files import check_outputs, write_json

    output = Path(args.output)
    suffix = output.suffix.lower()
    if suffix not in (".mgf", ".parquet"):
        raise RenovoError(f"output must end in .mgf or .parquet, not {output.name!r}")
    if args.count < 0:
        raise RenovoError("-n must be ≥ 0")
    if args.fasta and not Path(args.fasta).is_file():
        raise RenovoError(f"no FASTA file {args.fasta}")
    config = load_simulator_config(args.config)
    writer = write_mgf if suffix == ".mgf" else write_parquet
    shard_size = args.shard_size or args.count or 1
    if shard_size <= 0:
        raise RenovoError("--shard-size must be ≥ 1")
    n_shards = max(1, -(-args.count // shard_size))
    paths = [output if args.shard_size is None else output.with_name(f"{output.stem}_{shard:05d}{output.suffix}")
             for shard in range(n_shards)]
    config_path = output.with_name(output.stem + ".simulate.json")
    check_outputs([args.fasta, args.config], [*paths, config_path], args.force)
    written = []
    with tqdm(total=args.count, unit="spectra", desc="simulate") as bar:
        for shard in range(n_shards):
            start = args.start_index + shard * shard_size
            count = min(shard_size, args.start_index + args.count - start)
            path = paths[shard]

            def records(start=start, count=count):
                for record in simulate_records(count, args.seed, config, args.fasta, start_index=start):
                    bar.update(1)
                    yield record

            writer(records(), path)
            written.append(str(path))
    resolved = {
        "command": "simulate",
        "seed": args.seed,
        "count": args.count,
        "start_index": args.start_index,
        "fasta": args.fasta,
        "shard_size": args.shard_size,
        "outputs": written,
        "simulator": config.to_dict(),
    }
    write_json(config_path, resolved)  # after the data: it never claims spectra that are not written
    if args.count == 0:
        import sys

        print(f"warning: 0 spectra simulated (-n 0); {', '.join(written)} holds none", file=sys.stderr)
    print(f"wrote {args.count} simulated spectra to {', '.join(written) if len(written) <= 3 else f'{len(written)} shards'}; settings in {config_path}")
    return 0
