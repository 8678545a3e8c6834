"""Killing the emulator mid-run loses nothing: on restart it continues from what the resources say."""

from __future__ import annotations

import time

from kontinue_sandbox.controlplane import ControlPlane
from support.emulator import Kontinue, status


def _lines_so_far(kontinue: Kontinue, pod: str, wanted: int, timeout: float = 15.0) -> list[str]:
    """Follow the pod's log until ``wanted`` lines have arrived (a stream, not polling)."""
    response = kontinue.core.read_namespaced_pod_log(
        pod, kontinue.namespace, follow=True, _preload_content=False, _request_timeout=timeout
    )
    lines: list[str] = []
    buffer = b""
    deadline = time.monotonic() + timeout
    try:
        for chunk in response.stream(64):
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                lines.append(line.decode())
            if len(lines) >= wanted or time.monotonic() > deadline:
                break
    finally:
        response.release_conn()
    return lines


def test_killing_the_emulator_mid_run_loses_no_execution(kontinue: Kontinue) -> None:
    kontinue.function(
        "long",
        [{"log": {"message": "line {{ i }}", "count": 12, "interval": "400ms"}}, {"return": "long"}],
        speed=1,
    )
    kontinue.function(
        "gate", [{"log": "waiting"}, {"suspend": "approve"}, {"log": "through"}, {"return": "gate"}]
    )
    kontinue.function("again", [{"fail": {"message": "first try", "firstAttempts": 1}}, {"return": "again"}])
    kontinue.function("sleepy", [{"suspend": {"for": "80s"}}, {"return": "sleepy"}])
    kontinue.function("quick", [{"return": "quick"}])
    kontinue.function("exclusive", [{"suspend": "hold"}, {"return": "{{ execution }}"}])
    kontinue.execution("long", name="long-1")
    kontinue.execution("gate", name="gate-1")
    kontinue.execution("again", name="again-1", retry={"retries": 1, "backoff": "80s"})  # 4 s at speed 20
    kontinue.execution("sleepy", name="sleepy-1")  # 4 s at speed 20
    kontinue.execution("exclusive", name="ex-a", mutex={"name": "m"})
    kontinue.execution("exclusive", name="ex-b", mutex={"name": "m"})
    running = kontinue.wait_phase("long-1", "Executing")
    kontinue.wait_phase("gate-1", "Suspended")
    kontinue.wait_phase("again-1", "Backoff")
    kontinue.wait_phase("sleepy-1", "Suspended")
    kontinue.wait_phase("ex-a", "Suspended")
    kontinue.wait("executions", "ex-b", lambda o: status(o).get("reason") == "WaitingForMutex")
    before = _lines_so_far(kontinue, status(running)["worker"], 3)
    assert before[:3] == ["line 0", "line 1", "line 2"]

    kontinue.emulator.kill()
    try:
        kontinue.execution("quick", name="quick-1")  # created while no emulator runs
        time.sleep(0.5)
        assert status(kontinue.get("executions", "quick-1")) == {}
    finally:
        kontinue.emulator.start()

    assert status(kontinue.wait_phase("quick-1", "Completed"))["result"] == "quick"
    gate_suspension = kontinue.children("gate-1", "suspensions")[0]["metadata"]["name"]
    kontinue.resume(gate_suspension)
    assert status(kontinue.wait_phase("gate-1", "Completed"))["result"] == "gate"
    again = status(kontinue.wait_phase("again-1", "Completed"))
    assert (again["result"], again["attempt"]) == ("again", 2)
    assert status(kontinue.wait_phase("sleepy-1", "Completed"))["result"] == "sleepy"
    long_done = status(kontinue.wait_phase("long-1", "Completed"))
    assert long_done["result"] == "long"
    assert long_done["resumptions"] == 1  # picked up again after the restart
    log = kontinue.log(long_done["worker"]).splitlines()
    assert "kontinue emulator: picked up attempt 1 again" in log
    lines = [line for line in log if line.startswith("line ")]
    assert [f"line {i}" for i in range(12)] == sorted(set(lines), key=lambda s: int(s.split()[1]))
    assert len(lines) - 12 <= 4, f"more than a second of lines was replayed: {lines}"
    assert kontinue.log(status(kontinue.get("executions", "gate-1"))["worker"]) == "waiting\nthrough\n"
    # the mutex is still honoured after the restart
    assert status(kontinue.get("executions", "ex-b"))["phase"] == "Pending"
    kontinue.resume(kontinue.children("ex-a", "suspensions")[0]["metadata"]["name"])
    kontinue.wait_phase("ex-b", "Suspended")


def test_the_emulator_rides_out_an_api_server_restart(
    kontinue: Kontinue, control_plane: ControlPlane
) -> None:
    kontinue.function(
        "steady", [{"log": "one"}, {"suspend": {"for": "40s"}}, {"log": "two"}, {"return": "ok"}]
    )
    kontinue.function("gate", [{"suspend": "hold"}, {"return": "gate"}])
    kontinue.execution("steady", name="steady-1")  # sleeps 2 s at speed 20
    kontinue.execution("gate", name="gate-1")
    kontinue.wait_phase("steady-1", "Suspended")
    kontinue.wait_phase("gate-1", "Suspended")
    control_plane.restart_apiserver()  # every watch breaks; resuming from old versions gets 410 Gone
    kontinue.execution("gate", name="gate-2")  # created through the new API server process
    done = status(kontinue.wait_phase("steady-1", "Completed", timeout=30))
    assert kontinue.log(done["worker"]) == "one\ntwo\n"
    kontinue.wait_phase("gate-2", "Suspended", timeout=30)
    kontinue.resume(kontinue.children("gate-1", "suspensions")[0]["metadata"]["name"])
    assert status(kontinue.wait_phase("gate-1", "Completed", timeout=30))["result"] == "gate"
    assert kontinue.emulator.alive()


def test_deleting_a_running_execution_ends_its_worker_pod(kontinue: Kontinue) -> None:
    kontinue.function("endless", [{"log": "busy"}, {"sleep": "1h"}])
    running = status(
        kontinue.execution("endless", name="endless-1") and kontinue.wait_phase("endless-1", "Executing")
    )
    kontinue.custom.delete_namespaced_custom_object(
        "kontinue.cloud", "v1alpha1", kontinue.namespace, "executions", "endless-1"
    )
    pod = kontinue.wait(
        "pods", running["worker"], lambda p: status(p).get("phase") == "Failed", what="pod ended"
    )
    assert pod["status"]["containerStatuses"][0]["state"]["terminated"]["message"] == "execution deleted"
