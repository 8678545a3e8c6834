"""A local kontinue: a real kube-apiserver and etcd with a model of the kontinue CRDs, and an
emulator of the kontinue controller, for tests, demos and DAG work.

This is a development tool, its own distribution beside the provider: nothing in
``airflow-provider-kontinue`` imports it, and it imports nothing of the provider (an import
contract keeps both rules). ``ControlPlane`` is the Python entry point, ``kontinue-sandbox`` the
command-line one, and the ``pytest`` plugin :mod:`kontinue_sandbox.pytest_plugin` gives tests one
control plane per session.
"""

__version__ = "0.2.0"
