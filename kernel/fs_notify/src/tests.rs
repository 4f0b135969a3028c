use super::*;
use alloc::vec;

/// Decodes the records of a read: (wd, mask, cookie, name).
fn decode(mut bytes: &[u8]) -> Vec<(i32, u32, u32, String)> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let word = |at: usize| u32::from_ne_bytes(bytes[at..at + 4].try_into().unwrap());
        let len = word(12) as usize;
        assert_eq!(len % EVENT_HEADER, 0, "name field padded to 16");
        let name = &bytes[EVENT_HEADER..EVENT_HEADER + len];
        let name = String::from_utf8(name.iter().take_while(|&&b| b != 0).copied().collect());
        out.push((word(0) as i32, word(4), word(8), name.unwrap()));
        bytes = &bytes[EVENT_HEADER + len..];
    }
    out
}

fn read_all(r: &Registry, i: InstanceId) -> Vec<(i32, u32, u32, String)> {
    let mut buf = vec![0u8; 4096];
    match r.read(i, &mut buf) {
        Ok(n) => decode(&buf[..n]),
        Err(Errno::EAGAIN) => Vec::new(),
        Err(e) => panic!("read: {e:?}"),
    }
}

#[test]
fn events_pass_the_watch_mask_and_carry_names() {
    let r = Registry::new();
    let i = r.create().unwrap();
    assert!(!r.any_watches());
    let wd = r.add_watch(i, 7, IN_CREATE | IN_DELETE).unwrap();
    assert!(r.any_watches());
    assert!(r.notify(7, IN_CREATE, 0, Some("a")));
    assert!(!r.notify(7, IN_MODIFY, 0, Some("a")), "masked out");
    assert!(!r.notify(8, IN_CREATE, 0, Some("b")), "other node");
    assert!(r.notify(7, IN_DELETE | IN_ISDIR, 0, Some("dir-with-a-longer-name")));
    assert_eq!(
        read_all(&r, i),
        [
            (wd, IN_CREATE, 0, "a".into()),
            (wd, IN_DELETE | IN_ISDIR, 0, "dir-with-a-longer-name".into())
        ]
    );
    assert_eq!(r.read(i, &mut [0; 64]), Err(Errno::EAGAIN));
}

#[test]
fn record_sizes_and_small_buffers() {
    let r = Registry::new();
    let i = r.create().unwrap();
    r.add_watch(i, 1, IN_ALL_EVENTS).unwrap();
    r.notify(1, IN_OPEN, 0, None);
    r.notify(1, IN_CREATE, 0, Some("exactly15chars!"));
    r.notify(1, IN_CREATE, 0, Some("sixteen-chars-xx"));
    assert_eq!(r.pending_bytes(i), 16 + 32 + 48);
    assert_eq!(r.read(i, &mut [0; 15]), Err(Errno::EINVAL));
    // Only whole records: 16 + 32 fit in 60, the third waits.
    assert_eq!(r.read(i, &mut [0; 60]), Ok(48));
    assert_eq!(r.read(i, &mut [0; 47]), Err(Errno::EINVAL));
    assert_eq!(r.read(i, &mut [0; 48]), Ok(48));
    assert_eq!(r.pending_bytes(i), 0);
}

#[test]
fn identical_events_merge_and_overflow_is_reported_once() {
    let r = Registry::new();
    let i = r.create().unwrap();
    let wd = r.add_watch(i, 1, IN_MODIFY | IN_ACCESS).unwrap();
    r.notify(1, IN_MODIFY, 0, None);
    r.notify(1, IN_MODIFY, 0, None);
    r.notify(1, IN_ACCESS, 0, None);
    r.notify(1, IN_MODIFY, 0, None);
    assert_eq!(
        read_all(&r, i),
        [
            (wd, IN_MODIFY, 0, String::new()),
            (wd, IN_ACCESS, 0, String::new()),
            (wd, IN_MODIFY, 0, String::new())
        ]
    );
    for n in 0..MAX_QUEUED_EVENTS + 10 {
        r.notify(1, if n % 2 == 0 { IN_MODIFY } else { IN_ACCESS }, 0, None);
    }
    let mut buf = vec![0u8; (MAX_QUEUED_EVENTS + 10) * EVENT_HEADER];
    let n = r.read(i, &mut buf).unwrap();
    let events = decode(&buf[..n]);
    assert_eq!(events.len(), MAX_QUEUED_EVENTS + 1);
    assert_eq!(
        events.last().unwrap(),
        &(-1, IN_Q_OVERFLOW, 0, String::new())
    );
}

#[test]
fn add_watch_again_replaces_extends_or_refuses() {
    let r = Registry::new();
    let i = r.create().unwrap();
    let wd = r.add_watch(i, 3, IN_CREATE).unwrap();
    assert_eq!(r.add_watch(i, 3, IN_DELETE), Ok(wd), "same node, same wd");
    assert!(!r.notify(3, IN_CREATE, 0, Some("x")), "mask replaced");
    assert_eq!(r.add_watch(i, 3, IN_CREATE | IN_MASK_ADD), Ok(wd));
    assert!(r.notify(3, IN_CREATE, 0, Some("x")));
    assert!(r.notify(3, IN_DELETE, 0, Some("x")));
    assert_eq!(
        r.add_watch(i, 3, IN_CREATE | IN_MASK_CREATE),
        Err(Errno::EEXIST)
    );
    assert_eq!(
        r.add_watch(i, 4, IN_CREATE | IN_MASK_CREATE | IN_MASK_ADD),
        Err(Errno::EINVAL)
    );
    assert_eq!(r.add_watch(i, 4, 0), Err(Errno::EINVAL), "no event bit");
    assert_eq!(
        r.add_watch(i, 4, IN_CREATE | 1 << 20),
        Err(Errno::EINVAL),
        "unknown bit"
    );
    assert_eq!(r.add_watch(i + 1, 4, IN_CREATE), Err(Errno::EBADF));
    let other = r.add_watch(i, 4, IN_CREATE).unwrap();
    assert_ne!(other, wd);
}

#[test]
fn rm_watch_oneshot_and_deleted_nodes_end_in_ignored() {
    let r = Registry::new();
    let i = r.create().unwrap();
    let a = r.add_watch(i, 1, IN_ATTRIB).unwrap();
    let b = r.add_watch(i, 2, IN_ATTRIB | IN_ONESHOT).unwrap();
    let c = r.add_watch(i, 3, IN_DELETE_SELF).unwrap();
    r.rm_watch(i, a).unwrap();
    assert_eq!(r.rm_watch(i, a), Err(Errno::EINVAL));
    assert!(!r.notify(1, IN_ATTRIB, 0, None));
    r.notify(2, IN_ATTRIB, 0, None);
    assert!(!r.notify(2, IN_ATTRIB, 0, None), "oneshot watch is gone");
    r.notify(3, IN_DELETE_SELF, 0, None);
    assert!(r.node_gone(3));
    assert!(!r.any_watches());
    assert_eq!(
        read_all(&r, i),
        [
            (a, IN_IGNORED, 0, String::new()),
            (b, IN_ATTRIB, 0, String::new()),
            (b, IN_IGNORED, 0, String::new()),
            (c, IN_DELETE_SELF, 0, String::new()),
            (c, IN_IGNORED, 0, String::new()),
        ]
    );
}

#[test]
fn instances_are_independent_and_destroy_drops_their_watches() {
    let r = Registry::new();
    let i = r.create().unwrap();
    let j = r.create().unwrap();
    let wi = r.add_watch(i, 5, IN_MOVED_FROM | IN_MOVED_TO).unwrap();
    let wj = r.add_watch(j, 5, IN_MOVED_TO).unwrap();
    let cookie = r.new_cookie();
    assert_ne!(cookie, 0);
    r.notify(5, IN_MOVED_FROM, cookie, Some("old"));
    r.notify(5, IN_MOVED_TO, cookie, Some("new"));
    assert_eq!(
        read_all(&r, i),
        [
            (wi, IN_MOVED_FROM, cookie, "old".into()),
            (wi, IN_MOVED_TO, cookie, "new".into())
        ]
    );
    assert_eq!(read_all(&r, j), [(wj, IN_MOVED_TO, cookie, "new".into())]);
    r.destroy(i);
    assert!(r.any_watches());
    r.destroy(j);
    assert!(!r.any_watches());
    assert!(!r.notify(5, IN_MOVED_TO, 0, Some("x")));
    assert_eq!(r.read(i, &mut [0; 64]), Err(Errno::EBADF));
}
