"""No secret of an inline kubeconfig shows in the Airflow UI, read in Chromium as a user reads it.

``test_secrets.py`` scans what the REST API returns; the UI renders those answers in its own way
(the connection form fills its fields from them, the JSON editor shows the extra, log lines are
formatted in the page), so what reaches the screen is scanned here too. A connection carries an
inline kubeconfig with a service account's bearer token; a deferred and a sync spawn use it. Then
Chromium opens, with Airflow's default settings, the connections list, the connection's edit form
(both extra sections open), the task instance pages of both tasks (logs, details, rendered
templates, XCom, the task's audit log) and the audit log page; each page's source, its visible
text and the values of its form fields are scanned for the token (whole, and its start, middle and
end) and the kubeconfig text. Every page must also show what is not secret and belongs there (the
connection's id, the redaction mark, the marker argument, the execution's name), so a scan that
read an empty or unloaded page cannot pass.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

from kubernetes import client as k8s

from kontinue_sandbox.controlplane import ControlPlane
from kontinue_sandbox.users import add_user
from tests.deployment.conftest import Slot, bind_role
from tests.support.browser import Browser
from tests.support.secrets import WINDOW, Secrets, inline_kubeconfig, pieces


def page_text(browser: Browser) -> str:
    """Everything of the page a scan reads: its source (the DOM as rendered), its visible text and
    the values its form fields hold (a DOM property, not always in the source)."""
    return "\n".join((browser.source(), browser.text(), browser.form_values()))


def test_no_secret_of_an_inline_kubeconfig_shows_in_the_ui_pages_chromium_renders(
    slot: Slot, control_plane: ControlPlane, admin_api: k8s.ApiClient, browser: Browser, tmp_path: Path
) -> None:
    browser.keep_screenshots_in(tmp_path / "screenshots")
    deployment = slot.deployment
    api = deployment.api
    user = add_user(control_plane, f"uibot-{slot.namespace}", auth="token", namespace=slot.namespace)
    bind_role(admin_api, user, slot.namespace, name=f"kontinue-airflow-{user.name}")
    assert user.token
    kubeconfig = inline_kubeconfig(user.kubeconfig)
    values = {"token": user.token, "kubeconfig text": kubeconfig}
    values |= {f"token ({part} {WINDOW} chars)": text for part, text in pieces(user.token).items()}
    values["kubeconfig text, JSON-escaped"] = json.dumps(kubeconfig)[1:-1]
    values["kubeconfig text, HTML line breaks"] = kubeconfig.replace("\n", "<br>")
    secrets = Secrets(values)

    conn_id = f"{slot.conn_id}_ui"
    api.put_connection(conn_id, "kontinue", {"kube_config_secret": kubeconfig, "namespace": slot.namespace})
    marker = f"ui-marker-{slot.prefix}"
    dag_id = slot.write_dag("form_spawn", form_conn=conn_id, marker=marker)
    run_id = api.trigger(dag_id)
    assert api.wait_for_run(dag_id, run_id) == "success", api.task_states(dag_id, run_id)
    names = {task: str(api.xcom(dag_id, run_id, task, key="execution_name")) for task in ("deferred", "sync")}

    sources: dict[str, str] = {}

    def scan(where: str, path: str | None, *shown: str) -> None:
        """Open ``path`` (or stay on the page), wait until the page shows every one of ``shown``
        (it loaded what it is about), and keep what it holds for the scan."""
        if path is not None:
            browser.open(path)

        def loaded() -> str | None:
            text = page_text(browser)
            return text if all(part in text for part in shown) else None

        sources[where] = browser.wait(loaded, what=f"the page {where} to show {shown}")
        browser.screenshot(where)

    scan("connections list", "/connections", conn_id)
    edit = browser.row(conn_id).find_element("css selector", "button[aria-label='Edit Connection']")
    browser.click(edit)
    browser.wait_for_text("Edit Connection")
    browser.click(browser.button("Extra Fields"))
    browser.click(browser.button("Extra Fields JSON"))
    scan(
        "connection edit form",
        None,
        "element_kube_config_secret=***\n",  # the field shows the redaction mark ...
        f"element_namespace={slot.namespace}\n",  # ... beside what is not secret
        '"kube_config_secret": "***"',  # and so does the JSON editor
    )
    run = quote(run_id, safe="")
    for task, name in names.items():
        base = f"/dags/{dag_id}/runs/{run}/tasks/{task}"
        scan(f"{task}: logs", base, f"Hello, {marker}", name)
        scan(f"{task}: details", f"{base}/details", "KontinueSpawnOperator", run_id)
        scan(f"{task}: rendered templates", f"{base}/rendered_templates", marker, conn_id)
        scan(f"{task}: xcom", f"{base}/xcom", "execution_name", name)
        scan(f"{task}: audit log", f"{base}/events", "running", "success")
    scan("audit log", "/events", "post_connection", "trigger_dag_run", dag_id)

    leaks = {where: found for where, text in sources.items() if (found := secrets.found_in(text))}
    total = sum(map(len, sources.values()))
    print(f"UI secret scan: {len(sources)} pages, {total:,} characters, {len(secrets.values)} secrets")
    for where in sources:
        print(f"  {where}: {len(sources[where]):,} characters")
    assert leaks == {}, f"secrets found in the UI: {leaks}"
