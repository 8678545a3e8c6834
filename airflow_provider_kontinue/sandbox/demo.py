"""``make demo``: start a sandbox, show the kontinue API it serves, and stop it again."""

from __future__ import annotations

from kubernetes import client as k8s

from airflow_provider_kontinue.sandbox.controlplane import ControlPlane


def main() -> None:
    with ControlPlane() as plane:
        print(f"kontinue sandbox up at {plane.server}")
        print(f"kubeconfig: {plane.kubeconfig}")
        with plane.api_client() as api:
            crds = k8s.ApiextensionsV1Api(api).list_custom_resource_definition().items
            for crd in sorted(crds, key=lambda c: c.metadata.name):
                names = crd.spec.names
                print(
                    f"  {crd.metadata.name:40} kind={names.kind:20} short={','.join(names.short_names or [])}"
                )
        print("stopping the sandbox; run `kontinue-sandbox up` to keep one running")


if __name__ == "__main__":
    main()
