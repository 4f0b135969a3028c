//! The pure part of the POSIX message-queue calls (`mq_open`, `mq_timedsend`,
//! `mq_timedreceive`, `mq_notify`, `mq_getsetattr`, `mq_unlink`): queue names, the
//! `struct mq_attr` of a new queue checked against Linux's limits, and `struct sigevent`.
//! No kernel dependencies (errors are the `errno` crate's): host-tested.

use errno::Errno;

/// Priorities are below this (`MQ_PRIO_MAX`).
pub const PRIO_MAX: u32 = 32768;
/// A new queue's sizes when `mq_open` gets no attributes (Linux's `msg_default`,
/// `msgsize_default`).
pub const DEFAULT_MAX_MESSAGES: usize = 10;
pub const DEFAULT_MESSAGE_SIZE: usize = 8192;
/// The most a privileged process may ask for (`HARD_MSGMAX`, `HARD_MSGSIZEMAX`).
const HARD_MAX_MESSAGES: i64 = 65536;
const HARD_MESSAGE_SIZE: i64 = 16 * 1024 * 1024;
/// `RLIMIT_MSGQUEUE`'s default: the bytes one user's queues may take.
const RLIMIT_MSGQUEUE: u64 = 819_200;
/// Linux's `NAME_MAX`.
const NAME_MAX: usize = 255;

/// `struct mq_attr`: flags, max messages, message size, current messages (then 4 reserved
/// longs), 64 bytes.
pub const MQ_ATTR_SIZE: usize = 64;

/// The four fields of a `struct mq_attr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MqAttr {
    pub flags: i64,
    pub max_messages: i64,
    pub message_size: i64,
    pub messages: i64,
}

impl MqAttr {
    pub fn decode(raw: &[u8; MQ_ATTR_SIZE]) -> MqAttr {
        let field = |i: usize| i64::from_ne_bytes(raw[8 * i..8 * i + 8].try_into().unwrap());
        MqAttr {
            flags: field(0),
            max_messages: field(1),
            message_size: field(2),
            messages: field(3),
        }
    }

    pub fn encode(&self) -> [u8; MQ_ATTR_SIZE] {
        let mut out = [0u8; MQ_ATTR_SIZE];
        for (i, v) in [
            self.flags,
            self.max_messages,
            self.message_size,
            self.messages,
        ]
        .iter()
        .enumerate()
        {
            out[8 * i..8 * i + 8].copy_from_slice(&v.to_ne_bytes());
        }
        out
    }
}

/// The name `mq_open` and `mq_unlink` get (libc has taken the leading `/`): empty is
/// `ENOENT`, one with a `/` is `EACCES` (it would name a directory of the queue file
/// system), longer than `NAME_MAX` is `ENAMETOOLONG`.
pub fn check_name(name: &[u8]) -> Result<&str, Errno> {
    if name.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    if name.is_empty() {
        return Err(Errno::ENOENT);
    }
    if name.contains(&b'/') || name == b"." || name == b".." {
        return Err(Errno::EACCES);
    }
    core::str::from_utf8(name).map_err(|_| Errno::EINVAL)
}

/// A new queue's sizes from `mq_open`'s attributes (`None`: the defaults): a size of zero or
/// less, or above the hard limits, is `EINVAL`; a queue whose messages could take more than
/// `RLIMIT_MSGQUEUE` bytes is `EMFILE`, as Linux counts them (each message also costs a
/// pointer).
pub fn new_queue_sizes(attr: Option<MqAttr>) -> Result<(usize, usize), Errno> {
    let Some(a) = attr else {
        return Ok((DEFAULT_MAX_MESSAGES, DEFAULT_MESSAGE_SIZE));
    };
    if a.max_messages <= 0 || a.message_size <= 0 {
        return Err(Errno::EINVAL);
    }
    if a.max_messages > HARD_MAX_MESSAGES || a.message_size > HARD_MESSAGE_SIZE {
        return Err(Errno::EINVAL);
    }
    let (count, size) = (a.max_messages as u64, a.message_size as u64);
    if count * (size + 8) > RLIMIT_MSGQUEUE {
        return Err(Errno::EMFILE);
    }
    Ok((count as usize, size as usize))
}

/// `sigev_notify` values.
pub const SIGEV_SIGNAL: i32 = 0;
pub const SIGEV_NONE: i32 = 1;
pub const SIGEV_THREAD: i32 = 2;

/// What `mq_notify` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notify {
    /// Registered, nothing sent.
    None,
    /// A signal (number, value).
    Signal(u32, u64),
    /// Linux's `SIGEV_THREAD` for the queue calls: a netlink socket that gets the value.
    Thread,
}

/// `struct sigevent`'s first 16 bytes: value, signal number, notification kind. A kind
/// other than these three, or `SIGEV_SIGNAL` with a signal outside 1..=64, is `EINVAL`.
pub fn decode_sigevent(raw: &[u8; 16]) -> Result<Notify, Errno> {
    let value = u64::from_ne_bytes(raw[0..8].try_into().unwrap());
    let signo = i32::from_ne_bytes(raw[8..12].try_into().unwrap());
    let kind = i32::from_ne_bytes(raw[12..16].try_into().unwrap());
    match kind {
        SIGEV_NONE => Ok(Notify::None),
        SIGEV_SIGNAL if (1..=64).contains(&signo) => Ok(Notify::Signal(signo as u32, value)),
        SIGEV_THREAD => Ok(Notify::Thread),
        _ => Err(Errno::EINVAL),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(check_name(b"queue"), Ok("queue"));
        assert_eq!(check_name(b""), Err(Errno::ENOENT));
        assert_eq!(check_name(b"a/b"), Err(Errno::EACCES));
        assert_eq!(check_name(&[b'x'; 256]), Err(Errno::ENAMETOOLONG));
        assert!(check_name(&[b'x'; 255]).is_ok());
    }

    #[test]
    fn sizes() {
        let attr = |max, size| MqAttr {
            flags: 0,
            max_messages: max,
            message_size: size,
            messages: 0,
        };
        assert_eq!(new_queue_sizes(None), Ok((10, 8192)));
        assert_eq!(new_queue_sizes(Some(attr(10, 32))), Ok((10, 32)));
        assert_eq!(new_queue_sizes(Some(attr(0, 32))), Err(Errno::EINVAL));
        assert_eq!(new_queue_sizes(Some(attr(10, -1))), Err(Errno::EINVAL));
        assert_eq!(new_queue_sizes(Some(attr(100_000, 1))), Err(Errno::EINVAL));
        assert_eq!(new_queue_sizes(Some(attr(1000, 8192))), Err(Errno::EMFILE));
        let a = attr(5, 64);
        assert_eq!(MqAttr::decode(&a.encode()), a);
    }

    #[test]
    fn sigevents() {
        let ev = |value: u64, signo: i32, kind: i32| {
            let mut raw = [0u8; 16];
            raw[0..8].copy_from_slice(&value.to_ne_bytes());
            raw[8..12].copy_from_slice(&signo.to_ne_bytes());
            raw[12..16].copy_from_slice(&kind.to_ne_bytes());
            raw
        };
        assert_eq!(decode_sigevent(&ev(0, 0, SIGEV_NONE)), Ok(Notify::None));
        assert_eq!(
            decode_sigevent(&ev(7, 10, SIGEV_SIGNAL)),
            Ok(Notify::Signal(10, 7))
        );
        assert_eq!(decode_sigevent(&ev(0, 0, SIGEV_SIGNAL)), Err(Errno::EINVAL));
        assert_eq!(
            decode_sigevent(&ev(0, 65, SIGEV_SIGNAL)),
            Err(Errno::EINVAL)
        );
        assert_eq!(decode_sigevent(&ev(0, 0, SIGEV_THREAD)), Ok(Notify::Thread));
        assert_eq!(decode_sigevent(&ev(0, 0, 9)), Err(Errno::EINVAL));
    }
}
