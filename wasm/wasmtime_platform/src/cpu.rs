//! CPU features for `Config::detect_host_feature`: wasmtime asks, when it loads an artifact,
//! whether each Cranelift ISA flag the artifact was compiled with is available here.

use core::arch::x86_64::{__cpuid, __cpuid_count, CpuidResult};

fn leaf(eax: u32, ecx: u32) -> CpuidResult {
    let max = if eax >= 0x8000_0000 {
        __cpuid(0x8000_0000).eax
    } else {
        __cpuid(0).eax
    };
    if eax > max {
        return CpuidResult {
            eax: 0,
            ebx: 0,
            ecx: 0,
            edx: 0,
        };
    }
    __cpuid_count(eax, ecx)
}

fn bit(value: u32, n: u32) -> bool {
    value & (1 << n) != 0
}

/// Whether the CPU has `feature` (wasmtime's names: `sse3`, `ssse3`, `sse4.1`, `sse4.2`,
/// `popcnt`, `lzcnt`, `bmi1`, `bmi2`, `cmpxchg16b`); `Some(false)` for the AVX family
/// (the kernel does not enable AVX state) and `None` for names it does not know.
pub fn detect_host_feature(feature: &str) -> Option<bool> {
    let basic = leaf(1, 0);
    let ext = leaf(7, 0);
    let amd = leaf(0x8000_0001, 0);
    Some(match feature {
        "sse3" => bit(basic.ecx, 0),
        "ssse3" => bit(basic.ecx, 9),
        "cmpxchg16b" => bit(basic.ecx, 13),
        "sse4.1" => bit(basic.ecx, 19),
        "sse4.2" => bit(basic.ecx, 20),
        "popcnt" => bit(basic.ecx, 23),
        "bmi1" => bit(ext.ebx, 3),
        "bmi2" => bit(ext.ebx, 8),
        "lzcnt" => bit(amd.ecx, 5),
        "avx" | "avx2" | "fma" | "avxvnni" | "avx512bitalg" | "avx512dq" | "avx512f"
        | "avx512vl" | "avx512vbmi" | "avx512vnni" => false,
        _ => return None,
    })
}
