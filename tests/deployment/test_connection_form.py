"""The ``kontinue`` connection form of the Airflow UI, in a real browser, as a new user fills it in.

A user opens Admin → Connections → Add Connection, picks the Kontinue type, pastes a whole YAML
kubeconfig into "Kubeconfig (inline)", sets the namespace and saves; then presses the connection's
Test button and reads the result. Before 0.2 that field was a password input, which drops a
paste's newlines, so every pasted kubeconfig was refused as "not valid YAML or JSON" (issue 13).
Here the kubeconfig is that of a sandbox user bound to the shipped Role in the test's namespace,
with a bearer token inline, pasted through Chromium's clipboard (Ctrl+V). The saved connection
must then work: a deferred and a sync spawn that use it succeed.

Airflow 3.3.2's Test button refuses every connection without a port (``HTTP 400 Bad Request``:
the UI sends ``port: 0`` for a null port, and the API takes that for another destination;
apache/airflow#73298 fixes it in the API). ``press_test`` checks that this is what happens
and then sends the request as the fixed API takes it; with a fixed Airflow it is not needed.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from kubernetes import client as k8s
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from kontinue_sandbox.controlplane import ControlPlane
from kontinue_sandbox.users import add_user
from tests.deployment.conftest import Slot, bind_role
from tests.support.browser import Browser
from tests.support.deployment import Deployment
from tests.support.secrets import inline_kubeconfig

FIELD = "kube_config_secret"
TEST_TITLES = ("Test Connection Successful", "Test Connection Failed")
PORTLESS_REFUSAL = "The host or port to test differs from the stored connection"
"""The detail of the 400 with which Airflow 3.3.2's test endpoint answers the UI's Test button
for a connection that has no port (apache/airflow#73298)."""

# Sends the UI's Test request as the fixed API reads it: a port of 0 is no port. Installed in the
# page, on the XMLHttpRequest the UI's API client (axios) uses; only /connections/test changes.
PORTLESS_TEST_FIX = """
if (!window.__kontinuePortlessTestFix) {
  window.__kontinuePortlessTestFix = true;
  const open = XMLHttpRequest.prototype.open;
  const send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.open = function (method, url, ...rest) {
    this.__kontinueUrl = String(url);
    return open.call(this, method, url, ...rest);
  };
  XMLHttpRequest.prototype.send = function (body) {
    if (this.__kontinueUrl.endsWith('/api/v2/connections/test') && typeof body === 'string') {
      const data = JSON.parse(body);
      if (data.port === 0) {
        data.port = null;
        body = JSON.stringify(data);
      }
    }
    return send.call(this, body);
  };
}
"""


@dataclass(frozen=True)
class Pasted:
    """The form field a kubeconfig was pasted into: its element, input type and value after the paste."""

    tag: str
    type: str
    value: str = field(repr=False)  # a kubeconfig with its token: never in a failure message


def open_connections(browser: Browser) -> None:
    """Admin → Connections, through the navigation, as a user gets there."""
    browser.open("/")
    browser.click(browser.button("Admin"))
    browser.click(browser.button("Connections"))
    browser.button("Add Connection")
    assert browser.url().endswith("/connections"), browser.url()


def add_kontinue_connection(browser: Browser, conn_id: str, kubeconfig: str, namespace: str) -> Pasted:
    """Fill in and save the Add Connection form; return what the inline kubeconfig's field was
    and held after the paste."""
    open_connections(browser)
    browser.click(browser.button("Add Connection"))
    browser.type(browser.element("[role=dialog] input[name=connection_id]"), conn_id)
    kinds = browser.element("[role=dialog] input[role=combobox]", what="the Connection Type select")
    browser.type(kinds, "Kontinue")
    browser.wait(
        lambda: [
            o for o in browser.driver.find_elements(By.CSS_SELECTOR, "[role=option]") if o.text == "Kontinue"
        ],
        what="the Kontinue connection type in the select's options",
    )
    kinds.send_keys(Keys.ENTER)
    browser.click(browser.button("Extra Fields"))
    inline = browser.element(f"#element_{FIELD}", what="the 'Kubeconfig (inline)' field")
    browser.paste(inline, kubeconfig)
    browser.type(browser.element("#element_namespace", what="the 'Namespace' field"), namespace)
    browser.screenshot(f"{conn_id} filled in")
    pasted = Pasted(str(inline.tag_name), str(inline.get_attribute("type") or ""), browser.value(inline))
    browser.click(browser.button("Save"))
    browser.wait_for_text("Connection has been successfully created")
    browser.row(conn_id)
    browser.screenshot(f"{conn_id} saved")
    return pasted


def press_test(browser: Browser, deployment: Deployment, conn_id: str) -> str:
    """Press the connection's Test button in the list; return the notification it shows."""

    def press() -> str:
        before = set(browser.toasts())
        browser.click(
            browser.row(conn_id).find_element(By.CSS_SELECTOR, "button[aria-label='Test Connection']")
        )

        def shown() -> str | None:
            toasts = browser.toasts().items()
            return next(
                (key for key, text in toasts if key not in before and text.startswith(TEST_TITLES)), None
            )

        toast = browser.wait(shown, what=f"the result of testing {conn_id}")

        def described() -> str | None:
            # The title can be read before the message under it is laid out: wait for both lines.
            text = browser.toasts().get(toast, "")
            return text if "\n" in text else None

        return browser.wait(described, what=f"the message under the result of testing {conn_id}", timeout=10)

    result = press()
    browser.screenshot(f"{conn_id} tested")
    if result == "Test Connection Failed\nBad Request":
        # Airflow 3.3.2: the request the UI sends (port 0 for no port) is refused as another
        # destination. Check that this is the cause, through the same endpoint, then send it as
        # the fixed API (apache/airflow#73298) reads it.
        stored = deployment.api.ok("GET", f"/connections/{conn_id}")
        body = {
            "connection_id": conn_id,
            "conn_type": stored["conn_type"],
            "extra": stored["extra"],
            "host": "",
            "login": "",
            "password": "",
            "port": 0,
            "schema": "",
            "description": "",
        }
        refused = deployment.api.request("POST", "/connections/test", json=body)
        assert refused.status_code == 400, refused.text
        assert PORTLESS_REFUSAL in refused.json()["detail"], refused.text
        print(f"Airflow refuses the UI's test of a portless connection: {PORTLESS_REFUSAL}; pressing again")
        browser.driver.execute_script(PORTLESS_TEST_FIX)
        result = press()
        browser.screenshot(f"{conn_id} tested as the fixed API reads it")
    return result


def test_a_kubeconfig_pasted_into_the_connection_form_keeps_its_lines_tests_ok_and_runs_spawns(
    slot: Slot, control_plane: ControlPlane, admin_api: k8s.ApiClient, browser: Browser, tmp_path: Path
) -> None:
    """The issue's user path end to end: paste, save, Test shows the hook's success message, and
    a deferred and a sync spawn on the saved connection succeed (the REST API masks the field, so
    working spawns are the proof of what was stored)."""
    browser.keep_screenshots_in(tmp_path / "screenshots")
    deployment = slot.deployment
    user = add_user(control_plane, f"formbot-{slot.namespace}", auth="token", namespace=slot.namespace)
    bind_role(admin_api, user, slot.namespace, name=f"kontinue-airflow-{user.name}")
    kubeconfig = inline_kubeconfig(user.kubeconfig)
    assert kubeconfig.count("\n") > 10, "the kubeconfig to paste is a multi-line YAML file"
    conn_id = f"{slot.conn_id}_form"

    pasted = add_kontinue_connection(browser, conn_id, kubeconfig, slot.namespace)
    # A textarea keeps the paste as it is; a password input turns the newlines into spaces, and
    # the YAML into one line that is no kubeconfig.
    assert (pasted.tag, pasted.type) == ("textarea", "textarea"), f"'Kubeconfig (inline)' is a {pasted}"
    assert pasted.value.count("\n") == kubeconfig.count("\n"), "the field dropped the paste's newlines"
    kept = pasted.value == kubeconfig  # not compared in the assert: its diff would print the token
    assert kept, "the 'Kubeconfig (inline)' field changed the pasted kubeconfig"

    stored = deployment.api.ok("GET", f"/connections/{conn_id}")
    extra = json.loads(stored["extra"])
    assert stored["conn_type"] == "kontinue"
    assert extra["namespace"] == slot.namespace
    assert extra[FIELD] == "***", "the REST API redacts the inline kubeconfig"

    result = press_test(browser, deployment, conn_id)
    # The hook's test_connection message, as the UI shows it.
    assert result.startswith("Test Connection Successful\nconnected: kontinue is served, "), result
    assert result.endswith(f"in namespace '{slot.namespace}', and executions may be listed"), result

    marker = f"form-marker-{slot.prefix}"
    dag_id = slot.write_dag("form_spawn", form_conn=conn_id, marker=marker)
    api = deployment.api
    run_id = api.trigger(dag_id)
    state = api.wait_for_run(dag_id, run_id)
    assert state == "success", api.task_states(dag_id, run_id)
    for task in ("deferred", "sync"):
        name = api.xcom(dag_id, run_id, task, key="execution_name")
        assert api.xcom(dag_id, run_id, task, key="execution_namespace") == slot.namespace
        assert f"Hello, {marker}" in api.task_log(dag_id, run_id, task, 1), name
    browser.open(f"/dags/{dag_id}/runs/{run_id}")
    browser.wait_for_text("Success")
    browser.screenshot("the run on the pasted connection")


def test_a_pasted_kubeconfig_that_is_not_yaml_is_refused_by_test_naming_the_field(
    deployment: Deployment, browser: Browser, tmp_path: Path
) -> None:
    """A broken paste is caught where the user is: the form saves what it is given (it knows no
    YAML), and Test answers with the hook's message naming the field and the fix, not a stack trace
    nor the pasted text (which may hold credentials)."""
    browser.keep_screenshots_in(tmp_path / "screenshots")
    conn_id = f"kontinue_form_bad_{uuid.uuid4().hex[:6]}"
    broken = "apiVersion: v1\nclusters:\n- cluster:\n    server: https://127.0.0.1:1\n  name: [unclosed\n"
    try:
        add_kontinue_connection(browser, conn_id, broken, "default")
        result = press_test(browser, deployment, conn_id)
        assert result.startswith("Test Connection Failed\n"), result
        assert f"field '{FIELD}': is not valid YAML or JSON; paste the whole kubeconfig file" in result
        assert "unclosed" not in result, "the message echoes the pasted text"
    finally:
        deployment.api.request("DELETE", f"/connections/{conn_id}")
