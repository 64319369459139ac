"""Regular expressions of device models (JSON Schema `pattern`, `patternProperties`) run on RE2, in linear time.

A maker's Thing Description may carry regular expressions, and the gateway checks every payload against them.
Python's `re` backtracks: `^(a+)+$` against "aaa…a!" takes time exponential in the length, so one hostile model
could pin the gateway. RE2 (the `google-re2` package) matches in time linear in the input and refuses outright what
would need backtracking — look-around and back-references. Those patterns are refused when the model is published
(`pattern_problem`, with the reason); everything the schemas of device models match with goes through `Validator`.

JSON Schema patterns are ECMA-262. RE2's syntax is close to it, closer than `re`'s: `\\d` is ASCII digits only and
`$` matches at the very end only (not before a final newline). ECMA's `\\uXXXX` escapes are read as RE2's
`\\x{XXXX}`. Left different: `.` matches `\\r`, U+2028 and U+2029 (ECMA's does not), `\\s` is ASCII whitespace only.
"""

import functools
from collections.abc import Iterator, Mapping
from typing import Any

import re2
from jsonschema import Draft7Validator, ValidationError, validators

__all__ = ["PatternError", "Validator", "compile_pattern", "pattern_problem"]

# Hints for what RE2 refuses most often, keyed by the start of its message.
_UNSUPPORTED = {
    "invalid perl operator: (?=": "look-ahead (?=…) is not supported",
    "invalid perl operator: (?!": "look-ahead (?!…) is not supported",
    "invalid perl operator: (?<=": "look-behind (?<=…) is not supported",
    "invalid perl operator: (?<!": "look-behind (?<!…) is not supported",
    "invalid escape sequence: \\1": "back-references (\\1, \\2, …) are not supported",
    "invalid escape sequence: \\2": "back-references (\\1, \\2, …) are not supported",
}
_WHY = "device models' patterns run on RE2, which matches in linear time and has no look-around or back-references"


class PatternError(ValueError):
    """A pattern RE2 cannot run; the message says why, for the maker."""


def _ecma_to_re2(source: str) -> str:
    """ECMA-262's `\\uXXXX` as RE2's `\\x{XXXX}`; every other character and escape is passed on as it is."""
    if "\\u" not in source:
        return source
    out: list[str] = []
    index, length = 0, len(source)
    while index < length:
        char = source[index]
        if char == "\\" and index + 1 < length:
            escaped = source[index + 1]
            digits = source[index + 2 : index + 6]
            if escaped == "u" and len(digits) == 4 and all(c in "0123456789abcdefABCDEF" for c in digits):
                out.append(f"\\x{{{digits}}}")
                index += 6
                continue
            out.append(char + escaped)
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)


@functools.lru_cache(maxsize=4096)
def compile_pattern(source: str) -> Any:
    """The compiled RE2 program of an ECMA-262 pattern (kept, as schemas repeat them). Raises PatternError."""
    options = re2.Options()
    options.log_errors = False
    options.never_capture = True  # only "does it match" is asked
    try:
        return re2.compile(_ecma_to_re2(source), options)
    except re2.error as error:
        reason = error.args[0].decode(errors="replace") if error.args and isinstance(error.args[0], bytes) else (
            str(error))
        hint = next((text for start, text in _UNSUPPORTED.items() if reason.startswith(start)), None)
        raise PatternError(f"{hint} ({_WHY})" if hint else f"{reason} ({_WHY})") from None


def pattern_problem(source: str) -> str | None:
    """Why this pattern cannot be used in a device model, or None if it can."""
    try:
        compile_pattern(source)
    except PatternError as error:
        return str(error)
    return None


def _search(source: str, text: str) -> bool | None:
    """Does the pattern match somewhere in text? None if it cannot be run (a model stored before it was checked)."""
    try:
        return compile_pattern(source).search(text) is not None
    except PatternError:
        return None


def _brief(text: str, most: int = 60) -> str:
    """A string as a message quotes it: whole if short, else its start (a payload may be 64 KB)."""
    return repr(text) if len(text) <= most else f"{text[:most]!r}… ({len(text)} characters)"


def _pattern(validator: Any, pattern: str, instance: Any, schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string"):
        found = _search(pattern, instance)
        if found is None:
            yield ValidationError(f"the model's pattern {pattern!r} cannot be run")
        elif not found:
            yield ValidationError(f"{_brief(instance)} does not match {pattern!r}")


def _pattern_properties(
    validator: Any, patterns: Mapping[str, Any], instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if _search(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(
    validator: Any, additional: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    """As jsonschema's, with patternProperties matched by RE2."""
    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    extras = [key for key in instance if key not in properties and not any(_search(p, key) for p in patterns)]
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        if patterns:
            verb = "does" if len(extras) == 1 else "do"
            joined = ", ".join(repr(each) for each in sorted(extras))
            listed = ", ".join(repr(each) for each in sorted(patterns))
            yield ValidationError(f"{joined} {verb} not match any of the regexes: {listed}")
        else:
            verb = "was" if len(extras) == 1 else "were"
            listed = ", ".join(repr(each) for each in sorted(extras, key=str))
            yield ValidationError(f"Additional properties are not allowed ({listed} {verb} unexpected)")


# Draft 7 with every regular expression of the schema run by RE2.
Validator = validators.extend(
    Draft7Validator,
    {"pattern": _pattern, "patternProperties": _pattern_properties, "additionalProperties": _additional_properties},
)
