"""Keep credentials out of the SDKs' own debug logs.

botocore logs every signed request at DEBUG, session token included. Stores
register here the secrets they were given and the header patterns that carry
credentials, and a filter on the SDK's loggers masks them before any handler
sees the record.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

__all__ = ["redact_from_logs"]

_MASK = "<redacted>"


class _Redactor(logging.Filter):
    """Masks registered secrets, and values after registered header names."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: frozenset[str] = frozenset()
        self._headers: re.Pattern[str] | None = None
        self._names: frozenset[str] = frozenset()
        self._lock = threading.Lock()

    def add(self, secrets: Iterable[str], headers: Iterable[str]) -> None:
        with self._lock:
            self._secrets |= {secret for secret in secrets if secret}
            self._names |= {name.lower() for name in headers}
            if self._names:
                names = "|".join(re.escape(name) for name in sorted(self._names))
                # `name: value` (a canonical request) or `'Name': b'value'` (a dict).
                self._headers = re.compile(
                    rf"((?:{names})['\"]?\s*[:=]\s*b?['\"]?)([^'\"\s,}}]+)",
                    re.IGNORECASE,
                )

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = message
        if self._headers is not None:
            redacted = self._headers.sub(rf"\1{_MASK}", redacted)
        for secret in self._secrets:
            redacted = redacted.replace(secret, _MASK)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


_REDACTOR = _Redactor()


def redact_from_logs(
    loggers: Iterable[str],
    *,
    secrets: Iterable[str | None] = (),
    headers: Iterable[str] = (),
) -> None:
    """Mask `secrets`, and the values of `headers`, in records of `loggers`."""
    _REDACTOR.add((secret for secret in secrets if secret), headers)
    for name in loggers:
        logger = logging.getLogger(name)
        if _REDACTOR not in logger.filters:
            logger.addFilter(_REDACTOR)
