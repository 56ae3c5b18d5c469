"""Whether bfloat16 is fast where the learner runs (``model.precision: mixed_bfloat16``).

Keras computes mixed_bfloat16 layers in bfloat16 on any device, but only CPUs with AVX512-BF16
or AMX and GPUs of compute capability 8.0 or more (A100, H100, ...) do it in hardware; elsewhere
it is emulated and slower than float32. Read from ``/proc/cpuinfo`` without TensorFlow.
"""

from __future__ import annotations

from pathlib import Path

FAST_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_has_fast_bfloat16(cpuinfo: str | None = None) -> bool | None:
    """True or False from the CPU's flags; None where they cannot be read (not Linux)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return None
    flags = {flag for line in cpuinfo.splitlines() if line.startswith("flags")
             for flag in line.partition(":")[2].split()}  # fmt: skip
    return any(flag in flags for flag in FAST_CPU_FLAGS)


def bfloat16_warning(precision: str, learner_gpus: float | None) -> str | None:
    """The one-line warning for a run whose learner will emulate bfloat16, or None."""
    if precision != "mixed_bfloat16" or (learner_gpus or 0) > 0:  # a GPU: fast (A100 on)
        return None
    if cpu_has_fast_bfloat16() is False:
        return ("model.precision mixed_bfloat16: this CPU has no AVX512-BF16 or AMX, so "
                "bfloat16 is emulated and slower than float32")  # fmt: skip
    return None


def gpu_bfloat16_warning(precision: str, compute_capability: tuple[int, int] | None) -> str | None:
    """The one-line warning for a learner on a GPU of ``compute_capability`` (major, minor)
    that emulates bfloat16 (below 8.0: V100, T4, ...), or None; None when it is not known."""
    if precision != "mixed_bfloat16" or compute_capability is None:
        return None
    if tuple(compute_capability) < (8, 0):
        major, minor = compute_capability
        return (f"model.precision mixed_bfloat16: the learner's GPU has compute capability "
                f"{major}.{minor} (bfloat16 is fast from 8.0, A100 on), so it is emulated and "
                "slower than float32")  # fmt: skip
    return None
