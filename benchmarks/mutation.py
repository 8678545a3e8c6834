"""``make mutation``: the mutation score of the core modules, and every mutant that survived.

mutmut (configured in pyproject.toml, ``[tool.mutmut]``) has already run in ``mutants/``; this
reads its verdicts and prints one JSON line in ``make bench``'s style::

    {"figure": "mutation_score_core", "value": 0.93, "unit": "killed/total", "killed": 93, "total": 100}

followed by each surviving mutant as ``module:line (mutant name)`` and its diff. ``killed`` counts
mutants a test failed on (or timed out on); ``total`` every mutant generated, so one that no test
covers counts against the score. docs/testing.md explains the survivors judged equivalent.
"""

from __future__ import annotations

import ast
import json
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"

# mutmut's exit codes of a mutant's test run (mutmut.stats.status_by_exit_code).
KILLED = {1, 3, -24, 36, 152, 255}  # tests failed, or the run timed out
SURVIVED = 0
NO_TESTS = 33
SKIPPED = 34
HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@")


def verdicts() -> dict[str, tuple[int, Path]]:
    """Every mutant's exit code and source file, from mutmut's ``.meta`` files."""
    codes: dict[str, tuple[int, Path]] = {}
    for meta in sorted(MUTANTS.rglob("*.py.meta")):
        source = meta.relative_to(MUTANTS).with_suffix("")
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            codes[name] = (code, source)
    return codes


def function_lines(source: Path) -> dict[str, int]:
    """The first line of each function as mutmut names it (``x_name``, ``xǁClassǁmethod``)."""
    lines: dict[str, int] = {}
    for node in ast.parse(source.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lines[f"x_{node.name}"] = node.lineno
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    lines[f"x\u01c1{node.name}\u01c1{item.name}"] = item.lineno
    return lines


def locate(mutant: str, path: Path, diff: str) -> str:
    """``path:line`` of the first line a mutant changes."""
    function = mutant.rpartition("__mutmut_")[0].rpartition(".")[2]
    start = function_lines(ROOT / path).get(function)
    line = None
    for text in diff.splitlines():
        hunk = HUNK.match(text)
        if hunk:
            line = int(hunk.group(1)) - 1
        elif line is not None and not text.startswith("+"):
            line += 1
            if text.startswith("-"):
                break
    if start is None or line is None:
        return str(path)
    return f"{path}:{start + line - 1}"


def main() -> None:
    os.chdir(ROOT)  # mutmut reads its configuration from pyproject.toml here
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    found = verdicts()
    codes = {name: code for name, (code, _) in found.items()}
    if not codes:
        raise SystemExit("no mutmut results in mutants/: run `make mutation`")
    total = sum(1 for code in codes.values() if code != SKIPPED)
    killed = sum(1 for code in codes.values() if code in KILLED)
    survivors = sorted(name for name, code in codes.items() if code in (SURVIVED, NO_TESTS))
    figure = {
        "figure": "mutation_score_core",
        "value": round(killed / total, 4),
        "unit": "killed/total",
        "killed": killed,
        "total": total,
        "survived": len(survivors),
    }
    print(json.dumps(figure), flush=True)
    for name in survivors:
        path = found[name][1]
        diff = get_diff_for_mutant(name, path=path)
        untested = " (no test covers it)" if codes[name] == NO_TESTS else ""
        print(f"\n== survived: {locate(name, path, diff)}  {name}{untested}\n{diff}")
    known = KILLED | {SURVIVED, NO_TESTS, SKIPPED}
    unexpected = sorted(name for name, code in codes.items() if code not in known)
    for name in unexpected:
        print(f"\n== unexpected verdict {codes[name]}: {name}", file=sys.stderr)


if __name__ == "__main__":
    main()
