"""What a user's type checker says about their kontinue code: mypy without the pydantic plugin (how
most projects run it), mypy with it, and pyright (VS Code's Pylance) must accept the documented forms
in ``cases/accepted.py`` and flag exactly the lines marked ``# flagged`` in ``cases/rejected.py``.

Each checker runs over the files as a user's project would: the provider found as an installed
package, nothing of this repository's configuration applied."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CASES = Path(__file__).parent / "cases"
BIN = Path(sys.executable).parent

Checker = Callable[[Path], set[int]]
"""Runs over a user's project (a scratch directory holding ``case.py``) and returns the line
numbers it flagged in ``case.py``."""


def _mypy(scratch: Path, *, plugin: bool) -> set[int]:
    path = scratch / "case.py"
    config = scratch / "mypy.ini"
    config.write_text(
        "[mypy]\nstrict = True\n"
        + ("plugins = pydantic.mypy\n" if plugin else "")
        + "[mypy-kubernetes.*]\nfollow_imports = skip\nignore_missing_imports = True\n"
    )
    # The editable install is an import hook mypy cannot follow; MYPYPATH finds the package the way
    # site-packages would for a user.
    env = {**os.environ, "MYPYPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--config-file", str(config), path.name],
        capture_output=True,
        text=True,
        env=env,
        cwd=scratch,
        check=False,
    )
    pattern = re.compile(r"^case\.py:(\d+): error:", re.MULTILINE)
    flagged = {int(line) for line in pattern.findall(result.stdout)}
    assert result.returncode in (0, 1), result.stdout + result.stderr
    assert result.returncode == (1 if flagged else 0), result.stdout
    return flagged


def _pyright(scratch: Path) -> set[int]:
    path = scratch / "case.py"
    (scratch / "pyrightconfig.json").write_text(
        json.dumps({"include": ["case.py"], "extraPaths": [str(ROOT)], "typeCheckingMode": "standard"})
    )
    result = subprocess.run(
        [str(BIN / "pyright"), "--outputjson", "--pythonpath", sys.executable, "-p", str(scratch)],
        capture_output=True,
        text=True,
        cwd=scratch,
        check=False,
    )
    report = json.loads(result.stdout)
    assert report["summary"]["filesAnalyzed"] == 1, report
    return {
        diagnostic["range"]["start"]["line"] + 1
        for diagnostic in report["generalDiagnostics"]
        if diagnostic["severity"] == "error" and Path(diagnostic["file"]) == path
    }


CHECKERS: dict[str, Checker] = {
    "mypy": lambda scratch: _mypy(scratch, plugin=False),
    "mypy+pydantic-plugin": lambda scratch: _mypy(scratch, plugin=True),
    "pyright": _pyright,
}


def _marked(path: Path) -> set[int]:
    lines = path.read_text().splitlines()
    return {number for number, line in enumerate(lines, start=1) if line.endswith("# flagged")}


def _project(tmp_path: Path, case: str) -> Path:
    """A user's project of one file: the case, copied out of this repository."""
    (tmp_path / "case.py").write_text((CASES / case).read_text())
    return tmp_path


@pytest.mark.parametrize("checker", CHECKERS)
def test_the_documented_forms_type_check(checker: str, tmp_path: Path) -> None:
    assert CHECKERS[checker](_project(tmp_path, "accepted.py")) == set()


@pytest.mark.parametrize("checker", CHECKERS)
def test_wrong_value_types_are_flagged_on_exactly_their_lines(checker: str, tmp_path: Path) -> None:
    expected = _marked(CASES / "rejected.py")
    assert len(expected) == 11
    assert CHECKERS[checker](_project(tmp_path, "rejected.py")) == expected
