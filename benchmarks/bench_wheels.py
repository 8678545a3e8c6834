"""What each distribution weighs: Python lines and size of the built provider and sandbox wheels.

- ``provider_wheel_lines``: lines of Python in the provider's wheel (``*.py`` files, every line).
- ``provider_wheel_kib``: the provider wheel's file size.
- ``sandbox_wheel_lines``: lines of Python in the sandbox's wheel.

Both are built the way a release builds them (``uv build``: an sdist, then the wheel from it).
Before the sandbox became its own distribution, the provider's wheel held both (16,433 lines, of
which 6,812 were the sandbox).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from benchmarks.figures import emit, progress

ROOT = Path(__file__).resolve().parent.parent


def _build(source: Path, out: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "uv", "build", "--quiet", "--out-dir", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    [wheel] = out.glob("*.whl")
    return wheel


def _python_lines(wheel: Path) -> int:
    with zipfile.ZipFile(wheel) as archive:
        return sum(archive.read(name).count(b"\n") for name in archive.namelist() if name.endswith(".py"))


def main() -> None:
    with tempfile.TemporaryDirectory() as base:
        provider = _build(ROOT, Path(base) / "provider")
        sandbox = _build(ROOT / "sandbox", Path(base) / "sandbox")
        progress(f"built {provider.name} and {sandbox.name}")
        emit("provider_wheel_lines", _python_lines(provider), "lines")
        emit("provider_wheel_kib", provider.stat().st_size / 1024, "KiB")
        emit("sandbox_wheel_lines", _python_lines(sandbox), "lines")


if __name__ == "__main__":
    main()
