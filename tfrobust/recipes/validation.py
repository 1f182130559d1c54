"""Build typed dataclasses from plain YAML data, with errors that say where and why.

A recipe is checked before any training starts: an unknown key (with the
closest valid one suggested), a missing key, a value of the wrong type, or an
epsilon outside the [0, 1] pixel scale is a `RecipeError` naming its dotted path.
"""

import dataclasses
import re
import types
import typing

from tfrobust.registry import suggest


class RecipeError(ValueError):
    """A recipe that cannot be run; the message names the key and the problem."""


def check_keys(data, valid, path):
    for key in data:
        if key not in valid:
            raise RecipeError(
                f"{path or 'recipe'}: unknown key {key!r}{suggest(key, valid)}. "
                f"Valid keys: {', '.join(sorted(valid))}"
            )


def parse_fraction(value, path):
    """A number, or a string such as "8/255"."""
    if isinstance(value, str):
        try:
            numerator, _, denominator = value.strip().partition("/")
            return float(numerator) / float(denominator or 1)
        except (ValueError, ZeroDivisionError):
            pass
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RecipeError(
            f"{path}: expected a number or a fraction like 8/255. Received: {value!r}"
        )
    return float(value)


def fractions_to_numbers(args):
    """Constructor arguments with strings such as "8/255" turned into floats."""

    def convert(value):
        if isinstance(value, str) and re.fullmatch(r"\s*\d+(\.\d+)?\s*/\s*\d+(\.\d+)?\s*", value):
            return parse_fraction(value, "")
        return value

    return {key: convert(value) for key, value in args.items()}


def _convert(value, annotation, path):
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        return _convert(value, next(a for a in args if a is not type(None)), path)
    if dataclasses.is_dataclass(annotation):
        if not isinstance(value, dict):
            raise RecipeError(f"{path}: expected a mapping. Received: {value!r}")
        return from_dict(annotation, value, path)
    if origin is list:
        if not isinstance(value, list):
            raise RecipeError(f"{path}: expected a list. Received: {value!r}")
        return [_convert(v, args[0], f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise RecipeError(f"{path}: expected a mapping. Received: {value!r}")
        return {str(k): _convert(v, args[1], f"{path}.{k}") for k, v in value.items()}
    if annotation is typing.Any:
        return value
    if annotation is float:
        return parse_fraction(value, path)
    if annotation is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise RecipeError(f"{path}: expected an integer. Received: {value!r}")
    if annotation in (str, bool) and not isinstance(value, annotation):
        raise RecipeError(f"{path}: expected a {annotation.__name__}. Received: {value!r}")
    return value


def from_dict(cls, data, path=""):
    """An instance of dataclass `cls` from `data`, checked field by field."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    check_keys(data, fields, path)
    hints = typing.get_type_hints(cls)
    values = {}
    for name, field in fields.items():
        key_path = f"{path}.{name}" if path else name
        if name in data:
            values[name] = _convert(data[name], hints[name], key_path)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise RecipeError(f"{key_path}: required key is missing")
    instance = cls(**values)
    check = getattr(instance, "check", None)
    if check is not None:
        check(path)
    return instance
