"""sandbox_cached_start_s: wall time of ``kontinue-sandbox up`` once the binaries are cached.

Measured from the command's start to its exit (API server ready and the CRDs served), median of
three runs, each in its own state directory and stopped with ``kontinue-sandbox down`` afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

from benchmarks.figures import emit, median, progress
from kontinue_sandbox.binaries import ensure_binaries

RUNS = 3


def main() -> None:
    ensure_binaries()
    samples = []
    for run in range(RUNS):
        with tempfile.TemporaryDirectory() as home:
            env = {**os.environ, "KONTINUE_SANDBOX_HOME": home}
            cli = [sys.executable, "-m", "kontinue_sandbox.cli"]
            started = time.perf_counter()
            subprocess.run([*cli, "up"], env=env, check=True, capture_output=True)
            samples.append(time.perf_counter() - started)
            subprocess.run([*cli, "down"], env=env, check=True, capture_output=True)
        progress(f"sandbox up #{run + 1}: {samples[-1]:.2f}s")
    emit("sandbox_cached_start_s", median(samples), "s")


if __name__ == "__main__":
    main()
