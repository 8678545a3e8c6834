"""Where the client connects: kubeconfig (file or dict), context, in-cluster, TLS, default namespace.

Both drivers load their Kubernetes ``ApiClient`` from the same :class:`ConnectionSettings`, and
every problem (no kubeconfig, unknown context, unreadable file) is a :class:`~.errors.ConfigError`
that says what was looked for and how to fix it, never a stack trace from the config loader.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError

log = logging.getLogger(__name__)

SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
TLS_DISABLED_WARNING = (
    "TLS verification of the Kubernetes API server is turned off (verify_ssl=False): anyone on the "
    "network path can read and change what the client sends, tokens included"
)


@dataclass(frozen=True)
class ConnectionSettings:
    """How to reach the API server. With nothing set: ``$KUBECONFIG`` or ``~/.kube/config``, falling
    back to the in-cluster service account when running in a pod."""

    kubeconfig: str | Path | Mapping[str, Any] | None = None
    context: str | None = None
    in_cluster: bool = False
    verify_ssl: bool = True

    def __repr__(self) -> str:  # a kubeconfig dict holds credentials: never print it
        source = "dict" if isinstance(self.kubeconfig, Mapping) else self.kubeconfig
        return (
            f"ConnectionSettings(kubeconfig={source!r}, context={self.context!r}, "
            f"in_cluster={self.in_cluster}, verify_ssl={self.verify_ssl})"
        )

    def use_in_cluster(self) -> bool:
        if self.in_cluster:
            return True
        if self.kubeconfig is not None:
            return False
        return not _default_kubeconfig_path().exists() and "KUBERNETES_SERVICE_HOST" in os.environ

    def kubeconfig_document(self) -> tuple[dict[str, Any], str]:
        """The kubeconfig as a dict, and a description of where it came from (for messages)."""
        if isinstance(self.kubeconfig, Mapping):
            return dict(self.kubeconfig), "the kubeconfig given as a dict"
        path = self.kubeconfig_path() or _default_kubeconfig_path()
        try:
            document = yaml.safe_load(path.read_text())
        except FileNotFoundError:
            raise ConfigError(
                f"no kubeconfig at {path}; pass kubeconfig=..., set KUBECONFIG, or use in_cluster=True "
                "inside a pod"
            ) from None
        except (OSError, yaml.YAMLError) as err:
            raise ConfigError(f"cannot read the kubeconfig {path}: {type(err).__name__}") from None
        if not isinstance(document, dict):
            raise ConfigError(f"the kubeconfig {path} is not a YAML mapping")
        return document, str(path)

    def kubeconfig_path(self) -> Path | None:
        """The kubeconfig file to load, or ``None`` when the kubeconfig was given as a dict."""
        if isinstance(self.kubeconfig, Mapping):
            return None
        return Path(self.kubeconfig).expanduser() if self.kubeconfig else _default_kubeconfig_path()

    def selected_context(self) -> tuple[dict[str, Any], str]:
        """The kubeconfig's context entry chosen by ``context`` (or its current-context)."""
        document, source = self.kubeconfig_document()
        contexts = {c.get("name"): c.get("context") or {} for c in document.get("contexts") or []}
        wanted = self.context or document.get("current-context")
        if not wanted:
            raise ConfigError(
                f"{source} has no current-context; pass context=... (one of {sorted(contexts)})"
            )
        if wanted not in contexts:
            raise ConfigError(
                f"{source} has no context {wanted!r}; it has {sorted(c for c in contexts if c)}"
            )
        return contexts[wanted], source

    def default_namespace(self) -> str:
        """The current context's namespace, else the pod's service-account namespace, else default."""
        if self.use_in_cluster():
            try:
                return SERVICE_ACCOUNT_NAMESPACE.read_text().strip() or "default"
            except OSError:
                return "default"
        context, _ = self.selected_context()
        namespace = context.get("namespace")
        return str(namespace) if namespace else "default"

    def configure_tls(self, configuration: Any) -> None:
        """Apply ``verify_ssl`` to a loaded client configuration, warning loudly when it is off."""
        if not self.verify_ssl:
            warnings.warn(TLS_DISABLED_WARNING, stacklevel=3)
            log.warning(TLS_DISABLED_WARNING)
            configuration.verify_ssl = False


def _default_kubeconfig_path() -> Path:
    first = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    return Path(first).expanduser() if first else Path.home() / ".kube" / "config"


def sync_api_client(settings: ConnectionSettings) -> Any:
    """A ``kubernetes.client.ApiClient`` for ``settings``."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    try:
        if settings.use_in_cluster():
            configuration = client.Configuration()
            config.load_incluster_config(client_configuration=configuration)
        else:
            configuration = client.Configuration()
            document, _ = settings.kubeconfig_document()
            settings.selected_context()  # a clear error for a wrong context
            path = settings.kubeconfig_path()
            if path is None:
                config.load_kube_config_from_dict(
                    document,
                    context=settings.context,
                    client_configuration=configuration,
                    persist_config=False,
                )
            else:  # from the file, so relative certificate paths resolve against its directory
                config.load_kube_config(
                    config_file=str(path),
                    context=settings.context,
                    client_configuration=configuration,
                    persist_config=False,
                )
    except ConfigException as err:
        raise ConfigError(f"cannot load the Kubernetes configuration: {err}") from None
    settings.configure_tls(configuration)
    return client.ApiClient(configuration)


async def async_api_client(settings: ConnectionSettings) -> Any:
    """A ``kubernetes_asyncio.client.ApiClient`` for ``settings``."""
    from kubernetes_asyncio import client, config
    from kubernetes_asyncio.config.config_exception import ConfigException

    try:
        configuration = client.Configuration()
        if settings.use_in_cluster():
            config.load_incluster_config(client_configuration=configuration)
        else:
            document, _ = settings.kubeconfig_document()
            settings.selected_context()
            path = settings.kubeconfig_path()
            if path is None:
                await config.load_kube_config_from_dict(
                    document, context=settings.context, client_configuration=configuration
                )
            else:
                await config.load_kube_config(
                    config_file=str(path),
                    context=settings.context,
                    client_configuration=configuration,
                    persist_config=False,
                )
    except ConfigException as err:
        raise ConfigError(f"cannot load the Kubernetes configuration: {err}") from None
    settings.configure_tls(configuration)
    return client.ApiClient(configuration)
