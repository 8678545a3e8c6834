"""The fault scenarios of docs/reliability.md, run as the tests they are, their figures reported.

Runs ``tests/reliability/test_trigger_faults.py`` and ``test_emulator_restart.py`` (real API server
restarts, a cut connection, etcd compaction, a rebuilt triggerer, an emulator killed mid-run) and
prints the figures they record. The tests fail unless every wait fired once with its right end, so
a figure printed here always comes from a run that kept its promises; the counts are checked again.
``python -m benchmarks`` writes them into docs/reliability.md's table, never by hand.

- <scenario>_waits_completed / _duplicates: waits that fired / events beyond the first (target N / 0).
- <scenario>_last_event_s: from injecting the fault to the last wait's event, restarts included.
- compaction_410_relists: how often the shared watch relisted after 410 Gone (target ≥ 1).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.figures import emit, progress, require

ROOT = Path(__file__).resolve().parent.parent
TESTS = ("tests/reliability/test_trigger_faults.py", "tests/reliability/test_emulator_restart.py")
UNITS = {"_waits_completed": "waits", "_duplicates": "events", "_last_event_s": "s", "_relists": "relists"}


def unit(figure: str) -> str:
    return next(u for suffix, u in UNITS.items() if figure.endswith(suffix))


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="kontinue-bench-faults-") as directory:
        out = Path(directory) / "figures.json"
        progress(f"running {' '.join(TESTS)}")
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS],
            cwd=ROOT,
            env={**os.environ, "KONTINUE_FIGURES_JSON": str(out)},
            stdout=sys.stderr,
        )
        if run.returncode != 0:
            raise SystemExit(
                f"the fault tests failed (exit code {run.returncode}): no figures from a broken run"
            )
        figures: dict[str, float] = json.loads(out.read_text())
    for figure, value in figures.items():
        emit(figure, value, unit(figure))
    for figure, value in figures.items():
        if figure.endswith("_duplicates"):
            require(figure, value, 0)
    require("compaction_410_relists", min(figures["compaction_410_relists"], 1), 1)


if __name__ == "__main__":
    main()
