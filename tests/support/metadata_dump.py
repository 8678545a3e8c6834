"""Dump everything in an Airflow home's metadata database as text, for scans of what DAG runs left.

Used by the e2e tests as ``python -m tests.support.metadata_dump <out.json>`` with the same
``AIRFLOW_HOME`` as the DAG runs. Generic first: the tables are reflected from the database itself
(not from Airflow's models), so a table added by a later Airflow cannot hide from the dump, and
every row of every table is written as text. Cells that are compressed or Fernet-encrypted are
also written opened (or marked :data:`NOT_DECRYPTABLE`). Then, through Airflow's own models, what
is stored encrypted or serialized: every trigger's decrypted ``kwargs`` (``Trigger.kwargs``),
every task instance's ``next_kwargs`` and every row of ``rendered_task_instance_fields``.

The output is one JSON object: ``{"fernet", "tables": {table: [row as JSON text, ...]}, "opened":
[text, ...], "trigger_kwargs": [{"id", "classpath", "kwargs"}], "next_kwargs": [{"task_id",
"next_method", "next_kwargs"}], "rendered_fields": [{"task_id", "rendered_fields"}]}``.
"""

from __future__ import annotations

import gzip
import json
import sys
import zlib
from pathlib import Path
from typing import Any

from cryptography.fernet import InvalidToken

FERNET_PREFIX = "gAAAAA"
"""How every Fernet token starts (version byte 0x80, then the timestamp's leading zeros)."""
NOT_DECRYPTABLE = "<a Fernet token this home's key cannot decrypt>"


def cell_text(value: Any) -> str:
    """A cell as text: strings as they are, bytes decoded, anything else as JSON or ``str``."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", errors="replace")
    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return str(value)


def opened(value: Any, fernet: Any) -> list[str]:
    """The cell's content behind compression or Fernet encryption, when it has any."""
    found: list[str] = []
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        for decompress in (zlib.decompress, gzip.decompress):
            try:
                found.append(decompress(raw).decode("utf-8", errors="replace"))
            except (OSError, EOFError, zlib.error):
                continue
    if isinstance(value, str) and value.startswith(FERNET_PREFIX):
        try:
            found.append(fernet.decrypt(value.encode()).decode("utf-8", errors="replace"))
        except InvalidToken:  # looks encrypted, cannot be opened: say so (the scan fails on it)
            found.append(NOT_DECRYPTABLE)
    return found


def dump() -> dict[str, Any]:
    """Everything in the metadata database, as text (see the module's docstring)."""
    from airflow import settings
    from airflow.models.crypto import get_fernet
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.trigger import Trigger
    from airflow.utils.session import create_session
    from sqlalchemy import MetaData, select

    fernet = get_fernet()
    engine = settings.engine
    assert engine is not None, "Airflow's ORM is not configured"
    metadata = MetaData()
    metadata.reflect(bind=engine)
    tables: dict[str, list[str]] = {}
    extra: list[str] = []
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            rows = tables.setdefault(table.name, [])
            for row in connection.execute(select(table)):
                rows.append(json.dumps({c: cell_text(v) for c, v in row._mapping.items()}))
                for value in row:
                    extra.extend(opened(value, fernet))
    with create_session() as session:
        triggers = [
            {"id": t.id, "classpath": t.classpath, "kwargs": t.kwargs}
            for t in session.scalars(select(Trigger))
        ]
        next_kwargs = [
            {"task_id": ti.task_id, "next_method": ti.next_method, "next_kwargs": ti.next_kwargs}
            for ti in session.scalars(select(TaskInstance))
        ]
        rendered = [
            {"task_id": r.task_id, "rendered_fields": r.rendered_fields}
            for r in session.scalars(select(RenderedTaskInstanceFields))
        ]
    return {
        "fernet": type(fernet).__name__,
        "tables": tables,
        "opened": extra,
        "trigger_kwargs": triggers,
        "next_kwargs": next_kwargs,
        "rendered_fields": rendered,
    }


def main() -> int:
    out = Path(sys.argv[1])
    out.write_text(json.dumps(dump(), default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
