use super::*;
use alloc::string::ToString;
use alloc::vec;

/// A one-row model of a VT100 terminal that understands exactly the output
/// this editor may produce; it panics on anything else.
#[derive(Default)]
struct Screen {
    row: Vec<char>,
    col: usize,
    /// Completed rows (ended by `\r\n`) and screen clears, for inspection.
    lines: Vec<String>,
    clears: usize,
    raw: Vec<u8>,
}

impl Screen {
    fn write(&mut self, bytes: &[u8]) {
        self.raw.extend_from_slice(bytes);
        let text = core::str::from_utf8(bytes).expect("editor output is UTF-8");
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\r' => self.col = 0,
                '\n' => {
                    self.lines.push(self.row.iter().collect());
                    self.row.clear();
                }
                '\x1b' => {
                    assert_eq!(chars.next(), Some('['), "only CSI is emitted");
                    let mut n = String::new();
                    while let Some(d) = chars.next_if(|c| c.is_ascii_digit()) {
                        n.push(d);
                    }
                    let count: usize = n.parse().unwrap_or(1);
                    match chars.next() {
                        Some('D') => {
                            assert!(count <= self.col, "cursor moved left past column 0");
                            self.col -= count;
                        }
                        Some('C') => self.col += count,
                        Some('K') => self.row.truncate(self.col),
                        Some('J') => {
                            assert_eq!(n, "2");
                            self.row.clear();
                            self.clears += 1;
                        }
                        Some('H') => self.col = 0,
                        other => panic!("unexpected CSI final {other:?}"),
                    }
                }
                c => {
                    assert!(!c.is_control(), "control char {c:?} written");
                    while self.row.len() < self.col {
                        self.row.push(' ');
                    }
                    if self.col < self.row.len() {
                        self.row[self.col] = c;
                    } else {
                        self.row.push(c);
                    }
                    self.col += 1;
                }
            }
        }
    }

    fn text(&self) -> String {
        self.row.iter().collect()
    }
}

const PROMPT: &str = "$ ";

struct Harness {
    ed: LineEditor,
    screen: Screen,
}

impl Harness {
    fn new() -> Self {
        let mut h = Harness {
            ed: LineEditor::new(10),
            screen: Screen::default(),
        };
        h.start();
        h
    }

    fn start(&mut self) {
        let screen = &mut self.screen;
        self.ed.start(PROMPT, &mut |b| screen.write(b));
    }

    /// Feeds bytes, checking after each that the screen shows the prompt and
    /// line with the cursor in the right place; returns the non-pending events.
    /// After a line, an interrupt or EOF it starts a new prompt.
    fn feed(&mut self, bytes: &[u8]) -> Vec<Event> {
        let mut events = Vec::new();
        for &b in bytes {
            let screen = &mut self.screen;
            let ev = self.ed.feed(b, &mut |o| screen.write(o));
            match ev {
                Event::Pending | Event::Tab => {}
                // Act like the shell: a new prompt on a new row.
                Event::Eof => {
                    self.screen.write(b"\r\n");
                    self.start();
                }
                Event::Line(_) | Event::Interrupt => self.start(),
            }
            self.check_screen();
            if ev != Event::Pending {
                events.push(ev);
            }
        }
        events
    }

    fn check_screen(&self) {
        let expected = format!("{PROMPT}{}", self.ed.line());
        assert_eq!(self.screen.text(), expected);
        assert_eq!(
            self.screen.col,
            PROMPT.chars().count() + self.ed.cursor(),
            "terminal cursor for line {:?}",
            self.ed.line()
        );
    }

    fn insert(&mut self, s: &str) {
        let screen = &mut self.screen;
        self.ed.insert_str(s, &mut |o| screen.write(o));
        self.check_screen();
    }

    fn line(&self) -> &str {
        self.ed.line()
    }

    fn cursor(&self) -> usize {
        self.ed.cursor()
    }
}

fn line_event(s: &str) -> Event {
    Event::Line(s.to_string())
}

const LEFT: &[u8] = b"\x1b[D";
const RIGHT: &[u8] = b"\x1b[C";
const UP: &[u8] = b"\x1b[A";
const DOWN: &[u8] = b"\x1b[B";

#[test]
fn start_prints_prompt_and_typing_echoes() {
    let mut out = Vec::new();
    let mut ed = LineEditor::new(4);
    ed.start("> ", &mut |b| out.extend_from_slice(b));
    assert_eq!(out, b"> ");
    out.clear();
    for &b in b"ab" {
        assert_eq!(
            ed.feed(b, &mut |o| out.extend_from_slice(o)),
            Event::Pending
        );
    }
    assert_eq!(out, b"ab");
    assert_eq!(ed.line(), "ab");
    out.clear();
    assert_eq!(
        ed.feed(b'\r', &mut |o| out.extend_from_slice(o)),
        line_event("ab")
    );
    assert_eq!(out, b"\r\n");
    assert_eq!(ed.line(), "");
}

#[test]
fn backspace_output_and_insert_in_middle_output() {
    let mut out = Vec::new();
    let mut ed = LineEditor::new(4);
    ed.start("", &mut |_| {});
    for &b in b"abc\x7f" {
        out.clear();
        ed.feed(b, &mut |o| out.extend_from_slice(o));
    }
    assert_eq!(out, b"\x1b[1D\x1b[K");
    ed.feed(0x02, &mut |_| {}); // Ctrl-B
    out.clear();
    ed.feed(b'X', &mut |o| out.extend_from_slice(o));
    assert_eq!(out, b"Xb\x1b[1D");
    assert_eq!(ed.line(), "aXb");
}

#[test]
fn enter_variants() {
    let mut h = Harness::new();
    assert_eq!(h.feed(b"ls\r\n"), vec![line_event("ls")]);
    assert_eq!(h.feed(b"a\nb\n"), vec![line_event("a"), line_event("b")]);
    // `\r\r` is two Enters, and `\n\n` too.
    assert_eq!(h.feed(b"\n\n"), vec![line_event(""), line_event("")]);
    assert_eq!(h.feed(b"\r\r"), vec![line_event(""), line_event("")]);
    // ... and the `\n` after the last `\r` belongs to it.
    assert_eq!(h.feed(b"\n\n"), vec![line_event("")]);
    // The `\n` of a `\r\n` is swallowed even if `start` runs in between.
    assert_eq!(h.feed(b"x\r"), vec![line_event("x")]);
    assert_eq!(h.feed(b"\ny\r"), vec![line_event("y")]);
    assert_eq!(h.screen.lines.last().unwrap(), "$ y");
}

#[test]
fn printable_ascii_is_inserted() {
    let mut h = Harness::new();
    let all: Vec<u8> = (0x20..=0x7e).collect();
    h.feed(&all);
    assert_eq!(h.line().as_bytes(), &all[..]);
}

#[test]
fn utf8_insert_and_delete() {
    let mut h = Harness::new();
    h.feed("héllo 日本 🦀".as_bytes());
    assert_eq!(h.line(), "héllo 日本 🦀");
    assert_eq!(h.cursor(), 10);
    h.feed(b"\x7f\x7f");
    assert_eq!(h.line(), "héllo 日本");
    // Move into the middle and delete multibyte chars both ways.
    h.feed(b"\x01");
    h.feed(RIGHT);
    h.feed(b"\x1b[3~");
    assert_eq!(h.line(), "hllo 日本");
    h.feed(b"\x05");
    h.feed(LEFT);
    h.feed(b"\x7f");
    assert_eq!(h.line(), "hllo 本");
    h.feed("ü".as_bytes());
    assert_eq!(h.line(), "hllo ü本");
    assert_eq!(h.cursor(), 6);
}

#[test]
fn invalid_utf8_is_dropped() {
    let mut h = Harness::new();
    // Stray continuation, invalid lead bytes, overlong form, surrogate,
    // truncated sequence cut by ASCII, truncated sequence cut by a new lead.
    h.feed(b"a\x80\xff\xc0\xaf\xed\xa0\x80\xe6\x97b\xe6\xc3\xa9c");
    assert_eq!(h.line(), "abéc");
    // C1 control chars (U+0080..U+009F) are not inserted.
    h.feed(b"\xc2\x85");
    assert_eq!(h.line(), "abéc");
}

#[test]
fn left_right_and_middle_editing() {
    let mut h = Harness::new();
    h.feed(b"helo");
    h.feed(LEFT);
    h.feed(b"l");
    assert_eq!(h.line(), "hello");
    assert_eq!(h.cursor(), 4);
    h.feed(b"\x02\x02"); // Ctrl-B twice
    assert_eq!(h.cursor(), 2);
    h.feed(b"\x06"); // Ctrl-F
    h.feed(RIGHT);
    assert_eq!(h.cursor(), 4);
    // Moving beyond the ends does nothing.
    h.feed(RIGHT);
    h.feed(RIGHT);
    assert_eq!(h.cursor(), 5);
    for _ in 0..7 {
        h.feed(LEFT);
    }
    assert_eq!(h.cursor(), 0);
    h.feed(b"\x7f"); // Backspace at start: no-op
    h.feed(b">");
    assert_eq!(h.line(), ">hello");
    h.feed(b"\x08"); // Ctrl-H
    assert_eq!(h.line(), "hello");
}

#[test]
fn home_and_end_variants() {
    let homes: [&[u8]; 6] = [
        b"\x1b[H", b"\x1bOH", b"\x1b[1~", b"\x1b[7~", b"\x01", b"\x1bOH",
    ];
    let ends: [&[u8]; 6] = [
        b"\x1b[F", b"\x1bOF", b"\x1b[4~", b"\x1b[8~", b"\x05", b"\x1b[F",
    ];
    let mut h = Harness::new();
    h.feed(b"abc def");
    for (home, end) in homes.iter().zip(ends.iter()) {
        h.feed(home);
        assert_eq!(h.cursor(), 0, "{home:?}");
        h.feed(end);
        assert_eq!(h.cursor(), 7, "{end:?}");
    }
    assert_eq!(h.line(), "abc def");
}

#[test]
fn delete_key_and_ctrl_d() {
    let mut h = Harness::new();
    h.feed(b"abcd\x01");
    h.feed(b"\x1b[3~");
    assert_eq!(h.line(), "bcd");
    // Ctrl-D on a non-empty line deletes under the cursor.
    assert!(h.feed(b"\x04").is_empty());
    assert_eq!(h.line(), "cd");
    h.feed(b"\x05\x1b[3~\x04"); // at the end: nothing to delete
    assert_eq!(h.line(), "cd");
    h.feed(b"\x15");
    assert_eq!(h.feed(b"\x04"), vec![Event::Eof]);
}

#[test]
fn ctrl_c_discards_line() {
    let mut h = Harness::new();
    h.feed(b"rm -rf");
    assert_eq!(h.feed(b"\x03"), vec![Event::Interrupt]);
    assert_eq!(h.line(), "");
    assert!(h.screen.raw.ends_with(b"^C\r\n$ "));
    assert_eq!(h.screen.lines.last().unwrap(), "$ rm -rf^C");
    assert_eq!(h.feed(b"ok\r"), vec![line_event("ok")]);
}

#[test]
fn tab_is_reported_and_insert_str_completes() {
    let mut h = Harness::new();
    h.feed(b"ec world");
    for _ in 0..6 {
        h.feed(LEFT);
    }
    assert_eq!(h.feed(b"\t"), vec![Event::Tab]);
    assert_eq!(h.line(), "ec world");
    h.insert("ho\u{7}é");
    assert_eq!(h.line(), "echoé world");
    assert_eq!(h.cursor(), 5);
}

#[test]
fn kill_commands() {
    let mut h = Harness::new();
    h.feed(b"hello big world");
    for _ in 0..5 {
        h.feed(LEFT);
    }
    h.feed(b"\x0b"); // Ctrl-K
    assert_eq!(h.line(), "hello big ");
    assert_eq!(h.cursor(), 10);
    h.feed(LEFT);
    h.feed(LEFT);
    h.feed(b"\x15"); // Ctrl-U
    assert_eq!(h.line(), "g ");
    assert_eq!(h.cursor(), 0);
}

#[test]
fn ctrl_w_deletes_previous_word() {
    let mut h = Harness::new();
    h.feed(b"echo  foo bar  ");
    h.feed(b"\x17");
    assert_eq!(h.line(), "echo  foo ");
    h.feed(b"\x17");
    assert_eq!(h.line(), "echo  ");
    h.feed(b"x\x01\x06\x06\x06"); // cursor after "ech"
    h.feed(b"\x17");
    assert_eq!(h.line(), "o  x");
    assert_eq!(h.cursor(), 0);
    h.feed(b"\x17"); // nothing before the cursor
    assert_eq!(h.line(), "o  x");
    h.feed("\x05 日本語".as_bytes());
    h.feed(b"\x17");
    assert_eq!(h.line(), "o  x ");
}

#[test]
fn ctrl_l_clears_and_redraws() {
    let mut h = Harness::new();
    h.feed(b"abc");
    h.feed(LEFT);
    h.feed(b"\x0c");
    assert_eq!(h.screen.clears, 1);
    assert_eq!(h.line(), "abc");
    assert_eq!(h.cursor(), 2);
    assert!(h.screen.raw.ends_with(b"\x1b[2J\x1b[H$ abc\x1b[1D"));
}

fn with_history(entries: &[&str]) -> Harness {
    let mut h = Harness::new();
    for e in entries {
        h.ed.add_history(e);
    }
    h
}

#[test]
fn history_navigation() {
    let mut h = with_history(&["one", "two", "three"]);
    h.feed(b"dra");
    h.feed(LEFT);
    h.feed(UP);
    assert_eq!(h.line(), "three");
    assert_eq!(h.cursor(), 5);
    h.feed(b"\x10"); // Ctrl-P
    assert_eq!(h.line(), "two");
    h.feed(UP);
    assert_eq!(h.line(), "one");
    h.feed(UP); // already at the oldest
    assert_eq!(h.line(), "one");
    h.feed(DOWN);
    assert_eq!(h.line(), "two");
    h.feed(b"\x0e"); // Ctrl-N
    assert_eq!(h.line(), "three");
    // Going down past the newest entry restores the line being edited.
    h.feed(DOWN);
    assert_eq!(h.line(), "dra");
    h.feed(DOWN);
    assert_eq!(h.line(), "dra");
    h.feed(b"ft");
    assert_eq!(h.feed(b"\r"), vec![line_event("draft")]);
}

#[test]
fn history_entry_can_be_edited_and_submitted() {
    let mut h = with_history(&["echo hi"]);
    h.feed(UP);
    h.feed(b"\x7f\x7fyo");
    assert_eq!(h.feed(b"\n"), vec![line_event("echo yo")]);
    // The stored entry itself is unchanged.
    assert_eq!(h.ed.history().collect::<Vec<_>>(), vec!["echo hi"]);
    // After Enter, Up starts from the newest entry again.
    h.feed(UP);
    assert_eq!(h.line(), "echo hi");
    h.feed(DOWN);
    assert_eq!(h.line(), "");
}

#[test]
fn history_with_empty_history_does_nothing() {
    let mut h = Harness::new();
    h.feed(b"x");
    h.feed(UP);
    h.feed(DOWN);
    assert_eq!(h.line(), "x");
}

#[test]
fn add_history_rules() {
    let mut ed = LineEditor::new(3);
    for l in ["a", "", "a", "b", "a", "c", "c", "d"] {
        ed.add_history(l);
    }
    // Empty and consecutive duplicates skipped; oldest dropped at capacity.
    assert_eq!(ed.history().collect::<Vec<_>>(), vec!["a", "c", "d"]);
    let mut none = LineEditor::new(0);
    none.add_history("x");
    assert_eq!(none.history().count(), 0);
}

#[test]
fn unknown_escape_sequences_are_ignored() {
    let mut h = Harness::new();
    h.feed(b"ab");
    h.feed(b"\x1b[1;5C\x1b[5~\x1b[200~\x1bOP\x1bb\x1b\x1b[Z\x1b[?25h\x1b[123456789;1234A");
    assert_eq!(h.line(), "ab");
    assert_eq!(h.cursor(), 2);
    // Other control bytes are ignored too.
    h.feed(b"\x00\x07\x0f\x11\x12\x13\x14\x16\x18\x19\x1a\x1c\x1d\x1e\x1f");
    assert_eq!(h.line(), "ab");
    // A control byte inside a sequence ends it and is handled normally.
    assert_eq!(h.feed(b"\x1b[1\r"), vec![line_event("ab")]);
    // An escape sequence split from normal input does not swallow text.
    h.feed(b"\x1b[Dxy");
    assert_eq!(h.line(), "xy");
}

/// xorshift64: deterministic pseudo-random numbers for the fuzz tests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn fuzz(seed: u64, count: usize, pick: impl Fn(&mut Rng) -> Vec<u8>) {
    let mut rng = Rng(seed);
    let mut h = Harness::new();
    for e in ["first", "zweite", "третий"] {
        h.ed.add_history(e);
    }
    let mut fed = 0;
    while fed < count {
        let bytes = pick(&mut rng);
        fed += bytes.len();
        for ev in h.feed(&bytes) {
            match ev {
                Event::Line(l) => h.ed.add_history(&l),
                Event::Tab => h.insert("tab"),
                _ => {}
            }
        }
        assert!(h.cursor() <= h.line().chars().count());
    }
}

#[test]
fn random_bytes_never_panic() {
    fuzz(0xDEAD_BEEF_CAFE_F00D, 50_000, |rng| vec![rng.next() as u8]);
}

#[test]
fn random_keys_keep_screen_consistent() {
    const KEYS: &[&[u8]] = &[
        b"a",
        b"Z",
        b" ",
        b"1",
        "é".as_bytes(),
        "日".as_bytes(),
        "🦀".as_bytes(),
        b"\x7f",
        b"\x08",
        b"\x1b[3~",
        b"\x1b[D",
        b"\x1b[C",
        b"\x1b[H",
        b"\x1b[F",
        b"\x1bOH",
        b"\x1b[4~",
        b"\x1b[A",
        b"\x1b[B",
        b"\x01",
        b"\x05",
        b"\x02",
        b"\x06",
        b"\x10",
        b"\x0e",
        b"\x15",
        b"\x0b",
        b"\x17",
        b"\x0c",
        b"\t",
        b"\x04",
        b"\x1b[1;5C",
        b"\x1b",
        b"\xe6",
        b"\x80",
        b"\r",
        b"\n",
        b"\x03",
    ];
    fuzz(7, 100_000, |rng| {
        let key = KEYS[(rng.next() % KEYS.len() as u64) as usize];
        // Mostly plain typing so that lines get long enough to edit.
        if rng.next() % 3 == 0 {
            key.to_vec()
        } else {
            b"x".to_vec()
        }
    });
}
