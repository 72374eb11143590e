"""Print the import summary of every mapping in a folder as JSON.

Usage: python -m services.catalog.importing [MAPPINGS_DIR] [--rejected]
MAPPINGS_DIR defaults to data/mappings; --rejected also lists rejected rows.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from .pipeline import load_all


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.catalog.importing")
    parser.add_argument(
        "mappings_dir",
        nargs="?",
        default="data/mappings",
        help="folder of *.yml mapping files (default: data/mappings)",
    )
    parser.add_argument(
        "--rejected", action="store_true", help="also print every rejected row"
    )
    args = parser.parse_args(argv)

    report = []
    for result in load_all(Path(args.mappings_dir)):
        entry = result.summary()
        if args.rejected:
            entry["rejected_rows"] = [dataclasses.asdict(r) for r in result.rejected]
        report.append(entry)
    json.dump(report, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
