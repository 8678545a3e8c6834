"""Mutexes and function concurrency limits (spec §3.8): one holder, FIFO waiters."""

from __future__ import annotations

from support.emulator import Kontinue, status


def _resume_only_suspension(kontinue: Kontinue, execution: str) -> None:
    found = kontinue.wait_list(
        "suspensions",
        lambda o: len(o) == 1,
        selector=f"kontinue.cloud/parent={execution}",
        what="a suspension",
    )
    kontinue.resume(next(iter(found)))


def test_a_mutex_has_one_holder_and_waiters_start_in_creation_order(kontinue: Kontinue) -> None:
    kontinue.function("exclusive", [{"suspend": "hold the lock"}, {"return": "{{ execution }}"}])
    # created in one second: FIFO falls back to the name, which orders them the same way
    for index in range(3):
        kontinue.execution("exclusive", name=f"ex-{index}", mutex={"name": "deploy-prod"})
    kontinue.wait_phase("ex-0", "Suspended")
    for waiter in ("ex-1", "ex-2"):
        pending = kontinue.wait(
            "executions",
            waiter,
            lambda o: status(o).get("reason") == "WaitingForMutex",
            what="WaitingForMutex",
        )
        assert status(pending)["phase"] == "Pending"
        assert status(pending)["message"].startswith("waiting for mutex deploy-prod")
        assert "startedAt" not in status(pending)
    _resume_only_suspension(kontinue, "ex-0")
    kontinue.wait_phase("ex-0", "Completed")
    kontinue.wait_phase("ex-1", "Suspended")
    assert status(kontinue.get("executions", "ex-2"))["phase"] == "Pending"
    _resume_only_suspension(kontinue, "ex-1")
    kontinue.wait_phase("ex-2", "Suspended")
    finished = parse_pairs(kontinue, ["ex-0", "ex-1"])
    started_2 = status(kontinue.get("executions", "ex-2"))["startedAt"]
    assert finished["ex-0"][1] <= finished["ex-1"][0]
    assert finished["ex-1"][1] <= started_2


def parse_pairs(kontinue: Kontinue, names: list[str]) -> dict[str, tuple[str, str]]:
    pairs = {}
    for name in names:
        st = status(kontinue.wait_phase(name, "Completed"))
        pairs[name] = (st["startedAt"], st["finishedAt"])
    return pairs


def test_a_mutex_is_held_through_backoff_between_attempts(kontinue: Kontinue) -> None:
    kontinue.function(
        "retrying-holder",
        [{"fail": {"message": "again", "firstAttempts": 1}}, {"suspend": "hold"}],
    )
    kontinue.function("other", [{"return": "ran"}])
    kontinue.execution(
        "retrying-holder", name="holder-1", mutex={"name": "m"}, retry={"retries": 1, "backoff": "20s"}
    )
    kontinue.wait_phase("holder-1", "Backoff")
    kontinue.execution("other", name="other-1", mutex={"name": "m"})
    waiting = kontinue.wait("executions", "other-1", lambda o: status(o).get("reason") == "WaitingForMutex")
    assert status(waiting)["phase"] == "Pending"
    kontinue.wait_phase("holder-1", "Suspended")
    assert status(kontinue.get("executions", "other-1"))["phase"] == "Pending"
    kontinue.cancel("holder-1")
    assert status(kontinue.wait_phase("other-1", "Completed"))["result"] == "ran"


def test_a_function_concurrency_limit_caps_how_many_run_at_once(kontinue: Kontinue) -> None:
    kontinue.function("limited", [{"suspend": "hold"}, {"return": 1}], concurrency=2)
    for index in range(4):
        kontinue.execution("limited", name=f"lim-{index}")
    kontinue.wait_phase("lim-0", "Suspended")
    kontinue.wait_phase("lim-1", "Suspended")
    for waiter in ("lim-2", "lim-3"):
        pending = kontinue.wait(
            "executions", waiter, lambda o: status(o).get("reason") == "WaitingForConcurrency"
        )
        assert status(pending)["message"] == "waiting for a concurrency slot of function limited (limit 2)"
    _resume_only_suspension(kontinue, "lim-1")
    kontinue.wait_phase("lim-2", "Suspended")
    assert status(kontinue.get("executions", "lim-3"))["phase"] == "Pending"
    kontinue.cancel("lim-0")
    kontinue.wait_phase("lim-3", "Suspended")
