//! `/proc/cpuinfo` from CPUID: vendor, model, feature flags (Linux's names for the common
//! ones), and the topology fields `sysinfo` and `nproc`-like tools count.

use crate::online_cpus;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::arch::x86_64::{__cpuid, __cpuid_count};

/// Feature flags by (leaf, register, bit): Linux's names for them.
const FLAGS: &[(u32, Reg, u32, &str)] = &[
    (1, Reg::Edx, 0, "fpu"),
    (1, Reg::Edx, 4, "tsc"),
    (1, Reg::Edx, 5, "msr"),
    (1, Reg::Edx, 6, "pae"),
    (1, Reg::Edx, 8, "cx8"),
    (1, Reg::Edx, 9, "apic"),
    (1, Reg::Edx, 11, "sep"),
    (1, Reg::Edx, 15, "cmov"),
    (1, Reg::Edx, 16, "pat"),
    (1, Reg::Edx, 17, "pse36"),
    (1, Reg::Edx, 19, "clflush"),
    (1, Reg::Edx, 23, "mmx"),
    (1, Reg::Edx, 24, "fxsr"),
    (1, Reg::Edx, 25, "sse"),
    (1, Reg::Edx, 26, "sse2"),
    (1, Reg::Edx, 28, "ht"),
    (0x8000_0001, Reg::Edx, 11, "syscall"),
    (0x8000_0001, Reg::Edx, 20, "nx"),
    (0x8000_0001, Reg::Edx, 27, "rdtscp"),
    (0x8000_0001, Reg::Edx, 29, "lm"),
    (1, Reg::Ecx, 0, "pni"),
    (1, Reg::Ecx, 1, "pclmulqdq"),
    (1, Reg::Ecx, 9, "ssse3"),
    (1, Reg::Ecx, 12, "fma"),
    (1, Reg::Ecx, 13, "cx16"),
    (1, Reg::Ecx, 19, "sse4_1"),
    (1, Reg::Ecx, 20, "sse4_2"),
    (1, Reg::Ecx, 22, "movbe"),
    (1, Reg::Ecx, 23, "popcnt"),
    (1, Reg::Ecx, 25, "aes"),
    (1, Reg::Ecx, 26, "xsave"),
    (1, Reg::Ecx, 28, "avx"),
    (1, Reg::Ecx, 29, "f16c"),
    (1, Reg::Ecx, 30, "rdrand"),
    (1, Reg::Ecx, 31, "hypervisor"),
    (0x8000_0001, Reg::Ecx, 0, "lahf_lm"),
    (0x8000_0001, Reg::Ecx, 5, "abm"),
    (7, Reg::Ebx, 0, "fsgsbase"),
    (7, Reg::Ebx, 3, "bmi1"),
    (7, Reg::Ebx, 5, "avx2"),
    (7, Reg::Ebx, 8, "bmi2"),
    (7, Reg::Ebx, 9, "erms"),
    (7, Reg::Ebx, 18, "rdseed"),
    (7, Reg::Ebx, 19, "adx"),
    (7, Reg::Ebx, 29, "sha_ni"),
];

#[derive(Clone, Copy)]
enum Reg {
    Ebx,
    Ecx,
    Edx,
}

/// Register `reg` of CPUID leaf `leaf`, 0 if the CPU does not have the leaf.
fn cpuid(leaf: u32, reg: Reg) -> u32 {
    let max = if leaf >= 0x8000_0000 {
        __cpuid(0x8000_0000).eax
    } else {
        __cpuid(0).eax
    };
    if leaf > max {
        return 0;
    }
    let r = __cpuid_count(leaf, 0);
    match reg {
        Reg::Ebx => r.ebx,
        Reg::Ecx => r.ecx,
        Reg::Edx => r.edx,
    }
}

/// The 12-byte vendor string (`GenuineIntel`, `AuthenticAMD`).
fn vendor() -> String {
    let r = __cpuid(0);
    let mut bytes = Vec::with_capacity(12);
    for reg in [r.ebx, r.edx, r.ecx] {
        bytes.extend_from_slice(&reg.to_le_bytes());
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The brand string of leaves 0x80000002-4, trimmed.
fn model_name() -> String {
    if __cpuid(0x8000_0000).eax < 0x8000_0004 {
        return String::from("unknown");
    }
    let mut bytes = Vec::with_capacity(48);
    for leaf in 0x8000_0002..=0x8000_0004u32 {
        let r = __cpuid(leaf);
        for reg in [r.eax, r.ebx, r.ecx, r.edx] {
            bytes.extend_from_slice(&reg.to_le_bytes());
        }
    }
    let text = String::from_utf8_lossy(&bytes);
    String::from(text.trim_matches(|c: char| c == '\0' || c.is_whitespace()))
}

/// `/proc/cpuinfo`: one block per online CPU.
pub(crate) fn cpuinfo() -> String {
    let sig = __cpuid(1).eax;
    let base_family = (sig >> 8) & 0xf;
    let family = if base_family == 0xf {
        base_family + ((sig >> 20) & 0xff)
    } else {
        base_family
    };
    let model = if base_family == 0x6 || base_family == 0xf {
        ((sig >> 4) & 0xf) | (((sig >> 16) & 0xf) << 4)
    } else {
        (sig >> 4) & 0xf
    };
    let stepping = sig & 0xf;
    let flags: Vec<&str> = FLAGS
        .iter()
        .filter(|&&(leaf, reg, bit, _)| cpuid(leaf, reg) & (1 << bit) != 0)
        .map(|&(_, _, _, name)| name)
        .collect();
    let mhz = time::tsc_hz() / 1000;
    let address_sizes = __cpuid(0x8000_0000)
        .eax
        .checked_sub(0x8000_0008)
        .map(|_| __cpuid(0x8000_0008).eax);
    let cpus = online_cpus();
    let mut out = String::new();
    for i in 0..cpus {
        out.push_str(&format!(
            "processor\t: {i}\nvendor_id\t: {}\ncpu family\t: {family}\nmodel\t\t: {model}\n\
             model name\t: {}\nstepping\t: {stepping}\ncpu MHz\t\t: {}.{:03}\n\
             physical id\t: 0\nsiblings\t: {cpus}\ncore id\t\t: {i}\ncpu cores\t: {cpus}\n\
             apicid\t\t: {}\nfpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: {}\n\
             wp\t\t: yes\nflags\t\t: {}\nclflush size\t: 64\ncache_alignment\t: 64\n",
            vendor(),
            model_name(),
            mhz / 1000,
            mhz % 1000,
            smp::cpu(i).map_or(0, |c| c.apic_id),
            __cpuid(0).eax,
            flags.join(" "),
        ));
        if let Some(sizes) = address_sizes {
            out.push_str(&format!(
                "address sizes\t: {} bits physical, {} bits virtual\n",
                sizes & 0xff,
                (sizes >> 8) & 0xff
            ));
        }
        out.push('\n');
    }
    out
}
