"""Reading an ini file: errors that show no value, unknown names, typed options."""

from __future__ import annotations

import configparser
import difflib
import inspect
from typing import TYPE_CHECKING, Any

from cloudmap._env import expand_env, parse_flag
from cloudmap.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path
    from typing import NoReturn

__all__ = ["check_options", "parse_file", "store_parameters", "unknown"]


def parse_file(file: Path) -> configparser.ConfigParser:
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


def check_options(
    file: Path, parser: configparser.ConfigParser, section: str, known: Iterable[str]
) -> None:
    """Refuse an option of `section` that is not in `known`."""
    if parser.has_section(section):
        for key in parser[section]:
            if key not in known:
                unknown(f"{file}: [{section}]", key, known, "option")


def unknown(where: str, name: str, known: Iterable[str], what: str) -> NoReturn:
    """Raise the ConfigError for an unknown option or section, suggesting one."""
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    msg = f"{where} {name}: unknown {what} ({hint}known: {', '.join(names)})"
    raise ConfigError(msg)


def store_parameters(
    file: Path, parser: configparser.ConfigParser, section: str, cls: type[Any]
) -> dict[str, Any]:
    """A store's own constructor arguments: names checked, bool and int parsed.

    A store that passes unknown keyword arguments on to its SDK client (Azure)
    takes any name; those values stay strings.
    """
    if not parser.has_section(section):
        return {}
    where = f"{file}: [{section}]"
    signature = inspect.signature(cls).parameters.values()
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
            unknown(where, key, parameters, "option")
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
