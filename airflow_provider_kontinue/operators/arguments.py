"""Execution arguments from a DAG: a dict, or a template that must render to a JSON object.

Checked before anything is sent to kontinue, so a template that renders to something that is not
a JSON object fails the task at once with a message that shows what it rendered to, and no
execution is spawned.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from airflow_provider_kontinue.hooks.errors import BadInputError


class ArgumentsError(BadInputError):
    """The arguments are not a JSON object; the message says what they were and how to fix it."""


def _preview(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


MAX_NESTING = 100
"""Deepest nesting accepted in arguments: deeper JSON is almost surely a mistake or an attack, and
would overflow the recursion of the JSON encoders on the way to the API server."""


def _check_finite(value: Any, where: str, depth: int = 0) -> None:
    if depth > MAX_NESTING:
        raise ArgumentsError(
            f"{where.split('.')[0].split('[')[0]}: nested deeper than {MAX_NESTING} levels; flatten the "
            "arguments or pass large structures by reference"
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise ArgumentsError(f"{where}: {value} is not a JSON number")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ArgumentsError(f"{where}: object keys must be strings, got {key!r}")
            _check_finite(item, f"{where}.{key}", depth + 1)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check_finite(item, f"{where}[{index}]", depth + 1)


def parse_arguments(value: Any, field: str = "arguments") -> dict[str, Any]:
    """``value`` as a JSON object: a mapping, or a string holding one (a rendered template).

    ``None`` or an empty string means no arguments (the Function's defaults apply).
    """
    if value is None:
        return {}
    if isinstance(value, (str, bytes)):
        text = value.decode() if isinstance(value, bytes) else value
        if not text.strip():
            return {}
        try:
            parsed = json.loads(text)
        except RecursionError:
            raise ArgumentsError(
                f"{field}: the rendered JSON is nested deeper than Python can read; flatten it"
            ) from None
        except json.JSONDecodeError as err:
            raise ArgumentsError(
                f"{field}: the rendered value is not valid JSON ({err.msg} at line {err.lineno}, column "
                f"{err.colno}): {_preview(text)!r}. Render a JSON object, e.g. "
                "'{\"version\": \"{{ params.version }}\"}', use '| tojson' for values, or pass a dict"
            ) from None
    else:
        parsed = value
    if not isinstance(parsed, Mapping):
        raise ArgumentsError(
            f"{field}: must be a JSON object (name -> value), got {type(parsed).__name__}: "
            f"{_preview(repr(parsed))}"
        )
    _check_finite(parsed, field)
    try:
        return dict(json.loads(json.dumps(parsed, allow_nan=False)))
    except (TypeError, ValueError) as err:
        raise ArgumentsError(f"{field}: not JSON-serialisable: {err}") from None
