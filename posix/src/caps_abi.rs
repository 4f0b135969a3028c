//! The pure part of `capget`/`capset`: the header versions (v1: one 32-bit word per set, v2
//! and v3: two), the `struct __user_cap_data_struct` words, and the rules by which Linux lets
//! a thread change its own sets (`cap_capset` in Linux's `security/commoncap.c`). No kernel
//! dependencies (errors are the `errno` crate's): host-tested.

use errno::Errno;
use linux_raw_sys::general as g;

/// Every capability this Linux ABI knows (`CAP_LAST_CAP` and below).
pub const VALID: u64 = (1u64 << (g::CAP_LAST_CAP + 1)) - 1;

/// `CAP_SETPCAP`: lets a thread raise inheritable capabilities beyond its permitted set.
const CAP_SETPCAP: u32 = 8;

/// The version a bad header is rewritten to (Linux's `_KERNEL_CAPABILITY_VERSION`, v3).
pub const KERNEL_VERSION: u32 = g::_LINUX_CAPABILITY_VERSION_3;

/// One thread's capability sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapSets {
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
}

impl CapSets {
    /// What a root process holds: every capability permitted and effective, none inheritable
    /// (what Linux gives uid 0 at `execve` with a full bounding set).
    pub const ROOT: CapSets = CapSets {
        effective: VALID,
        permitted: VALID,
        inheritable: 0,
    };

    /// The sets after an `execve` by root: permitted and effective become the whole bounding
    /// set (every capability), the inheritable set is kept.
    pub fn after_exec(self) -> CapSets {
        CapSets {
            inheritable: self.inheritable,
            ..CapSets::ROOT
        }
    }

    /// `capset`'s rules: the new permitted set within the old one, the new effective within
    /// the new permitted, the new inheritable within old inheritable plus old permitted
    /// (unless `CAP_SETPCAP` is effective; the bounding set is full). `EPERM` otherwise.
    pub fn change(self, new: CapSets) -> Result<CapSets, Errno> {
        let subset = |a: u64, b: u64| a & !b == 0;
        let setpcap = self.effective & (1 << CAP_SETPCAP) != 0;
        if !setpcap && !subset(new.inheritable, self.inheritable | self.permitted) {
            return Err(Errno::EPERM);
        }
        if !subset(new.permitted, self.permitted) || !subset(new.effective, new.permitted) {
            return Err(Errno::EPERM);
        }
        Ok(new)
    }

    /// The data words (`struct __user_cap_data_struct` each: effective, permitted,
    /// inheritable) for a header that asks for `words` of them.
    pub fn encode(self, words: usize) -> alloc::vec::Vec<u8> {
        let mut out = alloc::vec::Vec::with_capacity(12 * words);
        for i in 0..words {
            for set in [self.effective, self.permitted, self.inheritable] {
                out.extend_from_slice(&((set >> (32 * i)) as u32).to_ne_bytes());
            }
        }
        out
    }

    /// The sets `capset` was given in `words` data words; capabilities beyond
    /// `CAP_LAST_CAP` (and the high word of a v1 header) are dropped, as Linux does.
    pub fn decode(data: &[u8]) -> CapSets {
        let word = |i: usize, field: usize| -> u64 {
            let at = 12 * i + 4 * field;
            data.get(at..at + 4)
                .map_or(0, |b| u64::from(u32::from_ne_bytes(b.try_into().unwrap())))
        };
        let words = data.len() / 12;
        let set = |field: usize| (0..words).fold(0, |s, i| s | word(i, field) << (32 * i)) & VALID;
        CapSets {
            effective: set(0),
            permitted: set(1),
            inheritable: set(2),
        }
    }
}

/// The number of data words a header `version` asks for, or `None` for a version Linux does
/// not know (the call then rewrites the header's version to [`KERNEL_VERSION`] and fails with
/// `EINVAL`).
pub fn words(version: u32) -> Option<usize> {
    match version {
        g::_LINUX_CAPABILITY_VERSION_1 => Some(1),
        g::_LINUX_CAPABILITY_VERSION_2 | g::_LINUX_CAPABILITY_VERSION_3 => Some(2),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(words(0x1998_0330), Some(1));
        assert_eq!(words(0x2007_1026), Some(2));
        assert_eq!(words(0x2008_0522), Some(2));
        assert_eq!(words(0), None);
        assert_eq!(words(0x2008_0523), None);
        assert_eq!(KERNEL_VERSION, 0x2008_0522);
    }

    #[test]
    fn root_holds_every_capability() {
        assert_eq!(VALID, 0x1ff_ffff_ffff);
        let v3 = CapSets::ROOT.encode(2);
        assert_eq!(v3.len(), 24);
        assert_eq!(&v3[0..4], &u32::MAX.to_ne_bytes());
        assert_eq!(&v3[12..16], &0x1ffu32.to_ne_bytes());
        assert_eq!(&v3[8..12], &0u32.to_ne_bytes());
        // v1 shows the low word only.
        assert_eq!(CapSets::ROOT.encode(1).len(), 12);
    }

    #[test]
    fn decode_round_trips_and_masks() {
        let sets = CapSets {
            effective: 0x1_0000_0001,
            permitted: 0x1_0000_0003,
            inheritable: 0x4,
        };
        assert_eq!(CapSets::decode(&sets.encode(2)), sets);
        let mut all = CapSets::ROOT.encode(2);
        all[12..16].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert_eq!(CapSets::decode(&all).effective, VALID);
        // One word: the high capabilities are cleared.
        assert_eq!(CapSets::decode(&sets.encode(1)).effective, 1);
    }

    #[test]
    fn capset_rules() {
        let root = CapSets::ROOT;
        let dropped = CapSets {
            effective: 0b11,
            permitted: 0b111,
            inheritable: 0,
        };
        assert_eq!(root.change(dropped), Ok(dropped));
        // Raising a permitted capability again is refused.
        let raise = CapSets {
            permitted: 0b1111,
            ..dropped
        };
        assert_eq!(dropped.change(raise), Err(Errno::EPERM));
        // Effective must stay within the new permitted set.
        let wide = CapSets {
            effective: 0b1000,
            ..dropped
        };
        assert_eq!(dropped.change(wide), Err(Errno::EPERM));
        // Effective may be raised back within permitted.
        let back = CapSets {
            effective: 0b111,
            ..dropped
        };
        assert_eq!(dropped.change(back), Ok(back));
        // Inheritable within old permitted (no CAP_SETPCAP here)...
        let inh = CapSets {
            inheritable: 0b100,
            ..dropped
        };
        assert_eq!(dropped.change(inh), Ok(inh));
        let inh_out = CapSets {
            inheritable: 0b1000,
            ..dropped
        };
        assert_eq!(dropped.change(inh_out), Err(Errno::EPERM));
        // ...and beyond it with CAP_SETPCAP effective.
        let with_setpcap = CapSets {
            effective: 1 << 8,
            permitted: 1 << 8,
            inheritable: 0,
        };
        let any_inh = CapSets {
            inheritable: 0b1,
            ..with_setpcap
        };
        assert_eq!(with_setpcap.change(any_inh), Ok(any_inh));
        assert_eq!(
            dropped.after_exec(),
            CapSets {
                inheritable: 0,
                ..root
            }
        );
    }
}
