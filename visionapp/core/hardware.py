"""What this CPU can do, read from ``/proc/cpuinfo`` — never assumed — and its arithmetic peak.

The benchmarks print this (a result means little without the machine it came from) and the
YOLO precision choice reads it. Everything is parsed from the text the kernel reports, so the
parser is tested on fixture texts of other CPUs.

Peak arithmetic throughput is an upper bound computed from the detected features:

- FP32: ``FMA pipes × (datapath bits / 32) × 2`` FLOP per cycle per core. Two FMA pipes (every
  x86 core with FMA since 2013 has two); the datapath is 512 bits with AVX-512 except on AMD
  family 25h (Zen 3/4), which executes 512-bit instructions on 256-bit units.
- BF16 (``AVX512_BF16``: VDPBF16PS): 2 multiply-adds per 32-bit lane, so 2× FP32.
- INT8 with VNNI (VPDPBUSD): 4 multiply-adds per 32-bit lane, so 4× FP32 (in OP/s). Without
  VNNI, INT8 takes three instructions (VPMADDUBSW, VPMADDWD, VPADDD) per 4 multiply-adds: 4/3×.
- AMX (``amx_bf16`` / ``amx_int8``): TDPBF16PS does 16×16×32 multiply-adds every 16 cycles,
  1024 BF16 FLOP per cycle per core; TDPBSSD twice that for INT8.

Cores are the logical CPUs this process may use divided by the threads per core the kernel
reports (in a VM a "core" may be a host hyperthread; the header says what was counted). The
clock is ``cpu MHz`` (the kernel's current or nominal clock; turbo may run higher).
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")
PRECISIONS = ("fp32", "bf16", "int8")


@dataclass(frozen=True, slots=True)
class Peak:
    """Peak arithmetic rate of one precision: GFLOP/s (GOP/s for INT8) and how it was computed."""

    precision: str
    gflops: float
    how: str


@dataclass(frozen=True, slots=True)
class CpuInfo:
    model: str
    vendor: str  # "GenuineIntel", "AuthenticAMD", ... ("" when not reported)
    family: int | None
    logical_cpus: int  # usable by this process
    threads_per_core: int
    clock_mhz: float | None
    flags: frozenset[str]

    @property
    def cores(self) -> int:
        """Physical cores among the usable logical CPUs (at least 1)."""
        return max(1, self.logical_cpus // max(1, self.threads_per_core))

    @property
    def avx2(self) -> bool:
        return "avx2" in self.flags

    @property
    def avx512(self) -> bool:
        return "avx512f" in self.flags

    @property
    def vnni(self) -> str:
        """The VNNI flavour present ("AVX512_VNNI", "AVX_VNNI") or ""."""
        if "avx512_vnni" in self.flags:
            return "AVX512_VNNI"
        return "AVX_VNNI" if "avx_vnni" in self.flags else ""

    @property
    def bf16(self) -> str:
        """Native BF16 dot products: "AMX_BF16", "AVX512_BF16" or ""."""
        if "amx_bf16" in self.flags:
            return "AMX_BF16"
        return "AVX512_BF16" if "avx512_bf16" in self.flags else ""

    @property
    def amx(self) -> bool:
        return "amx_tile" in self.flags

    @property
    def datapath_bits(self) -> int:
        """Width of one FMA unit: 512, 256 or 128."""
        if self.avx512:
            zen34 = self.vendor == "AuthenticAMD" and self.family == 0x19
            return 256 if zen34 else 512
        if self.avx2 or "avx" in self.flags:
            return 256
        return 128

    def isa_line(self) -> str:
        """One line of the features that decide inference speed, each yes/no as detected."""
        def yn(found: object, detail: str = "") -> str:
            return f"yes{f' ({detail})' if detail else ''}" if found else "no"

        avx512 = [f.removeprefix("avx512").upper() for f in ("avx512f", "avx512bw", "avx512vl",
                                                              "avx512dq") if f in self.flags]
        amx = [f.removeprefix("amx_").upper() for f in ("amx_tile", "amx_bf16", "amx_int8",
                                                          "amx_fp16") if f in self.flags]
        return (f"AVX2 {yn(self.avx2)}, AVX-512 {yn(self.avx512, ' '.join(avx512))}, "
                f"VNNI {yn(self.vnni, self.vnni)}, BF16 {yn(self.bf16, self.bf16)}, "
                f"AMX {yn(self.amx, ' '.join(amx))}")

    def describe(self) -> str:
        clock = f"{self.clock_mhz / 1000:.2f} GHz (cpu MHz)" if self.clock_mhz else "clock unknown"
        family = f" family {self.family:#x}" if self.family is not None else ""
        return (f"{self.model} ({self.vendor or 'vendor unknown'}{family}), {self.logical_cpus} "
                f"logical CPUs usable = {self.cores} cores × {self.threads_per_core} thread(s), "
                f"{clock}")

    def peak(self, precision: str) -> Peak:
        """Peak rate of ``precision`` ("fp32", "bf16", "int8") on the usable cores; see module
        docstring for the model. 0 GFLOP/s when the clock is unknown."""
        if precision not in PRECISIONS:
            raise ValueError(f"precision {precision!r}: expected one of {PRECISIONS}")
        ghz = (self.clock_mhz or 0.0) / 1000
        lanes = self.datapath_bits // 32
        fma = "fma" in self.flags
        fp32 = (2 * lanes * 2) if fma else lanes * 2  # no FMA: one mul and one add pipe
        fp32_how = (f"2 FMA pipes × {lanes} FP32 lanes × 2" if fma
                    else f"{lanes} FP32 lanes × (1 mul + 1 add)")
        if self.avx512 and self.datapath_bits == 256:
            fp32_how += ", AVX-512 on 256-bit units (AMD family 19h)"
        if precision == "fp32":
            per_cycle, how = fp32, fp32_how
        elif precision == "bf16" and "amx_bf16" in self.flags:
            per_cycle, how = 1024, "AMX TDPBF16PS: 16×16×32 multiply-adds / 16 cycles × 2"
        elif precision == "bf16" and "avx512_bf16" in self.flags:
            per_cycle, how = 2 * fp32, f"AVX512_BF16 VDPBF16PS: 2 × FP32 ({fp32_how})"
        elif precision == "bf16":
            per_cycle, how = fp32, "no native BF16: computed as FP32"
        elif "amx_int8" in self.flags:
            per_cycle, how = 2048, "AMX TDPBSSD: 16×16×64 multiply-adds / 16 cycles × 2"
        elif self.vnni:
            per_cycle, how = 4 * fp32, f"{self.vnni} VPDPBUSD: 4 × FP32 ({fp32_how})"
        else:
            per_cycle, how = fp32 * 4 // 3, f"no VNNI: 3 instructions per 4 INT8 MACs ({fp32_how})"
        gflops = self.cores * ghz * per_cycle
        unit = "GOP/s" if precision == "int8" else "GFLOP/s"
        how = (f"{self.cores} cores × {ghz:.2f} GHz × {per_cycle} {precision.upper()} op/cycle "
               f"[{how}] = {gflops:.0f} {unit}")
        return Peak(precision, gflops, how)


def parse_cpuinfo(text: str, logical_cpus: int | None = None) -> CpuInfo:
    """A CpuInfo from the text of ``/proc/cpuinfo`` (the first processor's block).

    ``logical_cpus`` is how many CPUs this process may use (default: counted in the text)."""
    blocks = [b for b in text.split("\n\n") if b.strip()]
    first: dict[str, str] = {}
    for line in (blocks[0] if blocks else "").splitlines():
        key, sep, value = line.partition(":")
        if sep:
            first.setdefault(key.strip(), value.strip())
    listed = sum(1 for b in blocks if any(line.startswith("processor") for line in b.splitlines()))
    siblings, cores = _int(first.get("siblings")), _int(first.get("cpu cores"))
    threads = max(1, siblings // cores) if siblings and cores else 1
    flags = frozenset((first.get("flags") or first.get("Features") or "").split())
    family = _int(first.get("cpu family"))
    model = first.get("model name") or first.get("Processor") or "unknown"
    try:
        mhz: float | None = float(first["cpu MHz"])
    except (KeyError, ValueError):
        mhz = None
    return CpuInfo(model=model, vendor=first.get("vendor_id", ""), family=family,
                   logical_cpus=logical_cpus or listed or 1, threads_per_core=threads,
                   clock_mhz=mhz, flags=flags)


def _usable_cpus() -> int | None:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count()


# Counted once, at import: inference runtimes pin their threads to single CPUs later on, and a
# pinned thread would see a mask of one.
USABLE_CPUS_AT_START = _usable_cpus()


def read_cpu() -> CpuInfo:
    """This machine's CPU (flags empty where ``/proc/cpuinfo`` does not exist)."""
    usable = USABLE_CPUS_AT_START
    try:
        text = CPUINFO.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = f"model name : {platform.processor() or platform.machine()}\n"
    return parse_cpuinfo(text, usable)


def signature(cpu: CpuInfo) -> str:
    """Identifies a CPU for cached measurements: model, usable cores and the features used."""
    wanted = sorted(f for f in cpu.flags if f.startswith(("avx", "amx", "fma")))
    return f"{cpu.model}|{cpu.logical_cpus}|{' '.join(wanted)}"


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
