"""``make bench``: run every ``benchmarks/bench_*.py``, print its figures, refresh docs/benchmarks.md.

Each script runs in its own process (one sandbox each, no state shared between figures). Its JSON
lines pass straight through to stdout; afterwards the table between the suite's markers in
docs/benchmarks.md is rewritten from this run, so the docs always show one consistent run.

``python -m benchmarks --suite scale`` (``make scale``) does the same for the longer
``benchmarks/scale_*.py``, into its own table. Naming scripts runs only those, and leaves the docs
alone, except docs/reliability.md's fault figures, which ``bench_faults`` always refreshes.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
RELIABILITY_DOC = ROOT / "docs" / "reliability.md"
FAULTS_SCRIPT = "bench_faults.py"
"""Its figures also fill docs/reliability.md's table of faults."""
SUITES = {"bench": ("bench_*.py", "figures"), "scale": ("scale_*.py", "scale")}
"""Each suite: its scripts, and the name of its markers in docs/benchmarks.md."""


def run_script(script: Path) -> list[dict[str, object]]:
    print(f"== {script.name}", file=sys.stderr, flush=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", f"benchmarks.{script.stem}"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    figures = []
    for line in proc.stdout:
        print(line, end="", flush=True)
        if line.startswith("{"):
            figures.append({**json.loads(line), "script": script.name})
    if proc.wait() != 0:
        raise SystemExit(f"{script.name} failed with exit code {proc.returncode}")
    return figures


def table(figures: list[dict[str, object]]) -> str:
    machine = f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    rows = [f"Last run: {when} on {machine}.", "", "| figure | value | unit | script |", "|---|---:|---|---|"]
    rows += [f"| `{f['figure']}` | {f['value']} | {f['unit']} | {f['script']} |" for f in figures]
    return "\n".join(rows)


def refresh_doc(figures: list[dict[str, object]], markers: str, doc: Path = DOC) -> None:
    start, end = f"<!-- {markers}:start -->", f"<!-- {markers}:end -->"
    text = doc.read_text()
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    doc.write_text(f"{before}{start}\n{table(figures)}\n{end}{after}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    parser.add_argument("--suite", choices=sorted(SUITES), default="bench")
    parser.add_argument("scripts", nargs="*", help="run only these (by name, e.g. bench_client)")
    args = parser.parse_args()
    pattern, markers = SUITES[args.suite]
    scripts = sorted((ROOT / "benchmarks").glob(pattern))
    if args.scripts:
        every = sorted(p for glob, _ in SUITES.values() for p in (ROOT / "benchmarks").glob(glob))
        scripts = [s for s in every if s.stem in args.scripts or s.name in args.scripts]
    figures = [figure for script in scripts for figure in run_script(script)]
    faults = [f for f in figures if f["script"] == FAULTS_SCRIPT]
    if faults:  # its own table, whole from this run: refreshed also when run by name
        refresh_doc(faults, "fault-figures", RELIABILITY_DOC)
        print(f"refreshed {RELIABILITY_DOC.relative_to(ROOT)}", file=sys.stderr)
    if not args.scripts:
        refresh_doc(figures, markers)
        print(f"refreshed {DOC.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
