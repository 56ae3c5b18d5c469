"""NumPy arrays to and from the ``distrl.v1.Array`` message, and the checks on incoming ones.

Nothing here unpickles: an array is its dtype (an enum of plain numeric types), its shape and
its raw little-endian bytes, and every field is checked before NumPy reads the bytes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from distrl.service.v1 import distrl_pb2 as pb

DTYPES: dict[int, np.dtype] = {
    pb.FLOAT32: np.dtype("<f4"),
    pb.FLOAT64: np.dtype("<f8"),
    pb.INT32: np.dtype("<i4"),
    pb.INT64: np.dtype("<i8"),
    pb.UINT8: np.dtype("u1"),
    pb.BOOL: np.dtype("?"),
}
ENUMS: dict[str, int] = {dtype.name: enum for enum, dtype in DTYPES.items()}
# EnvSpec.action_kind <-> the Spec message's enum
ACTION_KINDS: dict[str, int] = {"discrete": pb.DISCRETE, "continuous": pb.CONTINUOUS,
                                "multi_discrete": pb.MULTI_DISCRETE,
                                "multi_binary": pb.MULTI_BINARY}  # fmt: skip
ACTION_KIND_NAMES: dict[int, str] = {enum: name for name, enum in ACTION_KINDS.items()}


class BadArray(ValueError):
    """An incoming array that does not fit what was expected; the message names the field."""


def to_proto(array: np.ndarray) -> pb.Array:
    a = np.asarray(array)
    if a.dtype.name not in ENUMS:
        raise TypeError(f"dtype {a.dtype} cannot travel as a distrl.v1.Array")
    enum = ENUMS[a.dtype.name]
    data = np.ascontiguousarray(a, dtype=DTYPES[enum]).tobytes()
    return pb.Array(dtype=enum, shape=list(a.shape), data=data)  # type: ignore[arg-type]


def dtype_enum(name: str) -> int:
    return ENUMS[np.dtype(name).name]


def from_proto(
    message: pb.Array,
    field: str,
    *,
    dtype: str | Sequence[str],
    shape: Sequence[int | None],
    max_elements: int,
    finite: bool = True,
) -> np.ndarray:
    """Check ``message`` and read it; any mismatch is a :class:`BadArray` naming ``field``.

    ``shape`` entries of None match any size (a batch axis); a float array must hold only finite
    numbers when ``finite``. The result is a fresh array that owns its memory.
    """
    allowed = [dtype] if isinstance(dtype, str) else list(dtype)
    if message.dtype not in DTYPES:
        raise BadArray(f"{field}: unknown dtype enum value {message.dtype}")
    np_dtype = DTYPES[message.dtype]
    if np_dtype.name not in allowed:
        raise BadArray(f"{field}: dtype {np_dtype.name}, expected {' or '.join(allowed)}")
    got = tuple(int(n) for n in message.shape)
    if len(got) != len(shape) or any(
        e is not None and e != g for e, g in zip(shape, got, strict=False)
    ):
        want = "[" + ", ".join("N" if e is None else str(e) for e in shape) + "]"
        raise BadArray(f"{field}: shape {show_shape(got)}, expected {want}")
    if any(n < 0 for n in got):
        raise BadArray(f"{field}: negative size in shape {show_shape(got)}")
    count = math.prod(got)  # Python ints: no overflow, whatever the client sends
    if count > max_elements:
        raise BadArray(f"{field}: {count} elements, more than the limit of {max_elements}")
    if len(message.data) != count * np_dtype.itemsize:
        raise BadArray(
            f"{field}: {len(message.data)} bytes of data, expected {count * np_dtype.itemsize} "
            f"for shape {list(got)} of {np_dtype.name}"
        )
    array = np.frombuffer(message.data, dtype=np_dtype).reshape(got).copy()
    if finite and np_dtype.kind == "f" and not np.isfinite(array).all():
        raise BadArray(f"{field}: holds NaN or Inf")
    return array


def show_shape(shape: Sequence[int], most: int = 8) -> str:
    """A shape for an error message, short whatever its rank (a client may send 10,000 dims)."""
    if len(shape) <= most:
        return str(list(shape))
    return f"[{', '.join(map(str, shape[:most]))}, ...] (rank {len(shape)})"
