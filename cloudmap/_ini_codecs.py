"""The codec sections of an ini file: `[compression]` and `[encryption]`."""

from __future__ import annotations

import configparser
import hashlib
from collections.abc import Callable
from pathlib import Path

from cloudmap._env import expand_env
from cloudmap.codecs import Codec, encrypted, zstd
from cloudmap.codecs._crypto import key_bytes
from cloudmap.errors import ConfigError

__all__ = ["compression_section", "encryption_digest", "encryption_section"]

_LEVELS = {"zlib": (-1, 9, 6), "zstd": (1, 22, 3)}


def compression_section(
    file: Path, parser: configparser.ConfigParser, section: str
) -> tuple[str, int | None]:
    """The compressor and level a compression section asks for."""
    if not parser.has_section(section):
        return "zlib", None
    where = f"{file}: [{section}]"
    options = parser[section]
    algorithm = options.get("algorithm", "zlib").strip()
    if algorithm not in _LEVELS:
        raise ConfigError(
            f"{where} algorithm: {algorithm!r} is not supported (use zlib or zstd)"
        )
    low, high, default = _LEVELS[algorithm]
    text = options.get("level", str(default)).strip()
    try:
        level = int(text)
    except ValueError:
        level = None
    if level is None or not low <= level <= high:
        msg = f"{where} level: {text!r} is not an integer from {low} to {high}"
        raise ConfigError(msg)
    if algorithm == "zstd":
        _optional(where, lambda: zstd(level))
    return algorithm, level


def _optional(where: str, build: Callable[[], Codec]) -> Codec:
    """Build a codec whose package may be missing; say which extra installs it."""
    try:
        return build()
    except ImportError as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def encryption_section(
    file: Path, parser: configparser.ConfigParser, section: str
) -> Codec | None:
    """The AES-256-GCM codec an encryption section describes, keys from the env."""
    if not parser.has_section(section):
        return None
    where = f"{file}: [{section}]"
    options = parser[section]
    for option in options:
        if option not in {"algorithm", "key", "keys"} and not option.startswith("key."):
            known = "algorithm, key, keys, key.<id>"
            raise ConfigError(f"{where} {option}: unknown option (known: {known})")
    algorithm = options.get("algorithm", "aes256gcm").strip()
    if algorithm != "aes256gcm":
        msg = f"{where} algorithm: {algorithm!r} is not supported (use aes256gcm)"
        raise ConfigError(msg)
    keys = _keys(options, where)

    def build() -> Codec:
        try:
            return encrypted(keys)
        except ValueError as exc:  # the message names the key id, never the key
            raise ConfigError(f"{where}: {exc}") from None

    return _optional(where, build)


def encryption_digest(
    file: Path, parser: configparser.ConfigParser, section: str
) -> str:
    """A digest of an encryption section's key ids and keys, in order; "" if none.

    Equal digests mean equal keys, so two stores hold the same bytes;
    the digest reveals nothing of a key. Call after `encryption_section`,
    which checks the section.
    """
    if not parser.has_section(section):
        return ""
    digest = hashlib.sha256()
    keys = _keys(parser[section], f"{file}: [{section}]")
    for key_id, key in keys.items():
        digest.update(key_id.encode() + b"\0" + key_bytes(key, key_id=key_id))
    return digest.hexdigest()


def _keys(options: configparser.SectionProxy, where: str) -> dict[str, str]:
    """Key id -> key text, in order, each read from the variable its option names."""
    if "keys" in options:
        ids = [name.strip() for name in options["keys"].split(",") if name.strip()]
        references = {key_id: f"key.{key_id}" for key_id in ids}
    else:
        references = {"default": "key"}
    if not references:
        raise ConfigError(f"{where} keys: lists no key id")
    keys: dict[str, str] = {}
    for key_id, option in references.items():
        if option not in options:
            raise ConfigError(f"{where} {option}: missing, for key id {key_id!r}")
        reference = options[option].strip()
        if not reference.startswith("$"):
            # A key written in the file would be a secret in a config file.
            msg = f"{where} {option}: must be a $NAME environment variable reference"
            raise ConfigError(msg)
        keys[key_id] = expand_env(reference, where=f"{where} {option}")
    return keys
