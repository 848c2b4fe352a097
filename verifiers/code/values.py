"""Plain values as JSON, for the calls between the trusted judge and the sandboxed solution (stdlib only).

Only ``None``, ``bool``, ``int``, ``float``, ``str``, ``bytes``, ``list``, ``tuple``, ``dict`` and ``set`` of
these cross, checked by exact type: a subclass (an ``int`` with its own ``__eq__``), a generator or any other
object is refused with a reason. JSON arrays are lists; every JSON object is a one-key tag:
``{"t": [...]}`` tuple, ``{"s": [...]}`` set, ``{"d": [[k, v], ...]}`` dict, ``{"b": "hex"}`` bytes,
``{"f": "inf" | "-inf" | "nan"}`` a float JSON cannot write. Both directions are linear in the text's size.
"""

import json
import math

MAX_DEPTH = 64
_SCALARS = (type(None), bool, int, str)
_FLOATS = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


class NotPlain(ValueError):
    """A value that is not plain data (or is nested too deeply, or a malformed encoding)."""


def to_json(value) -> str:
    """One line of JSON for a plain value; raises NotPlain naming the first offending type."""
    return json.dumps(_encode(value, 0), ensure_ascii=True, allow_nan=False, separators=(",", ":"))


def from_json(text):
    """The plain value a ``to_json`` line holds; raises NotPlain on anything else (bad JSON, unknown tags)."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:  # ValueError also covers ints past the digit limit
        raise NotPlain(f"not JSON: {str(exc)[:100]}") from None
    return decode(data)


def encode(value):
    """The JSON-ready structure of a plain value (for embedding in a larger message)."""
    return _encode(value, 0)


def decode(data):
    """The plain value of a structure that ``encode`` made (already parsed from JSON)."""
    try:
        return _decode(data, 0)
    except TypeError as exc:  # an unhashable set member or dict key
        raise NotPlain(f"malformed value: {str(exc)[:100]}") from None


def _encode(v, depth):
    if depth > MAX_DEPTH:
        raise NotPlain(f"nested deeper than {MAX_DEPTH}")
    kind = type(v)
    if kind in _SCALARS:
        return v
    if kind is float:
        return v if math.isfinite(v) else {"f": "nan" if v != v else ("inf" if v > 0 else "-inf")}
    if kind is list:
        return [_encode(x, depth + 1) for x in v]
    if kind is tuple:
        return {"t": [_encode(x, depth + 1) for x in v]}
    if kind is set:
        return {"s": [_encode(x, depth + 1) for x in v]}
    if kind is dict:
        return {"d": [[_encode(k, depth + 1), _encode(x, depth + 1)] for k, x in v.items()]}
    if kind is bytes:
        return {"b": v.hex()}
    raise NotPlain(f"a {kind.__module__}.{kind.__qualname__}, not plain data"[:200])


def _decode(d, depth):
    if depth > MAX_DEPTH:
        raise NotPlain(f"nested deeper than {MAX_DEPTH}")
    kind = type(d)
    if kind in _SCALARS or kind is float:
        return d
    if kind is list:
        return [_decode(x, depth + 1) for x in d]
    if kind is not dict or len(d) != 1:
        raise NotPlain("malformed value: objects must be one-key tags")
    (tag, body), = d.items()
    if tag == "f" and body in _FLOATS:
        return _FLOATS[body]
    if tag == "b" and type(body) is str:
        try:
            return bytes.fromhex(body)
        except ValueError:
            raise NotPlain("malformed bytes") from None
    if type(body) is not list:
        raise NotPlain(f"malformed value: tag {str(tag)[:20]!r}")
    items = [_decode(x, depth + 1) for x in body]
    if tag == "t":
        return tuple(items)
    if tag == "s":
        return set(items)
    if tag == "d" and all(type(p) is list and len(p) == 2 for p in items):
        return {k: x for k, x in items}
    raise NotPlain(f"malformed value: tag {str(tag)[:20]!r}")
