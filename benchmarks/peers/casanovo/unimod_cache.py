"""Build spectrum_utils' Unimod cache offline, from the Unimod table that psims ships.

spectrum_utils (which Casanovo uses to parse ProForma peptides such as
``C[Carbamidomethyl]``) downloads http://www.unimod.org/obo/unimod.obo the first
time it meets a Unimod name and pickles the parsed table into its cache folder
(``platformdirs.user_cache_dir("spectrum_utils")``, under ``$XDG_CACHE_HOME``).
Without network access that download fails, so this script writes the same
pickle — ``({accession: (mass, name)}, {name: (mass, accession)})`` plus a
timestamp — from psims' vendored ``unimod_tables.xml.gz``.

Run with the Casanovo environment's Python; prints the cache file it wrote.
"""
from __future__ import annotations

import datetime
import gzip
import os
import pickle
import sys
import tempfile
import xml.etree.ElementTree as ET
from importlib import resources

import platformdirs

NAMESPACE = "{http://www.unimod.org/xmlns/schema/unimod_tables_1}"


def unimod_table() -> tuple[dict, dict]:
    source = resources.files("psims.controlled_vocabulary.vendor") / "unimod_tables.xml.gz"
    by_accession: dict[str, tuple[float, str]] = {}
    by_name: dict[str, tuple[float, str]] = {}
    with source.open("rb") as raw, gzip.open(raw) as xml:
        for _, element in ET.iterparse(xml):
            if element.tag == NAMESPACE + "modifications_row":
                accession = f"UNIMOD:{element.get('record_id')}"
                # unimod.obo names a term by its PSI-MS name (ex_code_name: "Oxidation",
                # "Deamidated"), falling back to the interim name (code_name).
                name = element.get("ex_code_name") or element.get("code_name")
                mass = float(element.get("mono_mass"))
                by_accession[accession] = (mass, name)
                by_name[name] = (mass, accession)
                element.clear()
    return by_accession, by_name


def main() -> int:
    by_accession, by_name = unimod_table()
    for name in ("Carbamidomethyl", "Oxidation", "Deamidated", "Acetyl", "Carbamyl", "Ammonia-loss"):
        if name not in by_name:
            print(f"error: Unimod table from psims lacks {name!r}", file=sys.stderr)
            return 1
    cache = platformdirs.user_cache_dir("spectrum_utils", False)
    os.makedirs(cache, exist_ok=True)
    target = os.path.join(cache, "UNIMOD.pkl")
    payload = ((by_accession, by_name), datetime.datetime.now(datetime.timezone.utc))
    handle, temporary = tempfile.mkstemp(dir=cache, prefix=".UNIMOD.", suffix=".tmp")
    with os.fdopen(handle, "wb") as out:
        pickle.dump(payload, out, pickle.HIGHEST_PROTOCOL)
    os.replace(temporary, target)
    print(f"{target}: {len(by_accession)} Unimod entries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
