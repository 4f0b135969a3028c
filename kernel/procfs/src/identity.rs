//! What the system calls itself: the `uname` fields, also shown in `/proc/sys/kernel` and
//! `/proc/version`.

/// `uname -s`, `/proc/sys/kernel/ostype`: the ABI programs see.
pub const SYSNAME: &str = "Linux";
/// `uname -n`, `/proc/sys/kernel/hostname`.
pub const NODENAME: &str = "theseus";
/// `uname -r`, `/proc/sys/kernel/osrelease`: the Linux release whose system-call ABI the
/// `posix` layer follows.
pub const RELEASE: &str = "6.1.0-theseus";
/// `uname -v`, `/proc/sys/kernel/version`.
pub const VERSION: &str = "#1 SMP";
/// `uname -m`.
pub const MACHINE: &str = "x86_64";
/// `/proc/sys/kernel/domainname`.
pub const DOMAINNAME: &str = "(none)";
