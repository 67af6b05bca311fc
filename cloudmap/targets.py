"""Targets: which store a path or URL names, and the key prefix inside it.

| target | store |
|---|---|
| `path/to/dir`, `file:///abs/dir` | `LocalStore` (`?fsync=false`) |
| `memory://name/prefix` | a process-wide `MemoryStore` registered under `name` |
| `s3://bucket/prefix` | `S3Store` (`?endpoint=`, `?region=`, `?engine=`, ...) |
| `az://container/prefix` | `AzureBlobStore` (`?account=`, `?endpoint=`, `?engine=`) |
| `gs://bucket/prefix` | `GCSStore` (`?project=`, `?endpoint=`) |

Every URL also takes `?create=true` and `?verify=1` (a mapping opened on it
first checks that the server enforces every precondition, see
`cloudmap.verify`). Credentials come from each SDK's usual chain (environment,
profile, managed identity); docs/providers/index.md lists where each scheme
looks, in order. A secret option
(`access_key`, `secret_key`, `session_token`, `connection_string`,
`account_key`, `sas_token`) must be a `$NAME` reference to an environment
variable, so a URL never carries a secret into a log. Cloud SDKs are imported
only when a URL of theirs is opened.
"""

from __future__ import annotations

import importlib
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from cloudmap.errors import ConfigError
from cloudmap.stores.local import LocalStore
from cloudmap.stores.memory import MemoryStore

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from cloudmap.stores._protocol import Store

__all__ = [
    "Target",
    "build_store",
    "expand_env",
    "memory_store",
    "open_store",
    "parse_flag",
    "parse_target",
    "store_class",
    "verify_requested",
]

_MEMORY_LOCK = threading.Lock()
_MEMORY: dict[str, MemoryStore] = {}

_SECRETS = frozenset(
    {
        "access_key",
        "secret_key",
        "session_token",
        "connection_string",
        "account_key",
        "sas_token",
    }
)
_ENV_REFERENCE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
# `$$` is a literal `$`; `$NAME` and `${NAME}` read the environment.
_EXPANSION = re.compile(r"\$(?:(\$)|\{(\w+)\}|(\w+))")
# Query parameters that carry a secret, by name, whatever the provider.
_SECRET_NAME = re.compile(r"secret|passw|token|key|sig|credential|sas", re.IGNORECASE)
_SCHEMES = {"file": "local", "memory": "memory", "s3": "s3", "az": "azure", "gs": "gcs"}


def memory_store(name: str) -> MemoryStore:
    """The process-wide `MemoryStore` registered under `name`, created on first use.

    Every `memory://name` target in one process shares it, as clients of one
    server do.
    """
    with _MEMORY_LOCK:
        store = _MEMORY.get(name)
        if store is None:
            store = _MEMORY[name] = MemoryStore(name)
        return store


def expand_env(value: str, *, where: str) -> str:
    """Replace `$NAME` and `${NAME}` with environment variables, `$$` with `$`.

    Raises:
        ConfigError: a referenced variable is not set; the message names `where`.
    """

    def lookup(match: re.Match[str]) -> str:
        if match.group(1):
            return "$"
        name = match.group(2) or match.group(3)
        found = os.environ.get(name)
        if found is None:
            msg = f"{where}: environment variable {name!r} is not set"
            raise ConfigError(msg)
        return found

    return _EXPANSION.sub(lookup, value)


@dataclass(frozen=True)
class Target:
    """A parsed target: the provider, its bucket (or directory), a key prefix, options.

    `options` hold the raw query parameters, `$NAME` references unexpanded, so a
    `Target` can be printed or logged safely.
    """

    provider: str
    location: str
    prefix: str = ""
    options: Mapping[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        scheme = {v: k for k, v in _SCHEMES.items()}[self.provider]
        if self.provider == "local":
            return f"file://{self.location}"
        return f"{scheme}://{self.location}/{self.prefix}".rstrip("/")


def parse_target(target: str | os.PathLike[str]) -> Target:
    """Parse a path or URL into a `Target`.

    Raises:
        ConfigError: unknown scheme, missing bucket, credentials in the URL, or a
            literal secret in a query parameter.

    Examples:
        >>> target = parse_target("s3://bucket/runs/1?region=eu-west-1")
        >>> target.provider, target.location, target.prefix, target.options
        ('s3', 'bucket', 'runs/1/', {'region': 'eu-west-1'})
    """
    text = os.fspath(target)
    if "://" not in text:
        return Target("local", str(Path(text).expanduser()))
    parts = urlsplit(text)
    shown = _shown(parts.scheme, parts.hostname, parts.path)
    provider = _SCHEMES.get(parts.scheme)
    if provider is None:
        known = ", ".join(f"{s}://" for s in _SCHEMES)
        msg = (
            f"target {shown!r}: unknown scheme {parts.scheme!r} (use a path or {known})"
        )
        raise ConfigError(msg)
    if parts.username is not None or parts.password is not None:
        msg = (
            f"target {parts.scheme}://...@{parts.hostname}: credentials do not belong "
            "in a URL; use the SDK's credential chain or a $NAME query parameter"
        )
        raise ConfigError(msg)
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    for key, value in options.items():
        secret = key in _SECRETS or _SECRET_NAME.search(key)
        if secret and not _ENV_REFERENCE.fullmatch(value):
            msg = (
                f"target {shown}: option {key!r} must be a $NAME reference to an "
                "environment variable, not the secret itself"
            )
            raise ConfigError(msg)
    path = unquote(parts.path)
    if provider == "local":
        location = unquote(parts.netloc) + path
        if not location:
            raise ConfigError(f"target {shown!r}: no directory given")
        return Target("local", str(Path(location).expanduser()), "", options)
    location = unquote(parts.netloc)
    if not location:
        msg = (
            f"target {shown!r}: no {'name' if provider == 'memory' else 'bucket'} given"
        )
        raise ConfigError(msg)
    prefix = path.strip("/")
    return Target(provider, location, f"{prefix}/" if prefix else "", options)


def _shown(scheme: str, host: str | None, path: str) -> str:
    """A URL as errors may show it: no user, password or query parameters."""
    return f"{scheme}://{host or ''}{path}"


def open_store(
    target: str | os.PathLike[str] | Target,
    *,
    create: bool = False,
    read_only: bool = False,
) -> tuple[Store, str]:
    """Open the store a target names; return it with the key prefix to use.

    `read_only` opens a local directory without creating or changing anything.

    Raises:
        ConfigError: the target or one of its options is invalid.
    """
    parsed = target if isinstance(target, Target) else parse_target(target)
    where = f"target {parsed}"
    options = dict(parsed.options)
    create = parse_flag(options.pop("create", ""), where=where, default=create)
    verify_requested(parsed)  # a bad value fails here; the mapping acts on it
    options.pop("verify", None)
    kwargs: dict[str, Any] = {}
    for key, value in options.items():
        option, converter = _url_option(parsed.provider, key, where=where)
        kwargs[option] = converter(expand_env(value, where=f"{where}, option {key!r}"))
    if read_only and parsed.provider == "local":
        kwargs["read_only"] = True
    return build_store(
        parsed.provider, parsed.location, kwargs, create=create
    ), parsed.prefix


def verify_requested(target: Target) -> bool:
    """Whether the target asks mappings to verify the server first (`?verify=1`).

    Raises:
        ConfigError: the value is not a boolean.
    """
    value = target.options.get("verify")
    if value is None:
        return False
    return parse_flag(value, where=f"target {target}, option 'verify'", default=True)


def build_store(
    provider: str, location: str, kwargs: Mapping[str, Any], *, create: bool
) -> Store:
    """Construct the store of `provider` (local, memory, s3, azure, gcs).

    `location` is the directory, memory name, bucket or container; `kwargs` go
    to the store's constructor. Cloud stores are imported here, lazily.

    Raises:
        ConfigError: the provider is unknown.
        MissingDependencyError: its SDK is not installed (names the extra).
    """
    if provider == "local":
        return LocalStore(location, create=create, **kwargs)
    if provider == "memory":
        return memory_store(location)
    options = dict(kwargs)
    if create:
        options["create"] = True
    store: Store = store_class(provider)(location, **options)
    return store


def store_class(provider: str) -> Callable[..., Store]:
    """The store class of `provider` (local, memory, s3, azure, gcs), imported lazily.

    Raises:
        ConfigError: the provider is unknown.
        MissingDependencyError: its SDK is not installed (names the extra).
    """
    if provider == "local":
        return LocalStore
    if provider == "memory":
        return MemoryStore
    if provider not in _CLOUD:
        raise ConfigError(f"unknown provider {provider!r}")
    module_name, class_name = _CLOUD[provider]
    module = importlib.import_module(module_name)  # its store imports the SDK
    cls: Callable[..., Store] = getattr(module, class_name)
    return cls


# provider -> (module, class); imported only when a target needs it.
_CLOUD = {
    "s3": ("cloudmap.stores.s3", "S3Store"),
    "azure": ("cloudmap.stores.azure", "AzureBlobStore"),
    "gcs": ("cloudmap.stores.gcs", "GCSStore"),
}

# URL query parameter -> constructor argument, per provider.
_URL_OPTIONS: dict[str, dict[str, str]] = {
    "local": {"fsync": "fsync"},
    "memory": {},
    "s3": {
        "endpoint": "endpoint_url",
        "endpoint_url": "endpoint_url",
        "region": "region_name",
        "access_key": "aws_access_key_id",
        "secret_key": "aws_secret_access_key",
        "session_token": "aws_session_token",
        "addressing_style": "addressing_style",
        "request_checksum_calculation": "request_checksum_calculation",
        "response_checksum_validation": "response_checksum_validation",
        "engine": "engine",
    },
    "azure": {
        "account": "account_name",
        "endpoint": "account_url",
        "account_url": "account_url",
        "connection_string": "connection_string",
        "account_key": "credential",
        "sas_token": "credential",
        "engine": "engine",
    },
    "gcs": {
        "project": "project",
        "endpoint": "endpoint_url",
        "endpoint_url": "endpoint_url",
    },
}
_BOOLEAN_OPTIONS = frozenset({"fsync"})


def _url_option(
    provider: str, key: str, *, where: str
) -> tuple[str, Callable[[str], Any]]:
    known = _URL_OPTIONS[provider]
    if key not in known:
        allowed = ", ".join(sorted({*known, "create", "verify"}))
        msg = f"{where}: unknown option {key!r} (known: {allowed})"
        raise ConfigError(msg)
    if key in _BOOLEAN_OPTIONS:
        return known[key], lambda value: parse_flag(
            value, where=f"{where}, option {key!r}", default=True
        )
    return known[key], str


def parse_flag(value: str, *, where: str, default: bool) -> bool:
    """Read a boolean option (true/false, 1/0, yes/no, on/off); empty is `default`.

    Raises:
        ConfigError: the value is not a boolean; the message names `where`.
    """
    lowered = value.strip().lower()
    if not lowered:
        return default
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{where}: {value!r} is not a boolean (true or false)")
