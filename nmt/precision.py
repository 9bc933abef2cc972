"""Training precision: the Keras dtype policy a run trains under, and which one the hardware favours.

Under a mixed policy the layers compute in bfloat16 or float16 and keep float32 variables; each
recurrence casts its weights once per batch, not at every step (nmt.model), the LSTM gates'
activations and the attention softmax stay in float32 (nmt.model, nmt.attention), Keras hands the
losses their inputs in float32,
and it scales the loss under float16 so that small gradients do not vanish. Checkpoints are the same
in every case.
"""

from __future__ import annotations

from pathlib import Path

import keras


def cpu_computes_bfloat16(cpuinfo: str | None = None) -> bool:
    """Whether the CPU has bfloat16 instructions (AVX512-BF16 or AMX); without them bfloat16 is
    emulated, slower than float32."""
    if cpuinfo is None:
        path = Path("/proc/cpuinfo")
        cpuinfo = path.read_text() if path.exists() else ""
    flags = set(cpuinfo.split())
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def gpu_compute_capability() -> tuple[int, int] | None:
    """The first GPU's CUDA compute capability under JAX or TensorFlow, or None without one (or when
    the backend cannot say)."""
    if keras.backend.backend() == "jax":
        import jax

        gpus = [d for d in jax.local_devices() if d.platform == "gpu"]
        capability = getattr(gpus[0], "compute_capability", None) if gpus else None
        try:
            return tuple(int(part) for part in str(capability).split(".")[:2]) if capability else None
        except ValueError:  # ROCm names an architecture (gfx90a), not a CUDA capability
            return None
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        return tf.config.experimental.get_device_details(gpus[0]).get("compute_capability") if gpus else None
    return None


def training_policy(requested: str, cpuinfo: str | None = None) -> str:
    """The dtype policy for `requested` (one of config.PRECISIONS); "auto" picks mixed_bfloat16 on
    GPUs of compute capability 8 or more (Ampere on) and on CPUs with bfloat16 instructions,
    mixed_float16 on older GPUs, and float32 everywhere else."""
    if requested != "auto":
        return requested
    capability = gpu_compute_capability()
    if capability is not None:
        return "mixed_bfloat16" if capability >= (8, 0) else "mixed_float16"
    return "mixed_bfloat16" if cpu_computes_bfloat16(cpuinfo) else "float32"
