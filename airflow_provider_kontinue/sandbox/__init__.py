"""A local kontinue: a real kube-apiserver and etcd with the kontinue CRDs, for tests, demos and DAG work.

Needs the ``[sandbox]`` extra. ``ControlPlane`` is the Python entry point; ``kontinue-sandbox`` the
command-line one.
"""
