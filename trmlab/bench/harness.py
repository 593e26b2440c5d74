"""The timing harness: seconds per call, their spread, peak memory, the machine's measured matmul
peak and a description of the machine. It imports nothing from trmlab (torch only), so the peer
drivers in benchmarks/ (run in their own virtualenvs) time their steps with exactly this code."""
from __future__ import annotations

import os
import platform
import resource
import statistics
import sys
import time

import torch


def _sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def time_it(fn, *, warmup: int, repeats: int, inner: int = 1, device="cpu") -> list[float]:
    """Seconds per call of `fn`: `warmup` untimed calls, then `repeats` timings of `inner` calls each."""
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        _sync(device)
        times.append((time.perf_counter() - start) / inner)
    return times


def spread(times: list[float]) -> dict:
    """Median, min, max and (max - min) / median of a list of timings."""
    med = statistics.median(times)
    return {"median": med, "min": min(times), "max": max(times), "n": len(times),
            "spread": (max(times) - min(times)) / med if med > 0 else 0.0}


def reset_peak_memory(device="cpu") -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.reset_peak_memory_stats()


def peak_memory_mb(device="cpu") -> float:
    """CUDA: max allocated since the last reset. CPU: this process's max RSS (a high-water
    mark over its whole life, hence one process per case)."""
    if torch.device(device).type == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return kb / 1024 if sys.platform != "darwin" else kb / 2**20


def matmul_peak(dtype: torch.dtype, shapes: list[tuple[int, int, int]], device="cpu",
                repeats: int = 5, min_s: float = 0.2) -> dict:
    """Measured GEMM FLOP/s for each (M, K, N) and the best of them: the MFU denominator."""
    out = {}
    for M, K, N in shapes:
        a = torch.randn(M, K, device=device).to(dtype)
        b = torch.randn(K, N, device=device).to(dtype)
        one = time_it(lambda: a @ b, warmup=2, repeats=1, device=device)[0]
        inner = max(1, int(min_s / max(one, 1e-6)))
        # The best repeat, not the median: a peak is what the machine can do (on a shared
        # machine the median would understate it and overstate MFU).
        t = min(time_it(lambda: a @ b, warmup=1, repeats=repeats, inner=inner, device=device))
        out[f"{M}x{K}x{N}"] = 2 * M * K * N / t
    return {"flops_per_s": max(out.values()), "by_shape": out}


def gemm_shapes(batch: int, seq: int, d: int) -> list[tuple[int, int, int]]:
    """A model's own projection (tokens x d -> 3d) and a large square one."""
    return [(batch * seq, d, 3 * d), (2048, 2048, 2048)]


def _has_cpu_flag(flag: str) -> bool:
    try:
        return any(line.startswith("flags") and flag in line.split() for line in open("/proc/cpuinfo"))
    except OSError:
        return False


def environment() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    env = {"python": platform.python_version(), "torch": torch.__version__, "cpu": cpu,
           "threads": torch.get_num_threads(), "cores": os.cpu_count(),
           "cpu_capability": torch.backends.cpu.get_cpu_capability(), "bf16_isa": _has_cpu_flag("avx512_bf16")}
    if torch.cuda.is_available():
        env["gpu"] = torch.cuda.get_device_name(0)
    return env
