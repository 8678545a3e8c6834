"""The "kontinue execution" link on a task: straight to the execution in the kontinue UI.

The operators push the execution's UI address to XCom (key ``execution_url``) before they wait
or defer, so the link works while the task is still running or deferred. It is shown when the
connection sets ``ui_base_url``; without one there is nothing to link to and the link is empty.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk.types import TaskInstanceKey

XCOM_EXECUTION_URL = "execution_url"
XCOM_EXECUTION_NAME = "execution_name"
XCOM_EXECUTION_NAMESPACE = "execution_namespace"


class KontinueExecutionLink(BaseOperatorLink):
    """Opens the execution a task spawned, retried or waited for in the kontinue UI."""

    name = "kontinue execution"

    def get_link(self, operator: Any, *, ti_key: TaskInstanceKey) -> str:
        from airflow.sdk.execution_time.xcom import XCom

        url = XCom.get_value(ti_key=ti_key, key=XCOM_EXECUTION_URL)
        return url if isinstance(url, str) else ""
