"""Targets: the one way to turn a path, URL, ini file or store into stores to open.

| target | store |
|---|---|
| `path/to/dir`, `file:///abs/dir` | `LocalStore` (`?fsync=false`) |
| `memory://name/prefix` | a process-wide `MemoryStore` registered under `name` |
| `s3://bucket/prefix` | `S3Store` (`?endpoint=`, `?region=`, `?engine=`, ...) |
| `az://container/prefix` | `AzureBlobStore` (`?account=`, `?endpoint=`, `?engine=`) |
| `gs://bucket/prefix` | `GCSStore` (`?project=`, `?endpoint=`) |
| `path/to/file.ini` | each store its sections describe (see `cloudmap.config`) |

Every URL also takes `?create=true` and `?verify=1` (a mapping opened on it
first checks that the server enforces every precondition, see
`cloudmap.verify`). Credentials come from each SDK's usual chain (environment,
profile, managed identity); docs/providers/index.md lists where each scheme
looks, in order. A secret option
(`access_key`, `secret_key`, `session_token`, `connection_string`,
`account_key`, `sas_token`) must be a `$NAME` reference to an environment
variable, so a URL never carries a secret into a log. Cloud SDKs are imported
only when a URL of theirs is opened. Schemes and options are those the stores
registered in `cloudmap.stores` declare.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloudmap._env import expand_env, parse_flag
from cloudmap._url import Target, parse_target, url_arguments, verify_requested
from cloudmap.codecs import Codec, zlib, zstd
from cloudmap.mapping import CloudMapping
from cloudmap.stores import memory_store, open_provider
from cloudmap.stores._protocol import Store

if TYPE_CHECKING:
    from collections.abc import Mapping, MutableMapping

__all__ = [
    "StoreConfig",
    "Target",
    "expand_env",
    "is_config",
    "mapping_of",
    "memory_store",
    "open_for_mapping",
    "open_mapping",
    "open_store",
    "parse_flag",
    "parse_target",
    "resolve",
    "verify_requested",
]

TargetLike = str | bytes | os.PathLike[str] | os.PathLike[bytes] | Store


@dataclass(frozen=True)
class StoreConfig:
    """One store a target names: where it is, how to open it, the codec steps it adds.

    `section` is its ini section ("" for a path or URL); `store` a `Store`
    given ready-made, returned as is by `open_store`.
    """

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
    create: bool | None = None
    store: Store | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        # Option names only: values may be credentials.
        return (
            f"StoreConfig(section={self.section!r}, provider={self.provider!r}, "
            f"location={self.location!r}, prefix={self.prefix!r}, "
            f"options={sorted(self.kwargs)!r}, compression={self.compression!r}, "
            f"algorithm={self.algorithm!r}, verify={self.verify!r}, "
            f"encrypted={self.encryption is not None!r})"
        )

    def open_store(self, *, create: bool = False, read_only: bool = False) -> Store:
        """Construct this store (a URL's `?create=` overrides `create`).

        `read_only` opens a local directory without creating or changing anything.
        """
        if self.store is not None:
            return self.store
        return open_provider(
            self.provider,
            self.location,
            dict(self.kwargs),
            create=create if self.create is None else self.create,
            read_only=read_only,
        )

    def open_mapping(
        self, codec: Codec, *, create: bool = False, read_only: bool = False
    ) -> CloudMapping[Any]:
        """A `CloudMapping` over this store: `codec` and this store's steps, its prefix.

        The store is closed if the mapping cannot start (its first listing or
        verification failed), unless it was given ready-made.
        """
        store = self.open_store(create=create, read_only=read_only)
        try:
            return CloudMapping(
                store,
                codec=self.codec(codec),
                key_prefix=self.prefix,
                # Probes write; a read-only open never does: nothing to verify.
                verify=self.verify and not read_only,
            )
        except BaseException:
            if self.store is None:
                store.close()
            raise

    def codec(self, base: Codec) -> Codec:
        """`base` followed by this store's compression, then its encryption."""
        chain = base
        if self.compression is not None:
            compress = zstd if self.algorithm == "zstd" else zlib
            chain |= compress(self.compression)
        if self.encryption is not None:
            chain |= self.encryption
        return chain

    def codec_difference(self, other: StoreConfig) -> str | None:
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


def is_config(target: str | os.PathLike[str]) -> bool:
    """Whether `target` names an ini file (a path ending in `.ini`, not a URL)."""
    text = os.fspath(target)
    return "://" not in text and Path(text).suffix.lower() == ".ini"


def resolve(target: TargetLike) -> list[StoreConfig]:
    """The stores a target names, the primary first; nothing is opened yet.

    A path, URL or `Store` names one store; an ini file one per section it
    lists (`providers = a, b`). Open each with `StoreConfig.open_store`.

    Raises:
        ConfigError: the target, one of its options or the ini file is invalid.
    """
    if isinstance(target, Store):
        return [StoreConfig("", "", target.name, "", {}, None, store=target)]
    text = os.fsdecode(target)
    if is_config(text):
        # Imported here: ini files are read by the config layer, which imports us.
        from cloudmap.config import read_config  # noqa: PLC0415

        return read_config(text)
    return [_url_config(parse_target(text))]


def _url_config(parsed: Target) -> StoreConfig:
    """The store a parsed path or URL names, its options checked and typed."""
    arguments, create = url_arguments(parsed)
    return StoreConfig(
        "",
        parsed.provider,
        parsed.location,
        parsed.prefix,
        arguments,
        None,
        verify_requested(parsed),
        create=create,
    )


def open_store(
    target: TargetLike | Target, *, create: bool = False, read_only: bool = False
) -> tuple[Store, str]:
    """Open the (primary) store a target names; return it with the key prefix to use.

    `read_only` opens a local directory without creating or changing anything.

    Raises:
        ConfigError: the target or one of its options is invalid.
    """
    primary = _url_config(target) if isinstance(target, Target) else resolve(target)[0]
    return primary.open_store(create=create, read_only=read_only), primary.prefix


def open_for_mapping(
    target: str, codec: Codec, *, create: bool = False, read_only: bool = False
) -> tuple[Store, dict[str, Any]]:
    """The store a path, URL or ini file names, and the `CloudMapping` arguments for it.

    For an ini file, its first store: `codec` followed by the store's
    compression and encryption, its prefix and its `verify`. For a path or
    URL: `codec`, the prefix and `?verify=`.

    Raises:
        ConfigError: the target or ini file is invalid.
    """
    primary = resolve(target)[0]
    store = primary.open_store(create=create, read_only=read_only)
    # Probes write; a read-only open never does, so it has nothing to verify.
    return store, {
        "codec": primary.codec(codec),
        "key_prefix": primary.prefix,
        "verify": primary.verify and not read_only,
    }


def open_mapping(
    target: TargetLike,
    *,
    codec: Codec,
    create: bool = False,
    read_only: bool = False,
) -> MutableMapping[str, Any]:
    """The mapping a target names: a `CloudMapping`, or a `ReplicatedMapping`.

    An ini file with several stores gives a `ReplicatedMapping`. Each store
    gets `codec`, then the compression and encryption its ini section asks
    for, its prefix and its `verify`. `read_only` opens local directories
    without creating or changing anything, and verifies nothing (the probes
    write).

    Raises:
        ConfigError: the target or ini file is invalid.
    """
    configs = resolve(target)
    return mapping_of(configs, codec=codec, create=create, read_only=read_only)


def mapping_of(
    configs: list[StoreConfig],
    *,
    codec: Codec,
    create: bool = False,
    read_only: bool = False,
) -> MutableMapping[str, Any]:
    """The mapping over `configs` (see `open_mapping`): replicated when several.

    The stores are opened in order; if one fails, those opened before it are
    closed and its error is raised unchanged.
    """
    mappings: list[CloudMapping[Any]] = []
    try:
        for config in configs:
            mapping = config.open_mapping(codec, create=create, read_only=read_only)
            mappings.append(mapping)
        if len(mappings) == 1:
            return mappings[0]
        # Imported here: replication is only needed by files with several stores.
        replication = importlib.import_module("cloudmap.replication")
        replicated: MutableMapping[str, Any] = replication.ReplicatedMapping(mappings)
    except BaseException:
        _close_opened(configs, mappings)
        raise
    return replicated


def _close_opened(configs: list[StoreConfig], opened: list[CloudMapping[Any]]) -> None:
    """Close the mappings opened before a failure, but not a store given ready-made."""
    # `opened` holds the mappings of the first configs, up to the one that failed.
    for config, mapping in zip(configs, opened, strict=False):
        if config.store is None:
            # The failure to open is what the caller must see: an error while
            # closing would replace it.
            with contextlib.suppress(Exception):
                mapping.close()
