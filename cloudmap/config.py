"""cshelve-compatible ini files: one store, or several replicated.

A section describes one store; its `provider` key names the storage service
(`aws-s3`, `azure-blob`, `gcs`, `filesystem`, `in-memory`, or any name a
store registered in `cloudmap.stores` declares). One store, its options in
`[default]`:

```ini
[default]
provider    = aws-s3
bucket_name = my-bucket
auth_type   = access_key
key_id      = $AWS_KEY_ID
key_secret  = $AWS_KEY_SECRET

[compression]
algorithm = zlib
level     = 6

[encryption]
key = $CLOUDMAP_KEY

[provider_params]
endpoint_url = http://127.0.0.1:9000
```

Several stores: `providers = a, b` lists their sections (cshelve's key name;
writes go to all, reads come from the first, as a `ReplicatedMapping`),
`provider_routing = all` (cshelve's `strategy = all` is accepted too), and a
section per store with its own
`[a.compression]`, `[a.encryption]` and `[a.provider_params]`. `$NAME` in any
value reads an environment variable (`$$` is a literal `$`).

`[compression]` takes `algorithm = zlib` (level -1..9) or `zstd` (level 1..22,
the `zstd` extra). `[encryption]` (AES-256-GCM, the `crypto` extra) takes
`key = $VAR`, one base64 key with the id `default`, or `keys = id1, id2` with a
`key.id1 = $VAR` line per id, the first being current; keys must come from
environment variables, never from the file itself.

`provider = in-memory` gives a fresh, empty store on every `open()`, as cshelve
does; `persist-key = NAME` (or `name = NAME`) shares the process-wide store
`memory://NAME` instead.

Every mistake is a `ConfigError` naming the file, the section and the key, with
the closest valid name when one is misspelt; no error ever shows a value from
the file.
"""

from __future__ import annotations

import inspect
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloudmap._env import expand_env, parse_flag
from cloudmap._ini import check_options, parse_file, store_parameters, unknown
from cloudmap._ini_codecs import (
    compression_section,
    encryption_digest,
    encryption_section,
)
from cloudmap.errors import ConfigError
from cloudmap.stores import provider_for_ini, providers, store_class
from cloudmap.stores._protocol import validate_key
from cloudmap.targets import StoreConfig, mapping_of

if TYPE_CHECKING:
    import configparser
    import os
    from collections.abc import Mapping, MutableMapping

    from cloudmap.codecs import Codec

__all__ = ["StoreConfig", "mapping_from_config", "read_config"]

_COMMON = frozenset({"provider", "prefix", "verify"})
_ROUTING = frozenset({"all"})
# [default] options of a file with several stores (`verify` applies to all).
_REPLICATION = frozenset({"providers", "provider_routing", "strategy", "verify"})
_SUBSECTIONS = ("compression", "encryption", "provider_params")
_COMPRESSION = frozenset({"algorithm", "level"})


def __getattr__(name: str) -> Any:
    """`ProviderConfig`, the old name of `StoreConfig`, with a DeprecationWarning."""
    if name == "ProviderConfig":
        warnings.warn(
            "cloudmap.config.ProviderConfig is now StoreConfig",
            DeprecationWarning,
            stacklevel=2,
        )
        return StoreConfig
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


def read_config(path: str | os.PathLike[str]) -> list[StoreConfig]:
    """Parse an ini file into its stores, in order (the first is the primary).

    Raises:
        ConfigError: the file is missing or invalid; the message names the file,
            section and key.
    """
    file = Path(path)
    parser = parse_file(file)
    if not parser.has_section("default"):
        raise ConfigError(f"{file}: missing section [default]")
    default = parser["default"]
    if "providers" not in default:
        _check_sections(file, parser, ["default"])
        return [_store(file, parser, "default", "")]
    for key in default:
        if key not in _REPLICATION:
            unknown(f"{file}: [default]", key, _REPLICATION, "option")
    routing = default.get("provider_routing", default.get("strategy", "all")).strip()
    if routing not in _ROUTING:
        key = "provider_routing" if "provider_routing" in default else "strategy"
        msg = f"{file}: [default] {key} = {routing!r} is not supported (use 'all')"
        raise ConfigError(msg)
    names = [name.strip() for name in default["providers"].split(",") if name.strip()]
    if not names:
        raise ConfigError(f"{file}: [default] providers lists no section")
    for name in names:
        if not parser.has_section(name):
            msg = f"{file}: [default] providers: no [{name}] section for {name!r}"
            raise ConfigError(msg)
    _check_sections(file, parser, ["default", *names])
    return [_store(file, parser, name, f"{name}.") for name in names]


def _check_sections(
    file: Path, parser: configparser.ConfigParser, stores: list[str]
) -> None:
    """Refuse a section no store reads: most often a misspelt name."""
    subs = [f"{name}.{sub}" for name in stores for sub in _SUBSECTIONS]
    if stores == ["default"]:
        subs = list(_SUBSECTIONS)
    known = [*stores, *subs]
    for section in parser.sections():
        if section not in known:
            unknown(f"{file}:", f"[{section}]", [f"[{k}]" for k in known], "section")


def _store(
    file: Path, parser: configparser.ConfigParser, section: str, sub: str
) -> StoreConfig:
    options = dict(parser[section])
    if section == "default":
        for key in ("providers", "provider_routing", "strategy"):
            options.pop(key, None)
    where = f"{file}: [{section}]"
    provider = _provider(options.get("provider"), where=where)
    cls = store_class(provider)
    values = {
        key: expand_env(value, where=f"{where} {key}") for key, value in options.items()
    }
    location_keys: tuple[str, ...] = getattr(cls, "ini_location", ())
    location = next((values[k] for k in location_keys if k in values), "")
    if not location and location_keys and _needs_location(cls):
        raise ConfigError(f"{where} {location_keys[0]}: missing")
    kwargs = _store_kwargs(cls, values, where=where)
    kwargs.update(store_parameters(file, parser, f"{sub}provider_params", cls))
    prefix = values.get("prefix", "").strip("/")
    if prefix:
        try:
            validate_key(prefix)
        except ValueError as exc:
            raise ConfigError(f"{where} prefix: {exc}") from exc
    check_options(file, parser, f"{sub}compression", _COMPRESSION)
    algorithm, compression = compression_section(file, parser, f"{sub}compression")
    # `verify = true` in [default] applies to every store of the file.
    verify = parse_flag(
        values.get("verify", parser["default"].get("verify", "")),
        where=f"{where} verify",
        default=False,
    )
    return StoreConfig(
        section,
        provider,
        location,
        f"{prefix}/" if prefix else "",
        kwargs,
        compression,
        verify,
        algorithm,
        encryption_section(file, parser, f"{sub}encryption"),
        encryption_digest(file, parser, f"{sub}encryption"),
    )


def _needs_location(cls: type[Any]) -> bool:
    """Whether the store's constructor needs its first argument (a memory store not)."""
    first = next(iter(inspect.signature(cls).parameters.values()))
    return first.default is inspect.Parameter.empty


def _provider(kind: str | None, *, where: str) -> str:
    """The registered provider whose store declares `provider = kind`."""
    if kind is None:
        raise ConfigError(f"{where} provider: missing")
    provider = provider_for_ini(kind.strip())
    if provider is None:
        names = [
            n for p in providers() for n in getattr(store_class(p), "ini_providers", ())
        ]
        msg = f"{where} provider: unknown provider {kind!r} (known: {', '.join(names)})"
        raise ConfigError(msg)
    return provider


def _store_kwargs(
    cls: type[Any], values: Mapping[str, str], *, where: str
) -> dict[str, Any]:
    """The store's constructor arguments from its section's options."""
    known: Mapping[str, str] = getattr(cls, "ini_options", {})
    accepted = {*known, *getattr(cls, "ini_location", ()), *_COMMON}
    for key in values:
        if key not in accepted:
            unknown(where, key, accepted, "option")
    kwargs: dict[str, Any] = {
        known[key]: value for key, value in values.items() if known.get(key)
    }
    ini_arguments = getattr(cls, "ini_arguments", None)
    if ini_arguments is not None:
        kwargs.update(ini_arguments(values, where=where))
    return kwargs


def mapping_from_config(
    path: str | os.PathLike[str],
    *,
    codec: Codec,
    create: bool = False,
    read_only: bool = False,
) -> MutableMapping[str, Any]:
    """Build the mapping an ini file describes: a CloudMapping or ReplicatedMapping.

    Each store gets `codec`, followed by the compressor its compression
    section asks for, then the encryption its encryption section asks for.
    `read_only` opens local directories without creating or changing anything.
    """
    configs = read_config(path)
    return mapping_of(configs, codec=codec, create=create, read_only=read_only)
