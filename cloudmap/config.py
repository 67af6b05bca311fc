"""cshelve-compatible ini files: one provider, or several replicated.

One provider, its options in `[default]`:

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

Several providers: `providers = a, b` (writes go to all, reads come from the
first, as a `ReplicatedMapping`), `provider_routing = all` (cshelve's
`strategy = all` is accepted too), and a section per provider with its own
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

import configparser
import difflib
import importlib
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloudmap._ini_codecs import (
    compression_section,
    encryption_digest,
    encryption_section,
)
from cloudmap.codecs import Codec, zlib, zstd
from cloudmap.errors import ConfigError
from cloudmap.mapping import CloudMapping
from cloudmap.stores._protocol import Store, validate_key
from cloudmap.stores.memory import MemoryStore
from cloudmap.targets import build_store, expand_env, parse_flag, store_class

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable, Mapping, MutableMapping
    from typing import NoReturn

__all__ = ["ProviderConfig", "mapping_from_config", "read_config"]

_PROVIDERS = {
    "aws-s3": "s3",
    "azure-blob": "azure",
    "gcs": "gcs",
    "filesystem": "local",
    "in-memory": "memory",
}
# ini option -> store constructor argument, per provider (None: handled apart).
_OPTIONS: dict[str, dict[str, str | None]] = {
    "s3": {
        "bucket_name": None,
        "auth_type": None,
        "key_id": "aws_access_key_id",
        "key_secret": "aws_secret_access_key",
        "endpoint_url": "endpoint_url",
        "region": "region_name",
        "engine": "engine",
    },
    "azure": {
        "container_name": None,
        "auth_type": None,
        "environment_key": None,
        "account_url": "account_url",
        "engine": "engine",
    },
    "gcs": {"bucket_name": None, "project": "project", "endpoint_url": "endpoint_url"},
    "local": {"folder_path": None},
    "memory": {"name": None, "persist-key": None},
}
_LOCATION = {
    "s3": "bucket_name",
    "azure": "container_name",
    "gcs": "bucket_name",
    "local": "folder_path",
    "memory": "name",
}
_COMMON = frozenset({"provider", "prefix", "verify"})
_ROUTING = frozenset({"all"})
# [default] options of a file with several providers (`verify` applies to all).
_REPLICATION = frozenset({"providers", "provider_routing", "strategy", "verify"})
_SUBSECTIONS = ("compression", "encryption", "provider_params")
_COMPRESSION = frozenset({"algorithm", "level"})


@dataclass(frozen=True)
class ProviderConfig:
    """One provider's section, resolved: store arguments, compression, encryption."""

    section: str
    provider: str
    location: str
    prefix: str
    kwargs: Mapping[str, Any] = field(repr=False)
    compression: int | None
    verify: bool = False
    algorithm: str = "zlib"
    encryption: Codec | None = field(default=None, repr=False)
    key_digest: str = field(default="", repr=False)

    def __repr__(self) -> str:
        # Option names only: values may be credentials.
        return (
            f"ProviderConfig(section={self.section!r}, provider={self.provider!r}, "
            f"location={self.location!r}, prefix={self.prefix!r}, "
            f"options={sorted(self.kwargs)!r}, compression={self.compression!r}, "
            f"algorithm={self.algorithm!r}, verify={self.verify!r}, "
            f"encrypted={self.encryption is not None!r})"
        )

    def open_store(self, *, create: bool, read_only: bool = False) -> Store:
        """Construct this provider's store (a fresh one for unnamed in-memory).

        `read_only` opens a local directory without creating or changing anything.
        """
        if self.provider == "memory" and not self.location:
            return MemoryStore()
        kwargs = dict(self.kwargs)
        if read_only and self.provider == "local":
            kwargs["read_only"] = True
        return build_store(self.provider, self.location, kwargs, create=create)

    def codec(self, base: Codec) -> Codec:
        """`base` followed by this provider's compression, then its encryption."""
        chain = base
        if self.compression is not None:
            compress = zstd if self.algorithm == "zstd" else zlib
            chain |= compress(self.compression)
        if self.encryption is not None:
            chain |= self.encryption
        return chain

    def codec_difference(self, other: ProviderConfig) -> str | None:
        """`"compression"` or `"encryption"` when `other` stores other bytes, or None.

        Compared: the compressor and its level, then the key ids and keys.
        """
        mine = (self.compression is not None and self.algorithm, self.compression)
        theirs = (other.compression is not None and other.algorithm, other.compression)
        if mine != theirs:
            return "compression"
        if self.key_digest != other.key_digest:
            return "encryption"
        return None


def read_config(path: str | os.PathLike[str]) -> list[ProviderConfig]:
    """Parse an ini file into its providers, in order (the first is the primary).

    Raises:
        ConfigError: the file is missing or invalid; the message names the file,
            section and key.
    """
    file = Path(path)
    parser = _parse(file)
    if not parser.has_section("default"):
        raise ConfigError(f"{file}: missing section [default]")
    default = parser["default"]
    if "providers" not in default:
        _check_sections(file, parser, ["default"])
        return [_provider(file, parser, "default", "")]
    for key in default:
        if key not in _REPLICATION:
            _unknown(f"{file}: [default]", key, _REPLICATION, "option")
    routing = default.get("provider_routing", default.get("strategy", "all")).strip()
    if routing not in _ROUTING:
        key = "provider_routing" if "provider_routing" in default else "strategy"
        msg = f"{file}: [default] {key} = {routing!r} is not supported (use 'all')"
        raise ConfigError(msg)
    names = [name.strip() for name in default["providers"].split(",") if name.strip()]
    if not names:
        raise ConfigError(f"{file}: [default] providers lists no provider")
    for name in names:
        if not parser.has_section(name):
            msg = f"{file}: [default] providers: no [{name}] section for {name!r}"
            raise ConfigError(msg)
    _check_sections(file, parser, ["default", *names])
    return [_provider(file, parser, name, f"{name}.") for name in names]


def _parse(file: Path) -> configparser.ConfigParser:
    """Read `file`; a parse error names the line, never its text.

    The error is raised outside the handler, so it chains nothing that holds a
    line of the file (a secret may be on it).
    """
    parser = configparser.ConfigParser(interpolation=None)
    problem = None
    try:
        with file.open(encoding="utf-8") as handle:
            parser.read_file(handle)
    except OSError as exc:
        problem = f"cannot read the configuration: {exc.strerror or type(exc).__name__}"
    except UnicodeDecodeError as exc:
        problem = f"not UTF-8 text (byte {exc.start})"
    except configparser.MissingSectionHeaderError as exc:
        problem = f"line {exc.lineno}: an option before any [section] header"
    except configparser.ParsingError as exc:
        lines = ", ".join(str(lineno) for lineno, _ in exc.errors)
        problem = f"line {lines}: not 'option = value' nor a [section] header"
    except configparser.DuplicateSectionError as exc:
        problem = f"line {exc.lineno}: section [{exc.section}] appears twice"
    except configparser.DuplicateOptionError as exc:
        problem = (
            f"line {exc.lineno}: option {exc.option!r} appears twice in [{exc.section}]"
        )
    except configparser.Error as exc:
        problem = f"cannot parse the configuration ({type(exc).__name__})"
    if problem is not None:
        raise ConfigError(f"{file}: {problem}")
    return parser


def _check_sections(
    file: Path, parser: configparser.ConfigParser, providers: list[str]
) -> None:
    """Refuse a section no provider reads: most often a misspelt name."""
    subs = [f"{name}.{sub}" for name in providers for sub in _SUBSECTIONS]
    if providers == ["default"]:
        subs = list(_SUBSECTIONS)
    known = [*providers, *subs]
    for section in parser.sections():
        if section not in known:
            _unknown(f"{file}:", f"[{section}]", [f"[{k}]" for k in known], "section")


def _check_options(
    file: Path, parser: configparser.ConfigParser, section: str, known: Iterable[str]
) -> None:
    if parser.has_section(section):
        for key in parser[section]:
            if key not in known:
                _unknown(f"{file}: [{section}]", key, known, "option")


def _unknown(where: str, name: str, known: Iterable[str], what: str) -> NoReturn:
    """Raise the ConfigError for an unknown option or section, suggesting one."""
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    msg = f"{where} {name}: unknown {what} ({hint}known: {', '.join(names)})"
    raise ConfigError(msg)


def _provider(
    file: Path, parser: configparser.ConfigParser, section: str, sub: str
) -> ProviderConfig:
    options = dict(parser[section])
    if section == "default":
        for key in ("providers", "provider_routing", "strategy"):
            options.pop(key, None)
    where = f"{file}: [{section}]"
    provider = _kind(options.get("provider"), where=where)
    values = {
        key: expand_env(value, where=f"{where} {key}") for key, value in options.items()
    }
    location_key = _LOCATION[provider]
    if provider == "memory":
        location = values.get("persist-key", values.get("name", ""))
    else:
        location = values.get(location_key, "")
        if not location:
            raise ConfigError(f"{where} {location_key}: missing")
    kwargs = _store_kwargs(provider, values, where=where)
    kwargs.update(_params(file, parser, f"{sub}provider_params", provider))
    prefix = values.get("prefix", "").strip("/")
    if prefix:
        try:
            validate_key(prefix)
        except ValueError as exc:
            raise ConfigError(f"{where} prefix: {exc}") from exc
    _check_options(file, parser, f"{sub}compression", _COMPRESSION)
    algorithm, compression = compression_section(file, parser, f"{sub}compression")
    # `verify = true` in [default] applies to every provider of the file.
    verify = parse_flag(
        values.get("verify", parser["default"].get("verify", "")),
        where=f"{where} verify",
        default=False,
    )
    return ProviderConfig(
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


def _kind(kind: str | None, *, where: str) -> str:
    if kind is None:
        raise ConfigError(f"{where} provider: missing")
    provider = _PROVIDERS.get(kind.strip())
    if provider is None:
        known = ", ".join(_PROVIDERS)
        msg = f"{where} provider: unknown provider {kind!r} (known: {known})"
        raise ConfigError(msg)
    return provider


def _store_kwargs(
    provider: str, values: Mapping[str, str], *, where: str
) -> dict[str, Any]:
    """The store's constructor arguments from a provider section's options."""
    known = _OPTIONS[provider]
    for key in values:
        if key not in known and key not in _COMMON:
            _unknown(where, key, {*known, *_COMMON}, "option")
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        argument = known.get(key)
        if argument is not None:
            kwargs[argument] = value
    if provider == "azure":
        kwargs.update(_azure_auth(values, where=where))
    auth = values.get("auth_type", "access_key")
    if provider == "s3" and auth not in {"access_key", "passwordless"}:
        msg = f"{where} auth_type: {auth!r} is not one of access_key, passwordless"
        raise ConfigError(msg)
    return kwargs


def _azure_auth(values: Mapping[str, str], *, where: str) -> dict[str, Any]:
    """Cshelve's Azure auth types, mapped onto AzureBlobStore's arguments."""
    auth = values.get("auth_type", "passwordless")
    if auth == "connection_string":
        variable = values.get("environment_key", "AZURE_STORAGE_CONNECTION_STRING")
        return {
            "connection_string": expand_env(
                f"${{{variable}}}", where=f"{where} environment_key"
            )
        }
    if auth == "access_key":
        variable = values.get("environment_key", "AZURE_STORAGE_ACCESS_KEY")
        return {
            "credential": expand_env(
                f"${{{variable}}}", where=f"{where} environment_key"
            )
        }
    if auth in {"passwordless", "anonymous"}:
        # The store falls back on the SDK's default credential chain.
        return {}
    msg = (
        f"{where} auth_type: {auth!r} is not one of "
        "access_key, connection_string, passwordless, anonymous"
    )
    raise ConfigError(msg)


def _params(
    file: Path, parser: configparser.ConfigParser, section: str, provider: str
) -> dict[str, Any]:
    """The store's own constructor arguments: names checked, bool and int parsed.

    A store that passes unknown keyword arguments on to its SDK client (Azure)
    takes any name; those values stay strings.
    """
    if not parser.has_section(section):
        return {}
    where = f"{file}: [{section}]"
    signature = inspect.signature(store_class(provider)).parameters.values()
    parameters = {
        parameter.name: str(parameter.annotation)
        for parameter in signature
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
        and parameter.name != "create"
    }
    open_ended = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature)
    params: dict[str, Any] = {}
    for key, value in parser[section].items():
        if key not in parameters and not open_ended:
            _unknown(where, key, parameters, "option")
        text = expand_env(value.strip().strip('"'), where=f"{where} {key}")
        params[key] = _typed(text, parameters.get(key, ""), where=f"{where} {key}")
    return params


def _typed(text: str, annotation: str, *, where: str) -> object:
    """`text` as the parameter's annotated type: bool and int are parsed."""
    kinds = {kind.strip() for kind in annotation.split("|")}
    if "bool" in kinds:
        if not text.strip():
            raise ConfigError(f"{where}: not a boolean (use true or false)")
        return parse_flag(text, where=where, default=False)
    if "int" in kinds:
        try:
            return int(text)
        except ValueError:
            raise ConfigError(f"{where}: not an integer") from None
    return text


def mapping_from_config(
    path: str | os.PathLike[str],
    *,
    codec: Codec,
    create: bool = False,
    read_only: bool = False,
) -> MutableMapping[str, Any]:
    """Build the mapping an ini file describes: a CloudMapping or ReplicatedMapping.

    Each provider gets `codec`, followed by the compressor its compression
    section asks for, then the encryption its encryption section asks for.
    `read_only` opens local directories without creating or changing anything.
    """
    providers = read_config(path)
    mappings: list[CloudMapping[Any]] = []
    for provider in providers:
        chain = provider.codec(codec)
        store = provider.open_store(create=create, read_only=read_only)
        try:
            mapping: CloudMapping[Any] = CloudMapping(
                store,
                codec=chain,
                key_prefix=provider.prefix,
                # Probes write; a read-only open never does: nothing to verify.
                verify=provider.verify and not read_only,
            )
        except BaseException:
            store.close()
            raise
        mappings.append(mapping)
    if len(mappings) == 1:
        return mappings[0]
    # Imported here: replication is only needed by multi-provider files.
    replication = importlib.import_module("cloudmap.replication")
    replicated: MutableMapping[str, Any] = replication.ReplicatedMapping(mappings)
    return replicated
