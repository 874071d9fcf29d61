"""The command line (scripts/reliability): runs every scenario (or those --scenario names), prints a line as each
ends, and writes the report, or prints it; exits 1 if any row does not hold."""

import argparse
import sys
import tempfile
from pathlib import Path

from local_pipeline import bootstraps, reliability

from .runner import run_scenario
from .scenarios import scenarios
from .table import document, progress_line


def main(argv=None):
    parser = argparse.ArgumentParser(prog="scripts/reliability", description=reliability.__doc__)
    parser.add_argument("--write", type=Path, help="write the report here (e.g. docs/reliability.md)")
    parser.add_argument("--producer", type=Path, default=bootstraps.default("producer"))
    parser.add_argument("--consumer", type=Path, default=bootstraps.default("consumer"))
    parser.add_argument("--compactor", type=Path, default=bootstraps.default("compactor"))
    parser.add_argument("--scenario", help="run only the scenarios whose name holds this text (any case), e.g. hostile")
    options = parser.parse_args(argv)
    chosen = [
        scenario
        for scenario in scenarios()
        if options.scenario is None or options.scenario.lower() in scenario.name.lower()
    ]
    if not chosen:
        parser.error(f"no scenario's name holds {options.scenario!r}")
    rows = []
    for scenario in chosen:
        with tempfile.TemporaryDirectory(prefix="reliability-") as output:
            row = run_scenario(scenario, options.producer, options.consumer, Path(output), compactor=options.compactor)
        print(progress_line(row), flush=True)
        rows.append(row)
    report = document(rows)
    if options.write:
        options.write.parent.mkdir(parents=True, exist_ok=True)
        options.write.write_text(report)
    else:
        print(report)
    return 0 if all(row.holds for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
