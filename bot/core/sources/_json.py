"""JSON that one deeply nested value cannot take down with the rest of its file."""

from __future__ import annotations

import json
import re
from typing import Any

# Deeper than any news record needs ({"Data": [{"source_info": {"name": ...}}]} is 4 levels);
# a deeper value is replaced by null, so its record keeps everything else.
MAX_DEPTH = 64

# What decides the nesting: an escape (so `\"` never ends a string), a quote, a bracket.
_STRUCTURE = re.compile(r'\\.|["\[\]{}]', re.DOTALL)


def loads(text: str) -> tuple[Any, int]:
    """The JSON value and how many values nested deeper than MAX_DEPTH levels were replaced by
    null. Raises json.JSONDecodeError for text that is not JSON, and RecursionError only when
    the nesting never closes (a file cut off inside its deep value)."""
    try:
        return json.loads(text), 0
    except RecursionError:
        shallow, cut = _without_deep_values(text)
        if not cut:
            raise
        return json.loads(shallow), cut


def _without_deep_values(text: str) -> tuple[str, int]:
    """The text with each value that opens at depth MAX_DEPTH + 1 replaced by `null`; one
    pass over the quotes and brackets (the regex finds them, linear in the text)."""
    pieces: list[str] = []
    kept_up_to = 0
    depth = 0
    in_string = False
    cut_start: int | None = None
    cut = 0
    for match in _STRUCTURE.finditer(text):
        token = match.group()
        if token[0] == "\\":
            continue
        if token == '"':
            in_string = not in_string
        elif in_string:
            continue
        elif token in "[{":
            depth += 1
            if depth == MAX_DEPTH + 1:
                cut_start = match.start()
        else:
            if depth == MAX_DEPTH + 1 and cut_start is not None:
                pieces += [text[kept_up_to:cut_start], "null"]
                kept_up_to = match.end()
                cut_start = None
                cut += 1
            depth -= 1
    pieces.append(text[kept_up_to:])
    return "".join(pieces), cut
