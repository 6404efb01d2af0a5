"""Plain data without pickle: nested tuples/lists/str-keyed dicts of numpy arrays and scalars.

One codec serves the golden files (a JSON tree in the manifest plus arrays in an ``.npz``) and the
wire from the judge's sandbox (``pack``/``unpack``: a JSON header and raw array bytes). ``unpack``
runs in the grader on bytes produced by student-controlled code, so it trusts nothing: sizes are
capped before parsing, dtypes are whitelisted (no object, structured or void), and the result is
built only from JSON values and fresh base-class ndarrays.

``encode`` also runs inside the sandbox: it looks at objects through references captured at import
time (``type``, ``ndarray.tobytes``) so a student who patches builtins or numpy afterwards changes
nothing but their own answers.
"""

from __future__ import annotations

import json
import math
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

MAGIC = b"RNNGRD01"
_LEN = struct.Struct("<Q")
_DTYPE_RE = re.compile(r"^[<>|=]?[biufc][1-9][0-9]?$")
MAX_DEPTH = 32
MAX_NODES = 200_000
MAX_NDIM = 8

# Captured before any student code runs in the same process (see module docstring).
_type = type
_ndarray = np.ndarray
_generic = np.generic
_tobytes = np.ndarray.tobytes
_asarray = np.asarray
_float, _int, _bool, _str, _tuple, _list, _dict = float, int, bool, str, tuple, list, dict
_repr = repr
_len = len
_isinstance = isinstance
_issubclass = issubclass
_id = id
_abs = abs
_dumps = json.dumps


class DecodeError(ValueError):
    """The bytes or the tree are not plain data as this module writes it."""


@dataclass(frozen=True)
class Opaque:
    """Something that is not plain data (a module, a function, a custom object): its type only."""

    type: str
    repr: str = ""


@dataclass(frozen=True)
class ForeignArray:
    """An ndarray subclass (or a numpy scalar where an array was due): the data plus its type."""

    type: str
    array: np.ndarray


def _qualname(tp: Any) -> str:
    try:
        return f"{tp.__module__}.{tp.__qualname__}"
    except Exception:
        return "<unknown type>"


def _safe_repr(obj: Any, limit: int = 200) -> str:
    try:
        text = _repr(obj)
    except BaseException:
        return ""
    return text[:limit] if _type(text) is _str else ""


def encode(obj: Any, max_str: int = 1 << 20) -> tuple[dict[str, Any], list[np.ndarray]]:
    """Turn ``obj`` into a JSON-able tree and a list of base-class ndarrays (long str cut)."""
    arrays: list[np.ndarray] = []
    seen: dict[int, int] = {}  # id(array) -> index: caches share one parameters dict
    counter = [0]

    def enc(o: Any, depth: int) -> dict[str, Any]:
        counter[0] += 1
        if depth > MAX_DEPTH or counter[0] > MAX_NODES:
            return {"t": "opaque", "type": "<too deep or too large>"}
        tp = _type(o)
        if o is None:
            return {"t": "none"}
        if tp is _bool:
            return {"t": "bool", "v": o is True}
        if tp is _int:
            return {"t": "int", "v": _str(o) if _abs(o) > 2**53 else o}
        if tp is _float:
            return {"t": "float", "v": _repr(o)}
        if tp is _str:
            return {"t": "str", "v": o[:max_str]}
        # Subclasses (a namedtuple cache, an OrderedDict of gradients) are what they extend:
        # their items are read through the base class's own methods, which no override reaches.
        if _issubclass(tp, _tuple) or _issubclass(tp, _list):
            is_tuple = _issubclass(tp, _tuple)
            items = _list(_tuple.__iter__(o) if is_tuple else _list.__iter__(o))
            return {
                "t": "tuple" if is_tuple else "list",
                "v": [enc(v, depth + 1) for v in items],
            }
        if _issubclass(tp, _dict):
            pairs = []
            for k in _list(_dict.keys(o)):
                if _type(k) is not _str:
                    return {"t": "opaque", "type": "dict with non-str keys"}
                pairs.append([k, enc(_dict.__getitem__(o, k), depth + 1)])
            return {"t": "dict", "v": pairs}
        if _isinstance(o, _ndarray) or _isinstance(o, _generic):
            base = _asarray(o) if _isinstance(o, _generic) else _ndarray.view(o, _ndarray)
            dt = base.dtype
            if dt.kind not in "biufc" or dt.fields is not None or dt.subdtype is not None:
                return {"t": "opaque", "type": f"{_qualname(tp)}[dtype={_str(dt)[:40]}]"}
            key = _id(o)
            node: dict[str, Any] = {"t": "array", "i": seen.get(key, _len(arrays))}
            if tp is not _ndarray:
                node["cls"] = _qualname(tp)
            if key not in seen:
                seen[key] = _len(arrays)
                arrays.append(base)
            return node
        return {"t": "opaque", "type": _qualname(tp), "repr": _safe_repr(o)}

    return enc(obj, 0), arrays


def decode(tree: Any, arrays: Sequence[np.ndarray]) -> Any:
    """Rebuild the value from a tree made by ``encode`` (validated: raises DecodeError)."""
    count = [0]

    def dec(node: Any, depth: int) -> Any:
        count[0] += 1
        if depth > MAX_DEPTH or count[0] > MAX_NODES:
            raise DecodeError("value nested too deep or too large")
        if not isinstance(node, dict) or not isinstance(node.get("t"), str):
            raise DecodeError("malformed node")
        t = node["t"]
        if t == "none":
            return None
        if t == "bool":
            return bool(node.get("v"))
        if t == "int":
            v = node.get("v")
            if isinstance(v, str) and re.fullmatch(r"-?\d{1,400}", v):
                return int(v)
            if isinstance(v, int) and not isinstance(v, bool):
                return v
            raise DecodeError("malformed int")
        if t == "float":
            v = node.get("v")
            if not isinstance(v, str) or len(v) > 40:
                raise DecodeError("malformed float")
            try:
                return float(v)
            except ValueError as exc:
                raise DecodeError("malformed float") from exc
        if t == "str":
            v = node.get("v")
            if not isinstance(v, str):
                raise DecodeError("malformed str")
            # JSON can carry lone surrogates ("\ud800") that no UTF-8 file or terminal takes:
            # they arrive as their escapes, so no writer can fail on student text
            return v.encode("utf-8", "backslashreplace").decode("utf-8")
        if t in ("tuple", "list"):
            items = node.get("v")
            if not isinstance(items, list):
                raise DecodeError("malformed sequence")
            seq = [dec(v, depth + 1) for v in items]
            return tuple(seq) if t == "tuple" else seq
        if t == "dict":
            pairs = node.get("v")
            if not isinstance(pairs, list):
                raise DecodeError("malformed dict")
            out: dict[str, Any] = {}
            for pair in pairs:
                if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
                    raise DecodeError("malformed dict entry")
                out[pair[0]] = dec(pair[1], depth + 1)
            return out
        if t == "array":
            i = node.get("i")
            if not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < len(arrays):
                raise DecodeError("array index out of range")
            arr = arrays[i]
            cls = node.get("cls")
            if cls is not None:
                return ForeignArray(str(cls)[:200], arr)
            return arr
        if t == "opaque":
            return Opaque(str(node.get("type", "?"))[:200], str(node.get("repr", ""))[:200])
        raise DecodeError(f"unknown node type {t[:20]!r}")

    return dec(tree, 0)


def check_dtype(text: Any) -> np.dtype:
    """A whitelisted numeric dtype from its string (bool, int, uint, float, complex)."""
    if not isinstance(text, str) or not _DTYPE_RE.match(text):
        raise DecodeError(f"dtype {str(text)[:30]!r} is not a plain numeric dtype")
    try:
        dt = np.dtype(text)
    except TypeError as exc:
        raise DecodeError(f"dtype {text!r} is not valid") from exc
    if dt.kind not in "biufc" or dt.fields is not None or dt.subdtype is not None:
        raise DecodeError(f"dtype {text!r} is not a plain numeric dtype")
    return dt


def pack(obj: Any, max_str: int = 1 << 20) -> bytes:
    """Serialise ``obj`` for the wire: MAGIC, header length, JSON header, raw array bytes."""
    tree, arrays = encode(obj, max_str)
    specs = []
    blobs = []
    for arr in arrays:
        data = _tobytes(arr, order="C")
        specs.append({"dtype": arr.dtype.str, "shape": _list(arr.shape), "nbytes": _len(data)})
        blobs.append(data)
    header = _dumps({"tree": tree, "arrays": specs}, allow_nan=False).encode()
    return MAGIC + _LEN.pack(_len(header)) + header + b"".join(blobs)


def unpack(data: bytes, max_header: int = 8 << 20, max_total: int = 256 << 20) -> Any:
    """Strict inverse of ``pack`` (raises DecodeError on anything unexpected)."""
    if len(data) > max_total:
        raise DecodeError(f"result is {len(data)} bytes, over the {max_total}-byte limit")
    if len(data) < len(MAGIC) + _LEN.size or not data.startswith(MAGIC):
        raise DecodeError("result does not start with the grader's marker")
    (hlen,) = _LEN.unpack_from(data, len(MAGIC))
    start = len(MAGIC) + _LEN.size
    if hlen > max_header or start + hlen > len(data):
        raise DecodeError("result header is too large or truncated")
    try:
        header = json.loads(data[start : start + hlen])
    except (ValueError, RecursionError) as exc:
        raise DecodeError("result header is not valid JSON") from exc
    if not isinstance(header, dict) or not isinstance(header.get("arrays"), list):
        raise DecodeError("result header is malformed")
    offset = start + hlen
    arrays: list[np.ndarray] = []
    for spec in header["arrays"]:
        if not isinstance(spec, dict):
            raise DecodeError("array spec is malformed")
        dt = check_dtype(spec.get("dtype"))
        shape = spec.get("shape")
        nbytes = spec.get("nbytes")
        if (
            not isinstance(shape, list)
            or len(shape) > MAX_NDIM
            or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
            or not isinstance(nbytes, int)
        ):
            raise DecodeError("array spec is malformed")
        if math.prod(shape) * dt.itemsize != nbytes or offset + nbytes > len(data):
            raise DecodeError("array size does not match its shape")
        arr = np.frombuffer(data, dtype=dt, count=math.prod(shape), offset=offset)
        arrays.append(arr.reshape(shape).copy())
        offset += nbytes
    if offset != len(data):
        raise DecodeError("trailing bytes after the last array")
    return decode(header.get("tree"), arrays)
