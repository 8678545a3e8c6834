"""The local sandbox is not part of the provider: it is the ``kontinue-sandbox`` distribution.

Code written against the sandbox's old home (``airflow_provider_kontinue.sandbox``) gets one line
saying what to install and where the sandbox lives now, instead of a bare ModuleNotFoundError.
"""

raise ImportError(
    "the kontinue sandbox is its own distribution now: install it from this provider's repository "
    "with `pip install -e ./sandbox` and import `kontinue_sandbox` (e.g. "
    "`from kontinue_sandbox.controlplane import ControlPlane`); the provider never needs it"
)
