//! Splits the guest's serial output in exec mode into boot log, command output and status.
//!
//! The kernel prints `@@THESEUS-EXEC-BEGIN boot_us=<N>@@\n` when its shell is ready, then
//! the raw bytes the command wrote, then `\n@@THESEUS-EXEC-END status=<S>@@\n`. The newline
//! before the END marker is part of the marker, not of the output.
//!
//! [`MarkerParser`] is fed chunks as they arrive, split anywhere, and returns events as early
//! as possible: it only holds back bytes that might be the start of a marker.

/// Start of the line announcing that the shell is ready; followed by `<digits>@@`.
const BEGIN: &[u8] = b"@@THESEUS-EXEC-BEGIN boot_us=";
/// Start of the END marker; followed by `<digits>@@`.
const END: &[u8] = b"\n@@THESEUS-EXEC-END status=";
/// Closes both markers.
const CLOSE: &[u8] = b"@@";

/// Something recognised in the serial stream. Consecutive `BootLog`/`Output` events may
/// split one logical piece of text anywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Serial output before the BEGIN marker.
    BootLog(Vec<u8>),
    /// The BEGIN marker: guest microseconds from power-on to shell ready.
    Begin { boot_us: u64 },
    /// Bytes the command wrote.
    Output(Vec<u8>),
    /// The END marker with the command's exit status.
    End { status: u8 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Boot,
    Body,
    Done,
}

/// Incremental parser; see the module documentation.
#[derive(Debug)]
pub struct MarkerParser {
    phase: Phase,
    pending: Vec<u8>,
}

/// Result of looking at the bytes after a marker prefix.
#[derive(Debug, PartialEq, Eq)]
enum Tail {
    /// A number and the closing `@@` (plus, for BEGIN, its newline): value and bytes used.
    Complete(u64, usize),
    /// Could still become a marker once more bytes arrive.
    Incomplete,
    /// Not a marker after all.
    Invalid,
}

impl Default for MarkerParser {
    fn default() -> Self {
        Self::new()
    }
}

impl MarkerParser {
    pub fn new() -> Self {
        Self {
            phase: Phase::Boot,
            pending: Vec::new(),
        }
    }

    /// Whether the END marker has been seen.
    pub fn finished(&self) -> bool {
        self.phase == Phase::Done
    }

    /// Consumes the next chunk of serial output. Bytes after the END marker are ignored.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<Event> {
        let mut events = Vec::new();
        if self.phase == Phase::Done {
            return events;
        }
        self.pending.extend_from_slice(chunk);
        while self.step(&mut events) {}
        events
    }

    /// Call at end of stream: returns the bytes still held back (an unfinished marker).
    pub fn finish(&mut self) -> Vec<Event> {
        let rest = std::mem::take(&mut self.pending);
        match self.phase {
            _ if rest.is_empty() => Vec::new(),
            Phase::Boot => vec![Event::BootLog(rest)],
            Phase::Body => vec![Event::Output(rest)],
            Phase::Done => Vec::new(),
        }
    }

    /// Makes as much progress as possible on `pending`; returns true if the phase changed
    /// (so the rest of `pending` must be looked at again).
    fn step(&mut self, events: &mut Vec<Event>) -> bool {
        let (marker, max_digits, max_value) = match self.phase {
            Phase::Boot => (BEGIN, 20, u64::MAX),
            Phase::Body => (END, 3, 255),
            Phase::Done => {
                self.pending.clear();
                return false;
            }
        };
        let mut from = 0;
        while let Some(at) = find(&self.pending[from..], marker).map(|i| i + from) {
            let tail_start = at + marker.len();
            let tail = parse_tail(
                &self.pending[tail_start..],
                max_digits,
                max_value,
                self.phase == Phase::Boot,
            );
            match tail {
                Tail::Complete(value, used) => {
                    self.emit_text(at, events);
                    self.pending.drain(..tail_start + used - at);
                    self.advance(value, events);
                    return true;
                }
                Tail::Incomplete => {
                    self.emit_text(at, events);
                    return false;
                }
                Tail::Invalid => from = at + 1,
            }
        }
        // No marker: everything may go out except a suffix that could still start one.
        let keep = longest_suffix_prefix(&self.pending, marker);
        let len = self.pending.len();
        self.emit_text(len - keep, events);
        false
    }

    /// Emits `pending[..len]` as text of the current phase.
    fn emit_text(&mut self, len: usize, events: &mut Vec<Event>) {
        if len == 0 {
            return;
        }
        let text: Vec<u8> = self.pending.drain(..len).collect();
        events.push(match self.phase {
            Phase::Boot => Event::BootLog(text),
            _ => Event::Output(text),
        });
    }

    fn advance(&mut self, value: u64, events: &mut Vec<Event>) {
        match self.phase {
            Phase::Boot => {
                events.push(Event::Begin { boot_us: value });
                self.phase = Phase::Body;
            }
            Phase::Body => {
                let status = u8::try_from(value).unwrap_or(u8::MAX);
                events.push(Event::End { status });
                self.phase = Phase::Done;
                self.pending.clear();
            }
            Phase::Done => {}
        }
    }
}

/// Parses `<digits>@@`, and for the BEGIN line also its `\n` (or `\r\n`).
fn parse_tail(bytes: &[u8], max_digits: usize, max_value: u64, eat_newline: bool) -> Tail {
    let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits > max_digits {
        return Tail::Invalid;
    }
    if digits == bytes.len() {
        return Tail::Incomplete;
    }
    if digits == 0 {
        return Tail::Invalid;
    }
    let Some(value) = std::str::from_utf8(&bytes[..digits])
        .ok()
        .and_then(|text| text.parse::<u64>().ok())
        .filter(|&value| value <= max_value)
    else {
        return Tail::Invalid;
    };
    let rest = &bytes[digits..];
    let close_len = rest.len().min(CLOSE.len());
    if rest[..close_len] != CLOSE[..close_len] {
        return Tail::Invalid;
    }
    if close_len < CLOSE.len() {
        return Tail::Incomplete;
    }
    let mut used = digits + CLOSE.len();
    if eat_newline {
        match &bytes[used..] {
            [] | [b'\r'] => return Tail::Incomplete,
            [b'\n', ..] => used += 1,
            [b'\r', b'\n', ..] => used += 2,
            _ => {}
        }
    }
    Tail::Complete(value, used)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// Length of the longest proper prefix of `marker` that `bytes` ends with.
fn longest_suffix_prefix(bytes: &[u8], marker: &[u8]) -> usize {
    (1..marker.len().min(bytes.len() + 1))
        .rev()
        .find(|&len| bytes.ends_with(&marker[..len]))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Boot log, begin value, output, end status — with split text events joined.
    #[derive(Debug, Default, PartialEq, Eq)]
    struct Parsed {
        boot_log: Vec<u8>,
        boot_us: Option<u64>,
        output: Vec<u8>,
        status: Option<u8>,
    }

    fn collect(parsed: &mut Parsed, events: Vec<Event>) {
        for event in events {
            match event {
                Event::BootLog(text) => {
                    assert!(parsed.boot_us.is_none(), "boot log after BEGIN");
                    assert!(!text.is_empty(), "empty event");
                    parsed.boot_log.extend(text);
                }
                Event::Begin { boot_us } => {
                    assert!(parsed.boot_us.is_none(), "two BEGIN events");
                    parsed.boot_us = Some(boot_us);
                }
                Event::Output(text) => {
                    assert!(parsed.boot_us.is_some(), "output before BEGIN");
                    assert!(parsed.status.is_none(), "output after END");
                    assert!(!text.is_empty(), "empty event");
                    parsed.output.extend(text);
                }
                Event::End { status } => {
                    assert!(parsed.status.is_none(), "two END events");
                    parsed.status = Some(status);
                }
            }
        }
    }

    fn parse_chunks(chunks: &[&[u8]]) -> Parsed {
        let mut parser = MarkerParser::new();
        let mut parsed = Parsed::default();
        for chunk in chunks {
            collect(&mut parsed, parser.feed(chunk));
        }
        collect(&mut parsed, parser.finish());
        parsed
    }

    /// Parses `stream` whole, byte by byte, and split in two and in three at every position,
    /// checking that all give `expected`.
    fn check_all_splits(stream: &[u8], expected: &Parsed) {
        assert_eq!(&parse_chunks(&[stream]), expected, "whole stream");
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(&parse_chunks(&bytes), expected, "byte by byte");
        for i in 0..=stream.len() {
            let (a, b) = stream.split_at(i);
            assert_eq!(&parse_chunks(&[a, b]), expected, "split at {i}");
            for j in i..=stream.len() {
                let (b1, c) = stream.split_at(j);
                assert_eq!(
                    &parse_chunks(&[a, &b1[i..], c]),
                    expected,
                    "split at {i} and {j}"
                );
            }
        }
    }

    #[test]
    fn simple_run() {
        let stream = b"SeaBIOS\r\nboot ok\n@@THESEUS-EXEC-BEGIN boot_us=1234@@\nhello\n\n@@THESEUS-EXEC-END status=0@@\n";
        check_all_splits(
            stream,
            &Parsed {
                boot_log: b"SeaBIOS\r\nboot ok\n".to_vec(),
                boot_us: Some(1234),
                output: b"hello\n".to_vec(),
                status: Some(0),
            },
        );
    }

    #[test]
    fn look_alikes_are_plain_text() {
        let stream: &[u8] =
            b"@@ @@THESEUS-EXEC-BEGIN boot_us=x@@\n@@THESEUS-EXEC-BEGIN boot_us=7@\n\
            @@THESEUS-EXEC-BEGIN boot_us=99@@\r\n\
            a @@THESEUS-EXEC-END status=1@@ b\n@@THESEUS-EXEC-END status=\n\
            \n@@THESEUS-EXEC-END status=256@@\n\n@@THESEUS-EXEC-END status=1x@@\n\
            \n\n@@THESEUS-EXEC-END status=255@@\ntrailing junk";
        check_all_splits(
            stream,
            &Parsed {
                boot_log: b"@@ @@THESEUS-EXEC-BEGIN boot_us=x@@\n@@THESEUS-EXEC-BEGIN boot_us=7@\n"
                    .to_vec(),
                boot_us: Some(99),
                output: b"a @@THESEUS-EXEC-END status=1@@ b\n@@THESEUS-EXEC-END status=\n\
                    \n@@THESEUS-EXEC-END status=256@@\n\n@@THESEUS-EXEC-END status=1x@@\n\n"
                    .to_vec(),
                status: Some(255),
            },
        );
    }

    #[test]
    fn binary_and_empty_output() {
        let stream = b"\0\xff@@THESEUS-EXEC-BEGIN boot_us=0@@\n\x00\xfe\r\n\x1b[0m\n@@THESEUS-EXEC-END status=127@@\n";
        check_all_splits(
            stream,
            &Parsed {
                boot_log: b"\0\xff".to_vec(),
                boot_us: Some(0),
                output: b"\x00\xfe\r\n\x1b[0m".to_vec(),
                status: Some(127),
            },
        );
        check_all_splits(
            b"@@THESEUS-EXEC-BEGIN boot_us=5@@\n\n@@THESEUS-EXEC-END status=3@@\n",
            &Parsed {
                boot_log: Vec::new(),
                boot_us: Some(5),
                output: Vec::new(),
                status: Some(3),
            },
        );
    }

    #[test]
    fn stream_cut_short() {
        check_all_splits(
            b"boot\n@@THESEUS-EXEC-BEGIN boot_us=5@@\npartial output\n@@THESEUS-EXEC-EN",
            &Parsed {
                boot_log: b"boot\n".to_vec(),
                boot_us: Some(5),
                output: b"partial output\n@@THESEUS-EXEC-EN".to_vec(),
                status: None,
            },
        );
        check_all_splits(
            b"kernel panic @@THESEUS-EXEC-BEGIN boot_us=5",
            &Parsed {
                boot_log: b"kernel panic @@THESEUS-EXEC-BEGIN boot_us=5".to_vec(),
                ..Parsed::default()
            },
        );
    }

    #[test]
    fn output_is_not_held_back_needlessly() {
        let mut parser = MarkerParser::new();
        assert_eq!(
            parser.feed(b"@@THESEUS-EXEC-BEGIN boot_us=1@@\nhello\n"),
            vec![
                Event::Begin { boot_us: 1 },
                Event::Output(b"hello".to_vec())
            ]
        );
        assert_eq!(parser.feed(b"x"), vec![Event::Output(b"\nx".to_vec())]);
        assert!(!parser.finished());
        assert_eq!(
            parser.feed(b"\n@@THESEUS-EXEC-END status=4@@\nignored"),
            vec![Event::End { status: 4 }]
        );
        assert!(parser.finished());
        assert!(parser.feed(b"more").is_empty());
    }

    #[test]
    fn suffix_prefix() {
        assert_eq!(longest_suffix_prefix(b"abc\n@@TH", END), 5);
        assert_eq!(longest_suffix_prefix(b"abc\n", END), 1);
        assert_eq!(longest_suffix_prefix(b"abc", END), 0);
        assert_eq!(longest_suffix_prefix(b"", END), 0);
    }
}
