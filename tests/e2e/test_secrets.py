"""No secret of a connection shows in anything a whole DAG run leaves behind.

Three ``kontinue`` connections carry their kubeconfig inline, with no file behind it: one
authenticates with a service account's bearer token, one with a client certificate and key, one
with a token the API server rejects; each has a password set. The ``e2e_secrets`` DAG uses them
for a deferrable spawn and a deferrable sensor (their triggers serialized, written to the trigger
table and run), a spawn and a sensor waiting in the worker, a templated argument, a downstream
XCom, and three tasks failing with the API server's "unauthorized", "forbidden" and "not found".
It runs once, with Airflow logging at DEBUG, then everything the run produced is scanned:

- its whole stdout and stderr (``dag.test()`` writes the task logs there), including the
  ``E2E-RESULT`` summary with the triggers the runner recorded;
- every file under ``AIRFLOW_HOME/logs`` (``dag.test()`` in Airflow 3.3 writes none; any that
  appears is scanned);
- every row of every table of the metadata database, reflected from the database itself so a new
  table cannot hide a leak, plus every cell behind compression or Fernet encryption, opened;
- through Airflow's models: every trigger's decrypted ``kwargs``, every task instance's
  ``next_kwargs`` and every row of ``rendered_task_instance_fields``;
- what ``dag.test()`` keeps only while the run lasts, recorded by ``tests.support.dag_runner``: each
  trigger's ``serialize()`` output, the deferred task's ``next_kwargs`` and the event it resumed
  with (``dag.test()`` clears ``next_kwargs`` once the task ends).

Found while building this (Airflow 3.3.2): the trigger table holds a deferred task's trigger
kwargs as plain JSON, not Fernet-encrypted (the execution API stores the worker's dict as it
comes), so the kwargs themselves must hold no secret; and ``dag.test()``'s in-process supervisor
logs every ``MaskSecret`` request with its value at DEBUG, where a real worker's supervisor logs
"body omitted". Those echo lines are the one thing left out of the scan (counted, not hidden).

The scan must also find what is not secret (the executions' names, the namespace, the rendered
template, the refused user and namespace) in those same sources, so a scan that read nothing
cannot pass.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s

from kontinue_sandbox.controlplane import ControlPlane
from kontinue_sandbox.users import KONTINUE_CLIENT_RULES, SandboxUser, add_user, grant
from tests.e2e.dags.e2e_masking import SAID
from tests.e2e.dags.e2e_secrets import CERT_CONN, FORBIDDEN, MARKER, REJECTED_CONN, TOKEN_CONN
from tests.support.airflow_runs import ROOT, Airflow, DagRun
from tests.support.metadata_dump import NOT_DECRYPTABLE
from tests.support.secrets import WINDOW, Secrets, inline_kubeconfig, pem_body_lines, pieces

DAG_ID = "e2e_secrets"
MASK_ECHO = re.compile(r"\] Sending request\s.*\bmsg=MaskSecret\(")
"""A line of ``dag.test()``'s in-process supervisor echoing a ``MaskSecret`` request at DEBUG
(``InProcessSupervisorComms.send``); a real worker's supervisor logs these with "body omitted"."""
RUN_OUTPUT = "DAG run output (stdout and stderr)"
TABLE = "table {}"
TRIGGER_KWARGS = "trigger kwargs, decrypted (Trigger.kwargs)"
NEXT_KWARGS = "task instance next_kwargs"
RENDERED = "rendered template fields"
OPENED = "compressed or encrypted cells, opened"
RECORDED_KWARGS = "in-line triggers' serialize() (recorded)"
RECORDED_DEFERRED = "next_kwargs while deferred (recorded)"
RECORDED_EVENTS = "trigger events the tasks resumed with (recorded)"


@dataclass(frozen=True)
class SecretAirflow:
    """The session's Airflow with the two secret-bearing connections, and what must not leak."""

    airflow: Airflow
    secrets: Secrets
    token_user: SandboxUser
    cert_user: SandboxUser


def connection(kubeconfig: str, namespace: str, password: str) -> str:
    """A ``kontinue`` connection (``AIRFLOW_CONN_<ID>``) with the kubeconfig inline and a password."""
    extra = {"kube_config_secret": kubeconfig, "namespace": namespace}
    return json.dumps({"conn_type": "kontinue", "password": password, "extra": extra})


@pytest.fixture(scope="module")
def secret_airflow(airflow: Airflow, control_plane: ControlPlane, admin_api: k8s.ApiClient) -> SecretAirflow:
    """The e2e Airflow logging at DEBUG, plus the connections ``kontinue_secret_token`` (a service
    account's bearer token) and ``kontinue_secret_cert`` (a client certificate and key): each a
    kontinue client in the e2e namespace only, with its kubeconfig inline and a password."""
    namespace = airflow.namespace
    token_user = add_user(control_plane, f"robot-{namespace}", auth="token", namespace=namespace)
    cert_user = add_user(control_plane, f"certbot-{namespace}")
    for user in (token_user, cert_user):
        grant(admin_api, user.name, KONTINUE_CLIENT_RULES, namespace=namespace)
    assert token_user.token
    token_config = inline_kubeconfig(token_user.kubeconfig)
    cert_config = inline_kubeconfig(cert_user.kubeconfig)
    assert "\n    token: " in token_config, token_config  # the credentials are in the text itself
    key_data = yaml.safe_load(cert_config)["users"][0]["user"]["client-key-data"]
    key_lines = pem_body_lines(base64.b64decode(key_data).decode())
    assert len(key_lines) >= 2
    assert len(token_user.token) > 3 * WINDOW
    header, payload, signature = token_user.token.split(".")
    rejected_token = f"{header}.{payload}.{signature[::-1]}"  # its signature no longer verifies
    rejected_config = token_config.replace(token_user.token, rejected_token)
    passwords = {kind: f"pw-{uuid.uuid4().hex}" for kind in ("token", "cert", "rejected")}

    values = {"token": token_user.token}
    values |= {f"token ({part} {WINDOW} chars)": text for part, text in pieces(token_user.token).items()}
    values |= {"client-key-data": key_data, "client key PEM body": "".join(key_lines)}
    values |= {f"client-key-data ({part} {WINDOW} chars)": text for part, text in pieces(key_data).items()}
    values |= {f"client key PEM line {i + 1}": line for i, line in enumerate(key_lines)}
    values |= {
        "rejected token": rejected_token,
        f"rejected token's last {WINDOW} chars": rejected_token[-WINDOW:],
    }
    for kind, text in (("token", token_config), ("cert", cert_config), ("rejected", rejected_config)):
        values[f"{kind} kubeconfig text"] = text
        values[f"{kind} kubeconfig text, JSON-escaped"] = json.dumps(text)[1:-1]
        values[f"{kind} connection password"] = passwords[kind]
    env = {
        **airflow.env,
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "DEBUG",
        f"AIRFLOW_CONN_{TOKEN_CONN.upper()}": connection(token_config, namespace, passwords["token"]),
        f"AIRFLOW_CONN_{CERT_CONN.upper()}": connection(cert_config, namespace, passwords["cert"]),
        f"AIRFLOW_CONN_{REJECTED_CONN.upper()}": connection(
            rejected_config, namespace, passwords["rejected"]
        ),
    }
    return SecretAirflow(Airflow(airflow.home, env, namespace), Secrets(values), token_user, cert_user)


@dataclass(frozen=True)
class Scan:
    """Every text a DAG run left behind, by where it was found."""

    sources: dict[str, str]
    log_files: int
    mask_echoes: int

    def leaks(self, secrets: Secrets) -> dict[str, list[str]]:
        """``{source: [secrets it shows]}`` for every source that shows any."""
        return {where: found for where, text in self.sources.items() if (found := secrets.found_in(text))}

    def where(self, text: str) -> set[str]:
        """The sources that contain ``text``."""
        return {where for where, content in self.sources.items() if text in content}

    def summary(self) -> str:
        """How much was scanned, for the test's captured output."""
        tables = [name for name in self.sources if name.startswith(TABLE.format(""))]
        return (
            f"scanned {len(self.sources)} sources, {sum(map(len, self.sources.values())):,} characters: "
            f"the run's output ({len(self.sources[RUN_OUTPUT]):,} characters, {self.mask_echoes} "
            f"MaskSecret echo lines left out), {self.log_files} log files, {len(tables)} tables "
            f"({sum(1 for t in tables if self.sources[t])} with rows)"
        )


def dump_metadata(airflow: Airflow, out: Path) -> dict[str, Any]:
    """Everything in the Airflow home's metadata database (``tests.support.metadata_dump``), read by a
    process of its own with the DAG runs' environment, after the run's process has exited."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.metadata_dump", str(out)],
        cwd=ROOT,
        env=airflow.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    dumped: dict[str, Any] = json.loads(out.read_text())
    return dumped


def scan(airflow: Airflow, run: DagRun, tmp_path: Path) -> Scan:
    """Collect the run's output, the Airflow home's log files and the whole metadata database."""
    lines = run.log.splitlines()
    kept = [line for line in lines if not MASK_ECHO.search(line)]
    sources = {RUN_OUTPUT: "\n".join(kept)}
    logs = airflow.home / "logs"
    files = sorted(p for p in logs.rglob("*") if p.is_file()) if logs.exists() else []
    for path in files:
        sources[f"log file {path.relative_to(airflow.home)}"] = path.read_text(errors="replace")
    database = dump_metadata(airflow, tmp_path / "metadata.json")
    for table, rows in database["tables"].items():
        sources[TABLE.format(table)] = "\n".join(rows)
    sources[OPENED] = "\n".join(database["opened"])
    sources[TRIGGER_KWARGS] = json.dumps(database["trigger_kwargs"])
    sources[NEXT_KWARGS] = json.dumps(database["next_kwargs"])
    sources[RENDERED] = json.dumps(database["rendered_fields"])
    recorded = run.summary["triggers"]
    sources[RECORDED_KWARGS] = json.dumps([[t["classpath"], t["kwargs"]] for t in recorded])
    sources[RECORDED_DEFERRED] = json.dumps([t["next_kwargs_while_deferred"] for t in recorded])
    sources[RECORDED_EVENTS] = json.dumps([t["event"] for t in recorded], default=str)
    return Scan(sources, len(files), len(lines) - len(kept))


def test_no_connection_secret_shows_in_the_logs_database_or_triggers_of_a_dag_run(
    secret_airflow: SecretAirflow, tmp_path: Path
) -> None:
    airflow = secret_airflow.airflow
    run = airflow.run(DAG_ID, deferrable=False)  # each task says where it waits
    assert run.task_states() == {
        "nap": "success",
        "napped": "success",
        "greet": "success",
        "shout": "success",
        "greet_sync": "success",
        "poked": "success",
        "forbidden": "failed",
        "rejected": "failed",
        "missing": "failed",
    }, run.log[-4000:]
    found = scan(airflow, run, tmp_path)
    print(found.summary())

    leaks = found.leaks(secret_airflow.secrets)
    assert not leaks, f"secrets shown: {leaks}"
    assert NOT_DECRYPTABLE not in found.sources[OPENED]  # nothing stayed closed to the scan

    # Not vacuous: the same scan finds what is not secret, in each kind of source it read.
    greeted, napped = run.xcom("greet", "execution_name"), run.xcom("nap", "execution_name")
    greeted_sync = run.xcom("greet_sync", "execution_name")
    assert run.xcom("shout") == f"HELLO, {MARKER.upper()}!"
    assert run.xcom("poked")["name"] == greeted_sync
    for name in (greeted, napped, greeted_sync, airflow.namespace):
        assert {RUN_OUTPUT, TABLE.format("xcom")} <= found.where(name), name
    assert TABLE.format("task_state_store") in found.where(greeted)
    for text in (
        f'User "{secret_airflow.token_user.name}" cannot get resource "functions"',  # the refusal
        f'in the namespace "{FORBIDDEN}"',
        f"execution 'no-such-execution' not found in namespace '{airflow.namespace}'",
        "cannot spawn 'hello': Unauthorized: the API server rejected the credentials of the kubeconfig user",
        "renew them and reconnect (verb=get, resource=functions.kontinue.cloud, "
        f"namespace={airflow.namespace}, name=hello)",
        "AirflowFailException",
    ):
        assert RUN_OUTPUT in found.where(text), text
    assert {RENDERED, TABLE.format("rendered_task_instance_fields")} <= found.where(f"{MARKER} (sync)")
    assert {TABLE.format("connection"), TABLE.format("log"), TABLE.format("trigger")} <= set(found.sources)

    # Both deferrable waits deferred: their triggers were written, run, and resumed the tasks.
    triggers = {t["task_id"]: t for t in run.summary["triggers"]}
    assert set(triggers) == {"napped", "greet"}
    assert triggers["greet"]["kwargs"]["kontinue_conn_id"] == TOKEN_CONN
    assert triggers["napped"]["kwargs"]["kontinue_conn_id"] == CERT_CONN
    assert [triggers[t]["next_kwargs_while_deferred"] for t in ("greet", "napped")] == [{}, {}]
    assert [triggers[t]["event"]["phase"] for t in ("greet", "napped")] == ["Completed", "Completed"]
    for name in (greeted, napped):
        wanted = {TABLE.format("trigger"), TRIGGER_KWARGS, RECORDED_KWARGS, RECORDED_EVENTS}
        assert wanted <= found.where(name), name


def test_the_hook_masks_the_inline_kubeconfigs_token_and_client_key_in_task_logs(
    secret_airflow: SecretAirflow,
) -> None:
    run = secret_airflow.airflow.run("e2e_masking", deferrable=False)
    assert run.task_states() == {"leak": "success"}, run.log[-4000:]
    # dag.test()'s in-process supervisor echoes each MaskSecret request at DEBUG (see the module docs)
    log = "\n".join(line for line in run.log.splitlines() if not MASK_ECHO.search(line))
    said = [line for line in log.splitlines() if SAID in line]
    leaks = secret_airflow.secrets.found_in("\n".join(said))
    assert not leaks, (leaks, [line[:300] for line in said])
    for masked in (
        "(log) token=*** client-key-data=***",
        "(error) token=*** client-key-data=***",
        "(password) password=***",  # the control: Airflow's own masking of the password
    ):
        assert any(masked in line for line in said), (masked, said)
