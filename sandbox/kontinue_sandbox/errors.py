"""The one exception the sandbox raises: it always says what went wrong and how to fix it."""

from __future__ import annotations

from pathlib import Path


class SandboxError(RuntimeError):
    """A sandbox could not be built, started, reached or stopped.

    The message names the cause and the fix; when a process misbehaved it ends with the tail of
    that process's log, so nobody has to go looking for it.
    """


def log_tail(path: Path, lines: int = 25) -> str:
    """The last ``lines`` lines of a process log, indented for inclusion in an error message."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"    (no log at {path})"
    tail = text.splitlines()[-lines:]
    if not tail:
        return f"    ({path} is empty)"
    return "\n".join("    " + line for line in tail)
