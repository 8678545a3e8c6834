"""ScheduledExecutions (spec §6): cron runs with labels and owner, status, suspend, history pruning.

The scheduled function declares ``speed: 60``, so the schedule's clock runs a minute per real second
and ``* * * * *`` fires every second.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from support.emulator import GROUP, VERSION, Kontinue, labels, parse_time, status


def schedule(kontinue: Kontinue, name: str, **spec: object) -> dict:  # type: ignore[type-arg]
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ScheduledExecution",
        "metadata": {"name": name},
        "spec": {"schedule": "* * * * *", "function": "tick", **spec},
    }
    return kontinue.create("scheduledexecutions", body)


def runs(kontinue: Kontinue, name: str) -> list[dict]:  # type: ignore[type-arg]
    return kontinue.list("executions", f"kontinue.cloud/schedule={name}")


def test_a_schedule_creates_labelled_owned_runs_and_prunes_history(kontinue: Kontinue) -> None:
    kontinue.function(
        "tick", [{"return": "{{ args.label }}"}], speed=60, arguments=[{"name": "label", "default": "x"}]
    )
    created = schedule(
        kontinue,
        "every-minute",
        arguments={"extra": 1},
        historyLimit=1,
        executionDefaults={"retry": {"retries": 2}},
    )
    first_seen = kontinue.wait(
        "scheduledexecutions",
        "every-minute",
        lambda s: bool(status(s).get("lastScheduleTime")),
        what="a first run",
    )
    first = parse_time(status(first_seen)["lastScheduleTime"])
    done = kontinue.wait(
        "scheduledexecutions",
        "every-minute",
        lambda s: (
            bool(status(s).get("lastScheduleTime"))
            and parse_time(status(s)["lastScheduleTime"]) >= first + timedelta(minutes=3)
            and len(status(s).get("history") or []) == 1
        ),
        what="four runs",
        timeout=20,
    )
    st = status(done)
    last = parse_time(st["lastScheduleTime"])
    assert last.second == 0
    assert parse_time(st["nextScheduleTime"]) == last + timedelta(minutes=1)
    run_name = f"every-minute-{int(last.timestamp())}"
    run = kontinue.wait_phase(run_name, "Completed")
    assert labels(run) == {
        "kontinue.cloud/schedule": "every-minute",
        "kontinue.cloud/function": "tick",
        "kontinue.cloud/worker-group": "default",
    }
    [owner] = run["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == (
        "ScheduledExecution",
        "every-minute",
        created["metadata"]["uid"],
        True,
    )
    assert run["spec"]["arguments"] == {"extra": 1, "label": "x"}
    assert run["spec"]["retry"]["retries"] == 2
    assert status(run)["result"] == "x"
    # historyLimit 1: older finished runs are deleted; only the newest finished one is kept
    kept = kontinue.wait_list(
        "executions",
        lambda objects: sum(1 for o in objects.values() if status(o).get("phase") == "Completed") <= 1,
        selector="kontinue.cloud/schedule=every-minute",
        what="history pruning",
    )
    assert len(kept) <= 2
    entry = status(kontinue.get("scheduledexecutions", "every-minute"))["history"][0]
    assert entry["phase"] == "Completed"
    assert {"name", "startedAt", "finishedAt"} <= set(entry)


def test_a_suspended_schedule_creates_nothing_until_resumed(kontinue: Kontinue) -> None:
    kontinue.function("tick", [{"return": 1}], speed=60)
    schedule(kontinue, "pausable")
    kontinue.wait("scheduledexecutions", "pausable", lambda s: bool(status(s).get("lastScheduleTime")))
    kontinue.custom.patch_namespaced_custom_object(
        GROUP, VERSION, kontinue.namespace, "scheduledexecutions", "pausable", {"spec": {"suspend": True}}
    )
    paused = kontinue.wait(
        "scheduledexecutions", "pausable", lambda s: "nextScheduleTime" not in status(s), what="no next time"
    )
    count = len(runs(kontinue, "pausable"))
    with pytest.raises(AssertionError, match="timed out"):
        kontinue.wait_list(
            "executions",
            lambda objects: len(objects) > count,
            selector="kontinue.cloud/schedule=pausable",
            timeout=2.5,
            what="a run while suspended",
        )
    assert (
        status(kontinue.get("scheduledexecutions", "pausable"))["lastScheduleTime"]
        == status(paused)["lastScheduleTime"]
    )
    kontinue.custom.patch_namespaced_custom_object(
        GROUP, VERSION, kontinue.namespace, "scheduledexecutions", "pausable", {"spec": {"suspend": False}}
    )
    kontinue.wait_list(
        "executions",
        lambda objects: len(objects) > count,
        selector="kontinue.cloud/schedule=pausable",
        what="a run after resuming",
    )


def test_active_lists_the_runs_still_going(kontinue: Kontinue) -> None:
    kontinue.function("tick", [{"suspend": "hold"}], speed=60)
    schedule(kontinue, "overlapping")
    done = kontinue.wait(
        "scheduledexecutions",
        "overlapping",
        lambda s: len(status(s).get("active") or []) >= 2,
        what="two active runs",
    )
    assert status(done)["active"] == sorted(status(done)["active"])
    assert not status(done).get("history")
