"""CPU feature detection and peak arithmetic on /proc/cpuinfo texts of five different CPUs."""

from __future__ import annotations

from pathlib import Path

import pytest

from visionapp.core import hardware

FIXTURES = Path(__file__).parent / "cpuinfo"


def cpu(name: str, logical: int | None = None) -> hardware.CpuInfo:
    return hardware.parse_cpuinfo((FIXTURES / f"{name}.txt").read_text(), logical)


def test_amd_epyc_zen4_vm_has_avx512_vnni_bf16_and_no_amx():
    c = cpu("amd_epyc_zen4_2vcpu")
    assert (c.model, c.vendor, c.family) == ("AMD EPYC", "AuthenticAMD", 25)
    assert c.logical_cpus == 2 and c.cores == 2 and c.threads_per_core == 1
    assert c.avx2 and c.avx512 and c.vnni == "AVX512_VNNI" and c.bf16 == "AVX512_BF16"
    assert not c.amx
    assert c.isa_line() == ("AVX2 yes, AVX-512 yes (F BW VL DQ), VNNI yes (AVX512_VNNI), "
                            "BF16 yes (AVX512_BF16), AMX no")
    # Zen 4 runs AVX-512 on 256-bit units: 2 FMA × 8 lanes × 2 = 32 FP32 FLOP/cycle per core.
    assert c.datapath_bits == 256
    assert c.peak("fp32").gflops == pytest.approx(2 * 2.59613 * 32, rel=1e-4)
    assert c.peak("bf16").gflops == pytest.approx(2 * 2.59613 * 64, rel=1e-4)
    assert c.peak("int8").gflops == pytest.approx(2 * 2.59613 * 128, rel=1e-4)
    assert "AVX512_VNNI" in c.peak("int8").how and "AMX" not in c.peak("bf16").how


def test_sapphire_rapids_counts_hyperthreads_once_and_uses_amx_peaks():
    c = cpu("intel_sapphire_rapids_4vcpu")
    assert c.logical_cpus == 4 and c.threads_per_core == 2 and c.cores == 2
    assert c.amx and c.bf16 == "AMX_BF16" and c.vnni == "AVX512_VNNI"
    assert "AMX yes (TILE BF16 INT8)" in c.isa_line()
    assert c.datapath_bits == 512
    assert c.peak("fp32").gflops == pytest.approx(2 * 2.0 * 64)  # 2 × 512-bit FMA × 16 × 2
    assert c.peak("bf16").gflops == pytest.approx(2 * 2.0 * 1024)
    assert c.peak("int8").gflops == pytest.approx(2 * 2.0 * 2048)


def test_haswell_has_avx2_only_and_int8_without_vnni():
    c = cpu("intel_haswell_4c8t", logical=8)
    assert c.cores == 4 and c.avx2 and not c.avx512 and not c.vnni and not c.bf16
    assert c.isa_line() == "AVX2 yes, AVX-512 no, VNNI no, BF16 no, AMX no"
    fp32 = 4 * 3.4 * 32  # 2 × 256-bit FMA × 8 lanes × 2
    assert c.peak("fp32").gflops == pytest.approx(fp32)
    assert c.peak("bf16").gflops == pytest.approx(fp32)  # no native bf16
    assert c.peak("int8").gflops == pytest.approx(4 * 3.4 * (32 * 4 // 3))
    assert "no VNNI" in c.peak("int8").how


def test_alder_lake_avx_vnni_is_vnni_without_avx512():
    c = cpu("intel_alder_lake_avx_vnni")
    assert c.vnni == "AVX_VNNI" and not c.avx512
    assert c.logical_cpus == 2  # two processor blocks in the text
    assert c.peak("int8").gflops == pytest.approx(4 * c.peak("fp32").gflops)


def test_arm_text_has_no_x86_features_and_no_clock():
    c = cpu("arm_neoverse")
    assert c.model == "unknown" and c.logical_cpus == 2
    assert not (c.avx2 or c.avx512 or c.vnni or c.bf16 or c.amx)
    assert c.clock_mhz is None and c.peak("fp32").gflops == 0.0
    assert "clock unknown" in c.describe()


def test_signature_separates_machines_and_bad_precision_is_refused():
    a, b = cpu("amd_epyc_zen4_2vcpu"), cpu("intel_sapphire_rapids_4vcpu")
    assert hardware.signature(a) != hardware.signature(b)
    assert hardware.signature(a) == hardware.signature(cpu("amd_epyc_zen4_2vcpu"))
    with pytest.raises(ValueError, match="precision 'fp16'"):
        a.peak("fp16")


def test_this_machine_is_read_without_assuming():
    c = hardware.read_cpu()
    assert c.logical_cpus >= 1 and c.cores >= 1
    if hardware.CPUINFO.exists():
        text = hardware.CPUINFO.read_text()
        assert c.avx512 == (" avx512f" in text) and c.amx == (" amx_tile" in text)
