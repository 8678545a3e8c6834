"""Kubernetes name and label syntax checks, applied to user input before anything is sent.

Why: values such as a function name end up inside label selectors (``kontinue.cloud/function=<v>``).
A value like ``"a=b,c!=d"`` would otherwise silently widen or change the query; object names that
break DNS-1123 rules would fail only at the API server, with a less helpful message. Each check
raises :class:`~airflow_provider_kontinue.client.errors.ValidationError` naming the field, and
returns the value so it can be used inline.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .constants import MAX_EXECUTION_NAME_LENGTH, MAX_LABEL_VALUE_LENGTH, MAX_NAME_LENGTH
from .errors import ValidationError

__all__ = [
    "validate_execution_name",
    "validate_label_key",
    "validate_label_value",
    "validate_labels",
    "validate_name",
    "validate_namespace",
]

_LABEL_VALUE = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?", re.ASCII)
_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", re.ASCII)
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*", re.ASCII)

_LABEL_VALUE_RULE = (
    f"at most {MAX_LABEL_VALUE_LENGTH} characters: letters, digits, '-', '_' and '.', "
    "starting and ending with a letter or digit"
)
_SUBDOMAIN_RULE = "lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"


def _require_str(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{field}: expected a string, got {type(value).__name__}", field=field)
    return value


def validate_name(name: str, field: str, *, max_length: int = MAX_NAME_LENGTH) -> str:
    """Check a Kubernetes object name (DNS-1123 subdomain, at most ``max_length`` characters)."""
    _require_str(name, field)
    if not name:
        raise ValidationError(f"{field}: must not be empty", field=field)
    if len(name) > max_length:
        raise ValidationError(
            f"{field}: {name!r} is {len(name)} characters long, at most {max_length} allowed", field=field
        )
    if not _DNS1123_SUBDOMAIN.fullmatch(name):
        raise ValidationError(f"{field}: {name!r} is not a valid name: {_SUBDOMAIN_RULE}", field=field)
    return name


def validate_execution_name(name: str, field: str = "name") -> str:
    """Check an Execution name: a valid object name of at most 63 characters.

    Execution names are also label values (children's ``kontinue.cloud/parent`` and ``root``), so
    they obey the label-value length limit, not the usual 253.
    """
    return validate_name(name, field, max_length=MAX_EXECUTION_NAME_LENGTH)


def validate_namespace(namespace: str, field: str = "namespace") -> str:
    """Check a namespace name (DNS-1123 label: at most 63 characters, no dots)."""
    _require_str(namespace, field)
    if not namespace:
        raise ValidationError(f"{field}: must not be empty", field=field)
    if len(namespace) > MAX_LABEL_VALUE_LENGTH or not _DNS1123_LABEL.fullmatch(namespace):
        raise ValidationError(
            f"{field}: {namespace!r} is not a valid namespace: at most {MAX_LABEL_VALUE_LENGTH} "
            "lowercase letters, digits and '-', starting and ending with a letter or digit",
            field=field,
        )
    return namespace


def validate_label_value(value: str, field: str) -> str:
    """Check a label value: empty, or at most 63 characters of ``[A-Za-z0-9-_.]`` with alphanumeric ends."""
    _require_str(value, field)
    if value and (len(value) > MAX_LABEL_VALUE_LENGTH or not _LABEL_VALUE.fullmatch(value)):
        raise ValidationError(
            f"{field}: {value!r} is not a valid label value: {_LABEL_VALUE_RULE}", field=field
        )
    return value


def validate_label_key(key: str, field: str) -> str:
    """Check a label or annotation key: optional DNS-1123 subdomain prefix and ``/``, then a name."""
    _require_str(key, field)
    prefix, slash, name = key.rpartition("/")
    problem = None
    if slash and (not prefix or len(prefix) > MAX_NAME_LENGTH or not _DNS1123_SUBDOMAIN.fullmatch(prefix)):
        problem = f"the prefix must be a DNS subdomain ({_SUBDOMAIN_RULE})"
    elif not name or len(name) > MAX_LABEL_VALUE_LENGTH or not _LABEL_VALUE.fullmatch(name):
        problem = f"the name part must be {_LABEL_VALUE_RULE}"
    if problem:
        raise ValidationError(f"{field}: {key!r} is not a valid label key: {problem}", field=field)
    return key


def validate_labels(labels: Mapping[str, str], field: str) -> dict[str, str]:
    """Check every key and value of a label map; the error names ``field[key]``."""
    checked: dict[str, str] = {}
    for key, value in labels.items():
        validate_label_key(key, f"{field}[{key!r}]")
        checked[key] = validate_label_value(value, f"{field}[{key!r}]")
    return checked
