"""The Array message: round trips, and every malformed field refused with its name."""

import numpy as np
import pytest

from distrl.service.arrays import BadArray, from_proto, to_proto
from distrl.service.v1 import distrl_pb2 as pb


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64", "uint8", "bool"])
def test_round_trip_keeps_dtype_shape_and_values(dtype):
    a = (np.arange(24) % 3).astype(dtype).reshape(2, 3, 4)
    b = from_proto(to_proto(a), "x", dtype=dtype, shape=(None, 3, 4), max_elements=100)
    assert b.dtype == a.dtype and b.shape == a.shape
    np.testing.assert_array_equal(a, b)
    b[0, 0, 0] = 1  # owns writable memory, not the message's bytes


def good():
    return to_proto(np.zeros((5, 4), np.float32))


@pytest.mark.parametrize(
    ("message", "error"),
    [
        (to_proto(np.zeros((5, 4), np.float64)), "x: dtype float64, expected float32"),
        (to_proto(np.zeros((5, 3), np.float32)), "x: shape [5, 3], expected [N, 4]"),
        (to_proto(np.zeros((5,), np.float32)), "x: shape [5], expected [N, 4]"),
        (to_proto(np.full((5, 4), np.nan, np.float32)), "x: holds NaN or Inf"),
        (to_proto(np.full((5, 4), -np.inf, np.float32)), "x: holds NaN or Inf"),
        (pb.Array(dtype=99, shape=[5, 4], data=good().data), "x: unknown dtype enum value 99"),
        (pb.Array(dtype=pb.FLOAT32, shape=[5, 4], data=good().data[:-1]), "79 bytes of data"),
        (pb.Array(dtype=pb.FLOAT32, shape=[-5, 4], data=b""), "negative size"),
        (to_proto(np.zeros((50, 4), np.float32)), "200 elements, more than the limit of 100"),
    ],
)
def test_malformed_arrays_are_refused_naming_the_field(message, error):
    with pytest.raises(BadArray, match=error.replace("[", r"\[").replace("]", r"\]")):
        from_proto(message, "x", dtype="float32", shape=(None, 4), max_elements=100)
