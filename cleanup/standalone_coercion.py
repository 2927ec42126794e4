"""typer's parameter coercion on the standard library, for the device-side artifact (cleanup/zipapp.py).

typer 0.29 converts every command-line value through a pydantic ``TypeAdapter``, and pydantic's core is a compiled
extension: a zipapp that runs on any Mac's Python cannot carry it. Inside the artifact, :func:`install` puts these
converters in its place. They do what typer's adapters do for the annotations a command line uses (str, bool, int
and float with their bounds, Path, datetime, choices, lists and tuples of those), with typer's own helpers for
choices and paths, and pydantic's wording for a bad value, so a mistake reads the same as from a full install.
typer is pinned below 0.30 (pyproject.toml); tests/test_zipapp.py runs the artifact's commands through them.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

from typer import _coercion, _param_types, core
from typer._click.exceptions import BadParameter, UsageError
from typer._typing import is_literal_type, is_number_type, literal_values
from typer.models import OptionInfo

Convert = Callable[[Any, Any], Any]  # (value, click context or None) -> the converted value
_INT_RE = re.compile(r"\s*([+-]?\d+(?:_\d+)*)(?:\.0*)?\s*")  # what pydantic accepts as an int in a string
_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})


class Invalid(ValueError):
    """A value the converter refuses; the message is the one typer shows after "Invalid value for …"."""


@dataclass(frozen=True)
class StdlibRuntimeParam(_coercion.RuntimeParam):
    """A parameter's runtime coercion through one of the converters below."""

    convert: Convert

    def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
        try:
            return self.convert(value, ctx)
        except ValueError as exc:  # Invalid, and the ValueError of typer's choice helper or a parser
            raise BadParameter(str(exc), ctx=ctx, param=param) from exc


def install() -> None:
    """Make typer coerce values with these converters (idempotent)."""
    setattr(core, "build_runtime_param", build_runtime_param)  # noqa: B010 - replacing typer's own attributes
    setattr(_coercion, "build_runtime_param", build_runtime_param)  # noqa: B010
    setattr(_coercion, "prompt_value_proc", prompt_value_proc)  # noqa: B010


def build_runtime_param(descriptor: Any) -> _coercion.RuntimeParam:
    args = {"annotation": descriptor.annotation, "parameter_info": descriptor.parameter_info}
    if descriptor.file_annotation is not None:
        return _coercion.FileRuntimeParam(**args, file_annotation=descriptor.file_annotation)
    return StdlibRuntimeParam(**args, convert=converter(descriptor.annotation, descriptor.parameter_info))


def prompt_value_proc(param_type: Any | None = None, default: Any | None = None) -> Callable[[Any], Any]:
    convert = converter(_param_types.annotation_from_prompt(param_type, default), OptionInfo())

    def coerce(value: Any) -> Any:
        try:
            return convert(value, None)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc

    return coerce


# ------------------------------------------------------------------------------------------ converters
def converter(annotation: Any, info: Any) -> Convert:
    """The converter of one annotation, as typer's ``build_adapter`` builds an adapter for it."""
    origin = get_origin(annotation)
    if origin is list:
        item = converter(get_args(annotation)[0], info)
        return lambda value, ctx: [item(v, ctx) for v in (value if isinstance(value, (list, tuple)) else [value])]
    if origin is tuple:
        items = [converter(t, info) for t in get_args(annotation)]

        def as_tuple(value: Any, ctx: Any) -> tuple[Any, ...]:
            if not isinstance(value, (list, tuple)):
                raise Invalid("value is not a valid tuple")
            if len(value) != len(items):
                raise Invalid(f"{len(items)} values are required, but {len(value)} given.")
            return tuple(convert(v, ctx) for convert, v in zip(items, value, strict=True))

        return as_tuple
    return _leaf(annotation, info)


def _leaf(annotation: Any, info: Any) -> Convert:
    if info.parser is not None:
        parser = info.parser
        return lambda value, ctx: parser(value)
    if _param_types.lenient_issubclass(annotation, Enum) or is_literal_type(annotation):
        choices = list(annotation) if _param_types.lenient_issubclass(annotation, Enum) else list(literal_values(annotation))
        return lambda value, ctx: _param_types.coerce_cli_choice(value, choices=choices, case_sensitive=info.case_sensitive, ctx=ctx)
    if annotation is datetime:
        return lambda value, ctx: _datetime(value, info.formats)
    if is_number_type(annotation):
        return lambda value, ctx: _bounded(_number(annotation, value), info)
    if annotation is bool:
        return lambda value, ctx: _bool(value)
    if annotation is str:
        return lambda value, ctx: _str(value)
    if _param_types.routes_to_path(annotation, info):
        path_type = info.path_type or (annotation if _param_types.lenient_issubclass(annotation, Path) else None)

        def as_path(value: Any, ctx: Any) -> Any:
            if isinstance(path_type, type) and issubclass(path_type, Path) and isinstance(value, (str, bytes)):
                value = path_type(_str(value))  # what pydantic did before typer's own checks of the path
            return _param_types.coerce_cli_path(value, info, path_type=path_type, ctx=ctx)

        return as_path
    return lambda value, ctx: _other(annotation, value)


def _str(value: Any) -> str:
    if value is None:
        raise Invalid("None is not a valid string")
    if isinstance(value, bytes):
        for encoding in dict.fromkeys((getattr(sys.stdin, "encoding", None) or "utf-8", sys.getfilesystemencoding())):
            try:
                return value.decode(encoding)
            except (UnicodeError, LookupError):
                continue
        return value.decode("utf-8", "replace")
    return str(value)


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word == "":
            return False
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
    raise Invalid("Input should be a valid boolean, unable to interpret input")


def _number(kind: type[Any], value: Any) -> Any:
    if isinstance(value, kind) and not isinstance(value, bool):
        return value
    text = _str(value) if isinstance(value, (str, bytes)) else None
    if kind is int:
        match = _INT_RE.fullmatch(text) if text is not None else None
        if match is None:
            raise Invalid("Input should be a valid integer, unable to parse string as an integer")
        return int(match.group(1))
    try:
        return kind(text.strip() if text is not None else value)
    except (ValueError, TypeError, ArithmeticError):
        noun = "number" if kind is float else kind.__name__
        raise Invalid(f"Input should be a valid {noun}, unable to parse string as a {noun}") from None


def _bounded(number: Any, info: Any) -> Any:
    low, high = info.min, info.max
    if info.clamp:
        if low is not None and number < low:
            return type(number)(low)
        if high is not None and number > high:
            return type(number)(high)
        return number
    if low is not None and not number >= low:
        raise Invalid(f"Input should be greater than or equal to {low}")
    if high is not None and not number <= high:
        raise Invalid(f"Input should be less than or equal to {high}")
    return number


def _datetime(value: Any, formats: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    text = _str(value)
    if formats is None:
        try:
            return datetime.fromisoformat(text.strip())
        except ValueError:
            raise Invalid("Input should be a valid datetime") from None
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise Invalid(f"{text!r} does not match the formats {', '.join(map(repr, formats))}.")


def _other(annotation: Any, value: Any) -> Any:
    if isinstance(annotation, type):
        if isinstance(value, annotation):
            return value
        try:
            return annotation(value)
        except (ValueError, TypeError):
            pass
    raise Invalid(f"Value {value!r} is not a valid {getattr(annotation, '__name__', repr(annotation))}.")
