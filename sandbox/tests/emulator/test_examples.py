"""The example Functions, spawned kubectl-style, each reach their documented end; and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml
from kubernetes import config as k8s_config

from kontinue_sandbox import processes
from kontinue_sandbox.emulator import examples
from support.emulator import EmulatorProcess, Kontinue, status

MANIFESTS = """
apiVersion: kontinue.cloud/v1alpha1
kind: Execution
metadata: {name: hello-1}
spec: {function: hello, arguments: {name: Ada}}
---
apiVersion: kontinue.cloud/v1alpha1
kind: Execution
metadata: {name: deploy-1}
spec: {function: deploy, arguments: {version: "2.0.1", environment: production}}
---
apiVersion: kontinue.cloud/v1alpha1
kind: Execution
metadata: {name: fan-out-1}
spec: {function: fan-out}
---
apiVersion: kontinue.cloud/v1alpha1
kind: Execution
metadata: {name: flaky-1}
spec: {function: flaky}
---
apiVersion: kontinue.cloud/v1alpha1
kind: Execution
metadata: {name: long-logger-1}
spec: {function: long-logger, arguments: {seconds: 4}}
---
apiVersion: kontinue.cloud/v1alpha1
kind: Execution
metadata: {name: sleeper-1}
spec: {function: sleeper}
---
apiVersion: kontinue.cloud/v1alpha1
kind: Execution
metadata: {name: always-fails-1}
spec: {function: always-fails}
"""


def test_every_example_function_reaches_its_documented_terminal_phase(kontinue: Kontinue) -> None:
    assert examples.install(kontinue.api, kontinue.namespace) == [
        "hello", "deploy", "square", "fan-out", "flaky", "long-logger", "sleeper", "always-fails",
    ]  # fmt: skip
    for manifest in yaml.safe_load_all(MANIFESTS):
        kontinue.create("executions", manifest)
    hello = status(kontinue.wait_phase("hello-1", "Completed"))
    assert hello["result"] == "Hello, Ada!"
    assert kontinue.log(hello["worker"]) == "Hello, Ada!\n"

    waiting = status(kontinue.wait_phase("deploy-1", "Suspended"))
    assert waiting["message"] == "waiting for approval to deploy 2.0.1 to production"
    kontinue.resume(kontinue.children("deploy-1", "suspensions")[0]["metadata"]["name"])
    deploy = status(kontinue.wait_phase("deploy-1", "Completed"))
    assert deploy["result"] == {
        "environment": "production",
        "version": "2.0.1",
        "replicas": 3,
        "status": "deployed",
    }
    assert kontinue.log(deploy["worker"]).splitlines() == [
        "preparing 2.0.1 for production",
        "approved; rolling out 2.0.1 to production",
        "rolled out 3 replicas",
    ]

    fan_out = status(kontinue.wait_phase("fan-out-1", "Completed"))
    assert fan_out["result"] == {"sum": 14, "count": 3}
    assert kontinue.log(fan_out["worker"]).splitlines() == ["spawning 3 children", "squares: 1, 4, 9"]

    flaky = status(kontinue.wait_phase("flaky-1", "Completed"))
    assert (flaky["result"], flaky["attempt"]) == ("succeeded on attempt 2", 2)
    assert kontinue.log(flaky["worker"]) == "attempt 2\n"

    logger = status(kontinue.wait_phase("long-logger-1", "Completed"))
    assert logger["result"] == {"lines": 4}
    assert kontinue.log(logger["worker"]).splitlines() == [f"line {i} of 4" for i in range(1, 5)]

    sleeper = status(kontinue.wait_phase("sleeper-1", "Completed"))
    assert sleeper["result"] == "slept 10s"
    assert kontinue.log(sleeper["worker"]) == "sleeping for 10s\nawake\n"

    failed = status(kontinue.wait_phase("always-fails-1", "Failed"))
    assert (failed["reason"], failed["message"]) == ("NonRetryableError", "this function always fails")
    assert kontinue.log(failed["worker"]) == "about to fail\nerror: this function always fails\n"


def test_the_examples_print_as_yaml_that_kubectl_can_apply() -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "kontinue_sandbox.emulator", "--print-examples"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    documents = list(yaml.safe_load_all(printed))
    assert [d["metadata"]["name"] for d in documents] == [e["metadata"]["name"] for e in examples.EXAMPLES]
    assert all(d["kind"] == "Function" and d["spec"]["emulator"]["steps"] for d in documents)


def test_sandbox_up_with_examples_runs_the_emulator_and_down_stops_it(tmp_path: Path) -> None:
    env = {**os.environ, "KONTINUE_SANDBOX_HOME": str(tmp_path)}
    cli = [sys.executable, "-m", "kontinue_sandbox.cli"]
    up = subprocess.run([*cli, "up", "--examples", "--speed", "20"], env=env, capture_output=True, text=True,
                        timeout=180, check=False)  # fmt: skip
    assert up.returncode == 0, up.stderr
    state = json.loads((tmp_path / "sandbox.json").read_text())
    try:
        assert "example functions in namespace default: hello, deploy" in up.stdout
        assert processes.pid_alive(state["pids"]["emulator"])
        emulator_log = Path(state["directory"]) / "emulator.log"
        handle = EmulatorProcess(Path(state["kubeconfig"]), Path(state["directory"]))
        handle.log_file = emulator_log
        with k8s_config.new_client_from_config(config_file=state["kubeconfig"]) as api:
            kontinue = Kontinue(api, "default", handle)
            kontinue.create("executions", next(yaml.safe_load_all(MANIFESTS)))
            done = status(kontinue.wait_phase("hello-1", "Completed", timeout=30))
            assert done["result"] == "Hello, Ada!"
            assert kontinue.log(done["worker"]) == "Hello, Ada!\n"
        assert "emulator: pid" in subprocess.run([*cli, "status"], env=env, capture_output=True, text=True,
                                                 timeout=60, check=False).stdout  # fmt: skip
    finally:
        down = subprocess.run(
            [*cli, "down"], env=env, capture_output=True, text=True, timeout=120, check=False
        )
    assert down.returncode == 0, down.stderr
    assert not any(processes.pid_alive(pid) for pid in state["pids"].values())
