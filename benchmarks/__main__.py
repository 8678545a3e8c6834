"""``make bench``: run every ``benchmarks/bench_*.py``, print its figures, refresh docs/benchmarks.md.

Each script runs in its own process (one sandbox each, no state shared between figures). Its JSON
lines pass straight through to stdout; afterwards the table between the markers in
docs/benchmarks.md is rewritten from this run, so the docs always show one consistent run.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- figures:start -->", "<!-- figures:end -->"


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


def refresh_doc(figures: list[dict[str, object]]) -> None:
    text = DOC.read_text()
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    DOC.write_text(f"{before}{START}\n{table(figures)}\n{END}{after}")


def main() -> None:
    selected = sys.argv[1:]
    scripts = sorted((ROOT / "benchmarks").glob("bench_*.py"))
    if selected:
        scripts = [s for s in scripts if s.stem in selected or s.name in selected]
    figures = [figure for script in scripts for figure in run_script(script)]
    if not selected:
        refresh_doc(figures)
        print(f"refreshed {DOC.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
