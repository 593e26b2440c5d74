"""Device choice, mixed precision (bf16 autocast over fp32 master weights) and compilation."""
from __future__ import annotations

import contextlib
import ctypes
import functools
import sys
import warnings
from dataclasses import replace

import torch

PRECISIONS = ("auto", "bf16", "fp32")
# Measured on an AMD EPYC capped to AVX2 (ONEDNN_MAX_CPU_ISA=AVX2, ATEN_CPU_CAPABILITY=avx2), the
# extrap-quick looped cell, one thread: 2.31 s per training step in bf16, 0.29 in fp32.
EMULATED_BF16_SLOWDOWN = 8


def pick_device(name: str = "auto") -> torch.device:
    """The device to run on; on CPU, also keeps freed memory in the process (`keep_freed_memory`)."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"train.device={name!r}: this PyTorch build sees no CUDA GPU (use auto or cpu)")
    device = torch.device(name)
    if device.type == "cpu":
        keep_freed_memory()
    return device


def keep_freed_memory() -> bool:
    """Tell glibc's malloc to keep freed memory instead of handing it back to the OS.

    A CPU step allocates and frees many temporaries of several MB; by default glibc returns
    them (trim, or mmap for big blocks) and page-faults them in again on the next step. Measured
    at config (a), bf16, 1 thread: reasoner evaluation 3.2-4.6 s -> 3.0 s CPU, single elementwise
    kernels 3-5x faster; training steps unchanged to 8% faster. The process keeps its
    high-water mark (peak memory is unchanged). No-op where malloc is not glibc's."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        # 32 MiB: the largest mmap threshold glibc accepts; blocks below it come from the heap.
        return bool(libc.mallopt(m_trim_threshold, 2**30) and libc.mallopt(m_mmap_threshold, 32 * 2**20))
    except (OSError, AttributeError):
        return False


def device_type(name: str = "auto") -> str:
    """"cpu", "cuda" or "mps": where `train.device = name` runs (no side effects, unlike pick_device)."""
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name).type


@functools.cache
def native_bf16(kind: str) -> tuple[bool, str]:
    """Whether a device of this type computes bf16 in hardware, and what says so. A CPU does where
    oneDNN has bf16 kernels (AVX512-BF16 or AMX on x86; the bf16 extension on Arm); elsewhere
    autocast emulates bf16 through fp32, several times slower than fp32 itself."""
    if kind == "cuda":
        ok = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
        return ok, "this GPU " + ("computes bf16" if ok else "has no bf16 arithmetic")
    if kind != "cpu":
        return False, f"bf16 on {kind} is not known to be native here"
    capability = torch.backends.cpu.get_cpu_capability()
    flags = cpu_flags()
    if not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return False, f"this CPU ({capability}) has no bf16 instructions that oneDNN uses"
    if flags and not flags & {"avx512_bf16", "amx_bf16", "bf16"}:  # AVX-512 alone converts, it does not compute
        return False, f"this CPU ({capability}) has no AVX512-BF16, AMX or Arm bf16 instructions"
    native = sorted(flags & {"avx512_bf16", "amx_bf16", "bf16"}) or ["oneDNN's bf16 kernels"]
    return True, f"this CPU ({capability}) computes bf16 natively ({', '.join(native)})"


def cpu_flags() -> set[str]:
    """The CPU's feature flags from /proc/cpuinfo (Linux); empty where they cannot be read."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("flags", "Features")):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def resolve_precision(precision: str, device: str = "auto") -> tuple[str, str]:
    """The precision that runs for `train.precision = precision` on `device`, and why: "auto" is
    bf16 where the device computes it natively and fp32 elsewhere; an explicit choice runs as asked
    (the reason then says when bf16 is emulated: `emulated_bf16`)."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}: choose {', '.join(PRECISIONS)}")
    native, why = native_bf16(device_type(device))
    if precision == "auto":
        return ("bf16" if native else "fp32"), f"auto: {why}"
    if precision == "bf16" and not native:
        return "bf16", f"as asked, and emulated: {why}; about {EMULATED_BF16_SLOWDOWN}x slower than fp32 here"
    return precision, "as asked"


def emulated_bf16(precision: str, device: str = "auto") -> bool:
    return precision == "bf16" and not native_bf16(device_type(device))[0]


def resolve_run(cfg):
    """`cfg` (a RunConfig) with train.precision resolved for its device: what the run records."""
    chosen, _ = resolve_precision(cfg.train.precision, cfg.train.device)
    return cfg if chosen == cfg.train.precision else replace(cfg, train=replace(cfg.train, precision=chosen))


def serving_precision(trained: str, device: str = "auto") -> str:
    """The precision to evaluate a trained model in: the one it trained in, unless that is bf16
    emulated on this device (then auto, i.e. fp32): never the slow path by default."""
    return "auto" if trained == "auto" or emulated_bf16(trained, device) else trained


_ANNOUNCED: set = set()  # (precision, device type) already told in this process


def precision_line(precision: str, device: str = "auto") -> str:
    """One line for the start of a command: which precision runs and why (a warning where it is
    emulated bf16)."""
    chosen, why = resolve_precision(precision, device)
    _ANNOUNCED.add((precision, device_type(device)))
    warning = "warning: " if emulated_bf16(precision, device) else ""
    return f"{warning}precision {chosen} ({why}{'; train.precision=auto picks fp32' if warning else ''})"


def warn_if_emulated(precision: str, device: str = "auto") -> None:
    """A Python warning, once, for an explicit bf16 that this device emulates (a command that
    printed `precision_line` has said it already)."""
    if emulated_bf16(precision, device) and (precision, device_type(device)) not in _ANNOUNCED:
        _ANNOUNCED.add((precision, device_type(device)))
        warnings.warn(precision_line(precision, device), stacklevel=3)


def autocast(device, precision: str):
    """bf16 autocast on CPU or CUDA; fp32 runs without it; auto is resolved for the device first."""
    if precision == "auto":
        precision = resolve_precision(precision, torch.device(device).type)[0]
    if precision == "fp32":
        return contextlib.nullcontext()
    if precision != "bf16":
        raise ValueError(f"unknown precision {precision!r}: choose {', '.join(PRECISIONS)}")
    return torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16)


def compile_networks(model: torch.nn.Module) -> int:
    """`torch.compile` every `Stack` of a model (the network the recursion calls again and
    again: one graph, reused n*T times per step), keeping eager mode as the fallback: if
    compiling fails (no compiler on the machine, an unsupported op), a warning says so and
    the stack runs eagerly from then on. Returns the number of stacks wrapped."""
    from .model.blocks import Stack
    stacks = [m for m in model.modules() if isinstance(m, Stack)]
    for stack in stacks:
        stack.forward = _with_fallback(stack.forward)
    return len(stacks)


def _with_fallback(eager):
    compiled, failed = torch.compile(eager), []

    def forward(*args, **kwargs):
        if not failed:
            try:
                return compiled(*args, **kwargs)
            except Exception as e:  # noqa: BLE001  (any compiler failure: fall back, never crash a run)
                failed.append(e)
                warnings.warn(f"torch.compile failed, running eagerly: {type(e).__name__}: {e}", stacklevel=2)
        return eager(*args, **kwargs)

    return forward
