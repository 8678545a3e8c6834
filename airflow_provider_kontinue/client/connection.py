"""Where the client connects: kubeconfig (file or dict), context, in-cluster, TLS, default namespace.

:func:`load_access` reads :class:`ConnectionSettings` with the ``kubernetes`` package's config
loaders (contexts, clusters, client certificates, ``*-data`` fields, auth providers, in-cluster) and
turns them into an :class:`Access`: the server, an SSL context, and :class:`~.credentials.Credentials`
that renew exec-plugin tokens and token files while the client lives. Both clients use it, and
every problem (no kubeconfig, unknown context, a missing CA file, an exec plugin that fails, an
unreadable token file) is a :class:`~.errors.ConfigError` that names the file or plugin and the
fix, raised when the client is made, before any request.

The ``kubernetes`` package is imported here only when a client connects: its generated models
weigh about 40 MiB, which a triggerer that merely imports the provider does not pay.
"""

from __future__ import annotations

import copy
import logging
import os
import ssl
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .credentials import ConfigurationKey, Credentials, ExecPlugin, Source, StaticHeader, TokenFile
from .errors import ConfigError

log = logging.getLogger(__name__)

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
"""Where the kubelet mounts a pod's service-account token, CA and namespace."""
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
                return (SERVICE_ACCOUNT_DIR / "namespace").read_text().strip() or "default"
            except OSError:
                return "default"
        context, _ = self.selected_context()
        namespace = context.get("namespace")
        return str(namespace) if namespace else "default"


def _default_kubeconfig_path() -> Path:
    first = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    return Path(first).expanduser() if first else Path.home() / ".kube" / "config"


@dataclass(frozen=True)
class Access:
    """What a transport needs to reach the API server as one user.

    ``configuration`` is the loaded ``kubernetes.client.Configuration``, for
    :meth:`~.operations.ClientBase.kube_client`; its API key follows ``credentials``.
    """

    server: str
    tls: ssl.SSLContext
    credentials: Credentials
    configuration: Any
    tls_server_name: str | None = None
    proxy: str | None = None

    def __repr__(self) -> str:  # the configuration holds the token: never print it
        return f"Access(server={self.server!r}, user={self.credentials.user!r})"


def load_access(settings: ConnectionSettings) -> Access:
    """Load ``settings`` into an :class:`Access`; may block (files, an exec plugin): the async
    client calls it in a worker thread. The credentials are issued once here, so that a plugin or
    token file that does not work fails now, naming itself."""
    from kubernetes.client import Configuration
    from kubernetes.config.config_exception import ConfigException

    configuration = Configuration()
    try:
        if settings.use_in_cluster():
            source, user = _load_in_cluster(configuration)
        else:
            source, user = _load_kubeconfig(settings, configuration)
    except ConfigException as err:
        raise ConfigError(f"cannot load the Kubernetes configuration: {err}") from None
    if not settings.verify_ssl:
        warnings.warn(TLS_DISABLED_WARNING, stacklevel=3)
        log.warning(TLS_DISABLED_WARNING)
        configuration.verify_ssl = False
    credentials = Credentials(source, user)
    credentials.renew()
    _follow(configuration, credentials)
    return access_from_configuration(configuration, credentials)


def access_from_configuration(configuration: Any, credentials: Credentials | None = None) -> Access:
    """An :class:`Access` for a ``kubernetes.client.Configuration`` (what ``from_kube_client``
    is given); its refresh hook, if any, renews the key."""
    if credentials is None:
        credentials = Credentials(ConfigurationKey(configuration), "the user of the given ApiClient")
        credentials.renew()
    return Access(
        server=str(configuration.host).rstrip("/"),
        tls=_tls_context(configuration),
        credentials=credentials,
        configuration=configuration,
        tls_server_name=getattr(configuration, "tls_server_name", None) or None,
        proxy=configuration.proxy or None,
    )


def _load_in_cluster(configuration: Any) -> tuple[Source, str]:
    from kubernetes.config.incluster_config import InClusterConfigLoader

    token = SERVICE_ACCOUNT_DIR / "token"
    InClusterConfigLoader(
        token_filename=str(token), cert_filename=str(SERVICE_ACCOUNT_DIR / "ca.crt"), try_refresh_token=False
    ).load_and_set(configuration)
    configuration.api_key.pop("BearerToken", None)  # read by the TokenFile source, again and again
    return TokenFile(token, "service-account token file"), "the pod's service account"


def _load_kubeconfig(settings: ConnectionSettings, configuration: Any) -> tuple[Source, str]:
    """Load the kubeconfig with the ``kubernetes`` loader, keeping back what must renew: the user's
    exec plugin and token file become sources of our own (the loader would run or read them once)."""
    from kubernetes.config.kube_config import KubeConfigLoader

    document, origin = settings.kubeconfig_document()
    context, _ = settings.selected_context()
    path = settings.kubeconfig_path()
    base = str(path.parent.absolute()) if path is not None else ""
    user_name = context.get("user")
    document = copy.deepcopy(document)
    user: dict[str, Any] = {}
    for entry in document.get("users") or []:
        if isinstance(entry, dict) and entry.get("name") == user_name and isinstance(entry.get("user"), dict):
            user = entry["user"]
    clusters = [c for c in document.get("clusters") or [] if isinstance(c, dict)]
    cluster = next((c.get("cluster") or {} for c in clusters if c.get("name") == context.get("cluster")), {})
    exec_config = user.pop("exec", None)
    token_file = user.pop("tokenFile", None) if not user.get("token") else None
    KubeConfigLoader(document, active_context=settings.context, config_base_path=base or None).load_and_set(
        configuration
    )
    who = f"the kubeconfig user {user_name!r} of {origin}"
    if isinstance(exec_config, Mapping):
        plugin = ExecPlugin(exec_config, base, cluster)
        status = plugin.run()
        if "clientCertificateData" in status and not status.get("token"):
            _use_exec_certificates(configuration, status)
            return StaticHeader(None), who
        plugin.prime(status)
        return plugin, who
    if token_file:
        return TokenFile(Path(base or ".", str(token_file)).expanduser()), who
    if configuration.api_key.get("BearerToken") or getattr(configuration, "refresh_api_key_hook", None):
        return ConfigurationKey(configuration), who
    return StaticHeader(None), who


def _use_exec_certificates(configuration: Any, status: Mapping[str, Any]) -> None:
    from kubernetes.config.kube_config import FileOrData

    for attribute, key in (("cert_file", "clientCertificateData"), ("key_file", "clientKeyData")):
        if key not in status:
            raise ConfigError(f"the exec credential plugin printed a client certificate without {key}")
        data = FileOrData(status, None, data_key_name=key, base64_file_content=False)
        setattr(configuration, attribute, data.as_file())


def _follow(configuration: Any, credentials: Credentials) -> None:
    """Keep ``configuration``'s API key (what ``kube_client()`` sends) at the renewed header."""
    if isinstance(credentials.source, ConfigurationKey):
        return

    def refresh(config: Any) -> None:
        header = credentials.header()
        if header:
            config.api_key["BearerToken"] = header
        else:
            config.api_key.pop("BearerToken", None)

    configuration.refresh_api_key_hook = refresh


def _tls_context(configuration: Any) -> ssl.SSLContext:
    """The SSL context for ``configuration``: its CA (or the system's), its client certificate."""
    if not configuration.verify_ssl:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        ca = configuration.ssl_ca_cert
        try:
            context = ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()
        except FileNotFoundError:
            raise ConfigError(
                f"the certificate-authority file {ca} does not exist; fix the path in the kubeconfig"
            ) from None
        except (OSError, ssl.SSLError) as err:
            raise ConfigError(
                f"the certificate-authority file {ca} is not a PEM certificate ({type(err).__name__})"
            ) from None
    if configuration.cert_file:
        try:
            context.load_cert_chain(configuration.cert_file, configuration.key_file)
        except FileNotFoundError:
            raise ConfigError(
                f"the client certificate {configuration.cert_file} or its key {configuration.key_file} "
                "does not exist; fix client-certificate / client-key in the kubeconfig"
            ) from None
        except (OSError, ssl.SSLError) as err:
            raise ConfigError(
                f"the client certificate {configuration.cert_file} and key {configuration.key_file} "
                f"cannot be loaded ({type(err).__name__}); check that they are PEM and belong together"
            ) from None
    return context
