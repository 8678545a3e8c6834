"""What must never show, and how a connection's kubeconfig is made to carry its secrets inline.

Shared by the secret scans of the e2e tier (``tests/e2e/test_secrets.py``) and the deployment tier
(``tests/deployment/test_secrets.py``).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

import yaml

WINDOW = 24
"""Length of the pieces of a long secret that must not show either (its start, middle and end)."""


@dataclass(frozen=True)
class Secrets:
    """What must never show, by what it is: ``{description: text}``."""

    values: dict[str, str]

    def found_in(self, text: str) -> list[str]:
        """The descriptions of the secrets ``text`` contains."""
        return [what for what, secret in self.values.items() if secret in text]


def inline_kubeconfig(path: Path) -> str:
    """The kubeconfig at ``path`` with every file it names (CA, client certificate and key)
    replaced by the file's content (``*-data``): a kubeconfig that stands alone, as pasted into a
    connection."""
    document = yaml.safe_load(path.read_text())
    for entry in (*document["clusters"], *document["users"]):
        body = entry.get("cluster") or entry.get("user") or {}
        for key in ("certificate-authority", "client-certificate", "client-key"):
            if key in body:
                body[f"{key}-data"] = base64.b64encode(Path(body.pop(key)).read_bytes()).decode()
    return str(yaml.safe_dump(document, sort_keys=False))


def pem_body_lines(pem: str) -> list[str]:
    """The base64 lines of a PEM block, without its BEGIN and END lines."""
    return [line for line in pem.strip().splitlines() if line and not line.startswith("-----")]


def pieces(secret: str) -> dict[str, str]:
    """A long secret's start, middle and end: a leak of part of it must show too."""
    middle = len(secret) // 2 - WINDOW // 2
    return {"first": secret[:WINDOW], "middle": secret[middle : middle + WINDOW], "last": secret[-WINDOW:]}
