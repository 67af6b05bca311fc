"""Target URLs: which provider, bucket (or directory) and key prefix a URL names."""

from __future__ import annotations

import inspect
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from cloudmap._env import expand_env, parse_flag
from cloudmap.errors import ConfigError
from cloudmap.stores import provider_for_scheme, providers, store_class

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = ["Target", "parse_target", "url_arguments", "verify_requested"]

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
# Query parameters that carry a secret, by name, whatever the provider.
_SECRET_NAME = re.compile(r"secret|passw|token|key|sig|credential|sas", re.IGNORECASE)


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
        schemes = getattr(store_class(self.provider), "url_schemes", ())
        scheme = schemes[0] if schemes else self.provider
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
    provider = provider_for_scheme(parts.scheme)
    if provider is None:
        schemes = [
            s for p in providers() for s in getattr(store_class(p), "url_schemes", ())
        ]
        known = ", ".join(f"{s}://" for s in schemes)
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


def url_arguments(parsed: Target) -> tuple[dict[str, Any], bool | None]:
    """The store's constructor arguments a URL's options give, and its `?create=`.

    `$NAME` references are read from the environment; booleans are parsed.
    `create` is None when the URL does not say (the caller decides).

    Raises:
        ConfigError: an unknown option, an unset variable or a bad boolean.
    """
    where = f"target {parsed}"
    options = dict(parsed.options)
    flag = options.pop("create", "")
    create = parse_flag(flag, where=where, default=False) if flag.strip() else None
    verify_requested(parsed)  # a bad value fails here
    options.pop("verify", None)
    cls = store_class(parsed.provider)
    known: dict[str, str] = dict(getattr(cls, "url_options", {}))
    arguments: dict[str, Any] = {}
    for key, value in options.items():
        if key not in known:
            allowed = ", ".join(sorted({*known, "create", "verify"}))
            msg = f"{where}: unknown option {key!r} (known: {allowed})"
            raise ConfigError(msg)
        option = f"{where}, option {key!r}"
        convert = _converter(cls, known[key], where=option)
        arguments[known[key]] = convert(expand_env(value, where=option))
    return arguments, create


def _converter(cls: type[Any], argument: str, *, where: str) -> Callable[[str], Any]:
    """A URL value as the constructor argument's type: booleans are parsed."""
    parameter = inspect.signature(cls).parameters.get(argument)
    if parameter is not None and str(parameter.annotation) == "bool":
        return lambda value: parse_flag(value, where=where, default=True)
    return str


def verify_requested(target: Target) -> bool:
    """Whether the target asks mappings to verify the server first (`?verify=1`).

    Raises:
        ConfigError: the value is not a boolean.
    """
    value = target.options.get("verify")
    if value is None:
        return False
    return parse_flag(value, where=f"target {target}, option 'verify'", default=True)
