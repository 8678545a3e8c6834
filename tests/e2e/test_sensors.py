"""The schedule sensor against the emulator's cron (a clock 60 times faster: one run a second)."""

from __future__ import annotations

import pytest
from kubernetes import client as k8s

from tests.support.airflow_runs import Airflow

GROUP, VERSION = "kontinue.cloud", "v1alpha1"


@pytest.fixture(scope="module")
def every_minute(airflow: Airflow, admin_api: k8s.ApiClient) -> str:
    """A Function whose runs take no time, on a schedule that fires every (emulated) minute."""
    custom = k8s.CustomObjectsApi(admin_api)
    function = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Function",
        "metadata": {"name": "tick", "labels": {"kontinue.cloud/worker-group": "default"}},
        "spec": {
            "name": "tick",
            "workerGroup": "default",
            "emulator": {"speed": 60, "steps": [{"log": "tick"}, {"return": "tock"}]},
        },
    }
    custom.create_namespaced_custom_object(GROUP, VERSION, airflow.namespace, "functions", function)
    schedule = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ScheduledExecution",
        "metadata": {"name": "every-minute"},
        "spec": {"schedule": "* * * * *", "function": "tick"},
    }
    custom.create_namespaced_custom_object(GROUP, VERSION, airflow.namespace, "scheduledexecutions", schedule)
    return "every-minute"


@pytest.mark.parametrize("deferrable", [pytest.param(False, id="poke"), pytest.param(True, id="deferrable")])
def test_the_schedule_sensor_sees_a_new_run_fire_and_complete(
    airflow: Airflow, every_minute: str, deferrable: bool
) -> None:
    run = airflow.run("e2e_schedule", deferrable=deferrable)
    assert run.task_states() == {"fired": "success", "completed": "success", "missing": "failed"}, run.log[
        -3000:
    ]
    fired, completed = run.xcom("fired"), run.xcom("completed")
    assert fired["run"].startswith(f"{every_minute}-")
    assert completed["run"].startswith(f"{every_minute}-")
    assert completed["phase"] == "Completed"
    assert completed["result"] == "tock"
    assert 'scheduledexecutions.kontinue.cloud "no-such-schedule" not found' in run.log
