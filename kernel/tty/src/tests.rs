//! Host tests of the line discipline: the bytes a terminal sends, what echoes and what a reader gets.

use super::*;
use alloc::string::String;

/// Feeds `input`; returns (echo, signals).
fn feed(tty: &mut Tty, input: &[u8]) -> (String, Vec<Signal>) {
    let mut echo = Vec::new();
    let mut signals = Vec::new();
    for &b in input {
        if let Some(s) = tty.input(b, &mut |e: &[u8]| echo.extend_from_slice(e)) {
            signals.push(s);
        }
    }
    (String::from_utf8_lossy(&echo).into_owned(), signals)
}

fn read_all(tty: &mut Tty) -> Vec<String> {
    let mut reads = Vec::new();
    let mut buf = [0u8; 100];
    loop {
        match tty.read(&mut buf) {
            Read::Data(n) => reads.push(String::from_utf8_lossy(&buf[..n]).into_owned()),
            Read::EndOfFile => reads.push("<eof>".into()),
            Read::Empty => return reads,
        }
    }
}

#[test]
fn canonical_lines_arrive_when_complete_with_cr_as_newline() {
    let mut t = Tty::new();
    let (echo, _) = feed(&mut t, b"hello");
    assert_eq!(echo, "hello");
    assert!(!t.readable(), "no line yet");
    feed(&mut t, b"\rworld\r");
    assert_eq!(read_all(&mut t), ["hello\n", "world\n"]);
}

#[test]
fn erase_kill_and_word_erase_edit_the_line() {
    let mut t = Tty::new();
    let (echo, _) = feed(&mut t, b"abX\x7fc\r");
    assert_eq!(echo, "abX\x08 \x08c\n");
    feed(&mut t, b"junk\x15kept\r");
    feed(&mut t, b"one two  \x17three\r");
    feed(&mut t, b"\x7f\x7fok\x08!\r");
    assert_eq!(read_all(&mut t), ["abc\n", "kept\n", "one three\n", "o!\n"]);
}

#[test]
fn erase_removes_a_whole_utf8_character() {
    let mut t = Tty::new();
    feed(&mut t, "né\x7f\x7fo\r".as_bytes());
    assert_eq!(read_all(&mut t), ["o\n"]);
}

#[test]
fn ctrl_d_ends_a_partial_line_or_the_input() {
    let mut t = Tty::new();
    feed(&mut t, b"part\x04\x04more\r\x04");
    assert_eq!(read_all(&mut t), ["part", "<eof>", "more\n", "<eof>"]);
}

#[test]
fn signals_are_not_input_and_flush_the_line() {
    let mut t = Tty::new();
    let (echo, signals) = feed(&mut t, b"abc\x03x\x1c\x1a\r");
    assert_eq!(signals, [Signal::Interrupt, Signal::Quit, Signal::Suspend]);
    assert_eq!(echo, "abc^Cx^\\^Z\n");
    assert_eq!(read_all(&mut t), ["\n"]);
    assert_eq!(Signal::Interrupt.number(), 2);
    assert_eq!(Signal::Quit.number(), 3);
}

#[test]
fn raw_mode_passes_every_byte_at_once() {
    let mut t = Tty::new();
    let mut raw = t.termios();
    make_raw(&mut raw);
    t.set_termios(raw);
    let (echo, signals) = feed(&mut t, b"a\x03\r\x7f");
    assert!(echo.is_empty() && signals.is_empty());
    assert_eq!(read_all(&mut t), ["a\x03\r\x7f"]);
    assert!(!t.translates_newlines());
}

#[test]
fn cbreak_keeps_signals_and_echo_but_not_lines() {
    let mut t = Tty::new();
    let mut cbreak = t.termios();
    cbreak.c_lflag &= !g::ICANON;
    t.set_termios(cbreak);
    let (echo, signals) = feed(&mut t, b"ab\x03");
    assert_eq!(echo, "ab^C");
    assert_eq!(signals, [Signal::Interrupt]);
    // The flush on Ctrl-C took the unread bytes.
    assert_eq!(read_all(&mut t), Vec::<String>::new());
    feed(&mut t, b"z");
    assert_eq!(read_all(&mut t), ["z"]);
}

#[test]
fn leaving_canonical_mode_hands_over_the_partial_line() {
    let mut t = Tty::new();
    feed(&mut t, b"half");
    let mut raw = t.termios();
    make_raw(&mut raw);
    t.set_termios(raw);
    assert_eq!(read_all(&mut t), ["half"]);
}

#[test]
fn vmin_zero_reads_do_not_wait() {
    let mut t = Tty::new();
    let mut raw = t.termios();
    make_raw(&mut raw);
    raw.c_cc[g::VMIN as usize] = 0;
    t.set_termios(raw);
    let mut buf = [0u8; 4];
    assert_eq!(t.read(&mut buf), Read::Data(0));
}

#[test]
fn literal_next_takes_a_control_character_as_input() {
    let mut t = Tty::new();
    let (_, signals) = feed(&mut t, b"\x16\x03\r");
    assert!(signals.is_empty());
    assert_eq!(read_all(&mut t), ["\x03\n"]);
}

#[test]
fn flush_drops_unread_input() {
    let mut t = Tty::new();
    feed(&mut t, b"one\rtwo");
    t.flush_input();
    feed(&mut t, b"\r");
    assert_eq!(read_all(&mut t), ["\n"]);
}

#[test]
fn size_reports_are_parsed_with_noise_around_them() {
    assert_eq!(parse_size_report(b"\x1b[30;100R"), Some((30, 100)));
    assert_eq!(
        parse_size_report(b"typed\x1b[A\x1b[24;80Rmore"),
        Some((24, 80))
    );
    assert_eq!(parse_size_report(b"\x1b[30;100"), None, "incomplete");
    assert_eq!(parse_size_report(b"\x1b[0;80R"), None, "rows 0");
    assert_eq!(parse_size_report(b"\x1b[30;R"), None);
    assert_eq!(parse_size_report(b"\x1b[99999;80R"), None, "over u16");
    assert_eq!(parse_size_report(b""), None);
    assert!(SIZE_QUERY.ends_with(b"\x1b[6n\x1b8"));
}
