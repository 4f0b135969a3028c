//! Host tests: the numbers are Linux's, the messages are the ones the shell has always printed.

use super::Errno;

#[test]
fn numbers_are_linux_numbers() {
    assert_eq!(Errno::EPERM.raw(), 1);
    assert_eq!(Errno::ENOENT.raw(), 2);
    assert_eq!(Errno::EAGAIN.raw(), 11);
    assert_eq!(Errno::EXDEV.raw(), 18);
    assert_eq!(Errno::ENOSPC.raw(), 28);
    assert_eq!(Errno::ELOOP.raw(), 40);
    assert_eq!(Errno::ENOTSUP.raw(), 95);
    assert_eq!(Errno::ENOTCONN.raw(), 107);
    assert_eq!(Errno::EWOULDBLOCK, Errno::EAGAIN);
    assert_eq!(Errno::EOPNOTSUPP, Errno::ENOTSUP);
    assert_eq!(Errno::from_raw(2), Errno::ENOENT);
}

#[test]
fn every_error_has_one_number_a_name_and_a_message() {
    for pair in Errno::ALL.windows(2) {
        assert!(pair[0] < pair[1], "{:?} before {:?}", pair[0], pair[1]);
    }
    for &e in Errno::ALL {
        let name = e.name().unwrap();
        assert!(name.starts_with('E'), "{name}");
        assert_eq!(format!("{e:?}"), name);
        assert_ne!(e.message(), "Unknown error", "{name}");
    }
}

/// The shell and the programs print these: they must not change by a byte.
#[test]
fn messages_are_the_ones_printed_before() {
    let expected = [
        (Errno::ENOENT, "No such file or directory"),
        (Errno::ENOTDIR, "Not a directory"),
        (Errno::EISDIR, "Is a directory"),
        (Errno::EEXIST, "File exists"),
        (Errno::ENOTEMPTY, "Directory not empty"),
        (Errno::ENAMETOOLONG, "File name too long"),
        (Errno::EINVAL, "Invalid argument"),
        (Errno::ELOOP, "Too many levels of symbolic links"),
        (Errno::EBUSY, "Device or resource busy"),
        (Errno::ENOSPC, "No space left on device"),
        (Errno::EBADF, "Bad file descriptor"),
        (Errno::EACCES, "Permission denied"),
        (Errno::EPIPE, "Broken pipe"),
        (Errno::EAGAIN, "Resource temporarily unavailable"),
        (Errno::ESPIPE, "Illegal seek"),
        (Errno::ENOTSUP, "Operation not supported"),
        (Errno::EMFILE, "Too many open files"),
        (Errno::EINTR, "Interrupted system call"),
        (Errno::ENOTCONN, "Transport endpoint is not connected"),
        (Errno::ECONNRESET, "Connection reset by peer"),
        (Errno::ECONNREFUSED, "Connection refused"),
        (Errno::EDESTADDRREQ, "Destination address required"),
        (Errno::EMSGSIZE, "Message too long"),
        (Errno::EXDEV, "Invalid cross-device link"),
    ];
    for (e, msg) in expected {
        assert_eq!(e.to_string(), msg);
    }
}

#[test]
fn unknown_numbers() {
    let e = Errno::from_raw(4000);
    assert_eq!(e.name(), None);
    assert_eq!(e.message(), "Unknown error");
    assert_eq!(format!("{e:?}"), "Errno(4000)");
}

#[test]
fn constants_match_in_patterns() {
    let kind = |e: Errno| match e {
        Errno::ENOENT => "missing",
        Errno::EAGAIN => "again",
        _ => "other",
    };
    assert_eq!(kind(Errno::from_raw(2)), "missing");
    assert_eq!(kind(Errno::EWOULDBLOCK), "again");
    assert_eq!(kind(Errno::EIO), "other");
}
