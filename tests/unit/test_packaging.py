"""The two distributions stay apart: the provider's wheel holds only the client and the Airflow
layer, the sandbox's wheel holds only the sandbox, and each refuses to be mistaken for the other."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from airflow_provider_kontinue.hooks.connection import parse_settings
from kontinue_sandbox.cli import connection_json as sandbox_connection_line

ROOT = Path(__file__).resolve().parents[2]


def _wheel(source: Path, out: Path) -> zipfile.ZipFile:
    """Build ``source``'s wheel the way a release does: an sdist first, the wheel from it, in an
    isolated build with the declared backend (so nothing left in the work tree can leak in)."""
    built = subprocess.run(
        [sys.executable, "-m", "uv", "build", "--quiet", "--out-dir", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, f"building {source} failed:\n{built.stderr[-3000:]}"
    [wheel] = out.glob("*.whl")
    return zipfile.ZipFile(wheel)


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, zipfile.ZipFile]:
    base = tmp_path_factory.mktemp("wheels")
    return {
        name: _wheel(source, base / name)
        for name, source in (("provider", ROOT), ("sandbox", ROOT / "sandbox"))
    }


def _top_levels(wheel: zipfile.ZipFile) -> set[str]:
    return {name.split("/")[0] for name in wheel.namelist() if not name.split("/")[0].endswith(".dist-info")}


def _entry_points(wheel: zipfile.ZipFile) -> str:
    [name] = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    return wheel.read(name).decode()


def test_the_provider_wheel_holds_only_the_client_and_the_airflow_layer(
    wheels: dict[str, zipfile.ZipFile],
) -> None:
    provider = wheels["provider"]
    names = provider.namelist()

    assert _top_levels(provider) == {"airflow_provider_kontinue"}
    assert {
        n.split("/")[1] for n in names if n.startswith("airflow_provider_kontinue/") and n.count("/") > 1
    } == {
        "client",
        "hooks",
        "links",
        "manifests",
        "operators",
        "sensors",
        "triggers",
    }
    # The only YAML is the RBAC Role the Airflow identity needs (docs/deployment.md).
    assert [n for n in names if n.endswith(".yaml")] == [
        "airflow_provider_kontinue/manifests/airflow-role.yaml"
    ]
    assert not [n for n in names if n.endswith(".sh") or "emulator" in n or "crds" in n]
    assert "kontinue-sandbox" not in _entry_points(provider)
    assert "[console_scripts]" not in _entry_points(provider)
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    requires = [
        line for line in provider.read(metadata).decode().splitlines() if line.startswith("Requires-Dist")
    ]
    assert not [line for line in requires if "kontinue-sandbox" in line and "extra ==" not in line]


def test_the_sandbox_wheel_holds_the_sandbox_its_crds_and_command(wheels: dict[str, zipfile.ZipFile]) -> None:
    sandbox = wheels["sandbox"]
    names = sandbox.namelist()

    assert _top_levels(sandbox) == {"kontinue_sandbox"}
    assert len([n for n in names if n.startswith("kontinue_sandbox/crds/") and n.endswith(".yaml")]) == 5
    assert "kontinue_sandbox/build-control-plane.sh" in names
    assert "kontinue_sandbox/emulator/app.py" in names
    assert "kontinue-sandbox = kontinue_sandbox.cli:main" in _entry_points(sandbox)


def test_importing_the_sandbox_from_the_provider_says_what_to_install() -> None:
    with pytest.raises(
        ImportError, match=r"its own distribution now: install it .* `pip install -e \./sandbox`"
    ):
        importlib.import_module("airflow_provider_kontinue.sandbox")


def test_the_sandbox_connection_line_is_a_connection_the_provider_accepts() -> None:
    line = json.loads(sandbox_connection_line("/tmp/kubeconfig.yaml", "team-a"))

    assert line["conn_type"] == "kontinue"
    settings = parse_settings("kontinue_default", line["extra"])
    assert (settings.kube_config_path, settings.namespace) == ("/tmp/kubeconfig.yaml", "team-a")
