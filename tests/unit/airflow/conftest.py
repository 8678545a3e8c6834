"""Unit tests of the Airflow layer's pure logic: no API server, no Airflow database.

Airflow reads ``AIRFLOW_HOME`` when it is first imported; point it at a private directory so the
tests never write into the developer's ``~/airflow``.

``make mutation`` runs each mutant's tests in a process forked from one that has run them already.
Airflow's async connection lookup (``sync_to_async``) hands its work to asgiref's one-thread
executor, whose thread does not survive a fork: in the child that work would wait forever, and a
mutant that no earlier test caught would count as timed out (killed). Each forked child gets a
fresh executor.
"""

from __future__ import annotations

import os
import tempfile
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import SyncToAsync

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="kontinue-unit-airflow-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")


def _fresh_executor_after_fork() -> None:
    SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)


os.register_at_fork(after_in_child=_fresh_executor_after_fork)
