"""The root of cloudmap's exceptions, and how every one of them pickles."""

from __future__ import annotations

__all__ = ["CloudMapError"]


class CloudMapError(Exception):
    """Base class of every cloudmap exception.

    Every subclass pickles with its attributes, so an error raised in a worker
    process reaches the parent intact (`concurrent.futures`, `multiprocessing`).
    """

    def __reduce__(self) -> tuple[object, ...]:
        # Rebuilt without calling __init__, whose arguments differ per subclass;
        # the attributes come back through the instance dict.
        return (_rebuild, (type(self), self.args), self.__dict__)


def _rebuild(cls: type[CloudMapError], args: tuple[object, ...]) -> CloudMapError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    return error
