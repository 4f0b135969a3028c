//! Interactive line editor for the serial shell, driven one input byte at a
//! time (bytes come from the serial interrupt handler or from exec-mode
//! replay). Terminal output goes to a caller-supplied writer as ANSI/VT100
//! sequences. It keeps the line being edited and a bounded command history.
//!
//! Owns: key decoding (UTF-8, escape sequences, control keys), the edit
//! buffer and cursor, history browsing and redrawing. It does not read
//! input or run commands. Tab completion and history insertion are up to
//! the caller (`Event::Tab`, `insert_str`, `add_history`).
//! May depend on: `core` and `alloc` only.
//!
//! Hand-written instead of using the `noline` crate (0.5). noline keeps its
//! per-byte state machine (`core::Line`) in a private module and only exposes
//! `readline`-style editors that loop on blocking `embedded_io::Read` (or
//! async) reads until Enter. It also sends a terminal size/cursor query and
//! waits for the answer before editing starts. We need a non-blocking
//! `feed(byte) -> Event` that can be called from interrupt-driven input and
//! that reports Tab/Ctrl-C/Ctrl-D to the caller. (noline is also MPL-2.0.)
//!
//! Limits: every char counts as one column, and the line is assumed not to
//! wrap past the terminal width (cursor moves are relative, within one row).

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// What a fed byte produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Nothing for the caller to do yet.
    Pending,
    /// Enter was pressed. `\r\n` has been echoed and the buffer is now empty.
    /// The line is not added to the history automatically (see `add_history`).
    Line(String),
    /// Ctrl-C: the line was discarded and `^C\r\n` echoed.
    Interrupt,
    /// Ctrl-D on an empty line. Nothing is echoed.
    Eof,
    /// Tab was pressed. The caller may complete with `insert_str`.
    Tab,
}

/// Escape-sequence decoder state.
#[derive(Debug, Clone, Copy)]
enum EscState {
    Ground,
    /// Seen ESC.
    Escape,
    /// Seen ESC `[`, collecting parameter/intermediate bytes.
    Csi {
        params: [u8; 4],
        len: usize,
    },
    /// Seen ESC `O`.
    Ss3,
}

/// A decoded editing key.
#[derive(Debug, Clone, Copy)]
enum Key {
    Left,
    Right,
    Home,
    End,
    Up,
    Down,
    Delete,
}

/// Line editor state machine. See the crate docs.
pub struct LineEditor {
    prompt: String,
    buf: String,
    /// Cursor position in chars (0..=char count of `buf`).
    cursor: usize,
    esc: EscState,
    utf8: [u8; 4],
    utf8_len: usize,
    utf8_need: usize,
    /// The previous byte was a `\r` Enter, so a following `\n` is swallowed.
    after_cr: bool,
    history: VecDeque<String>,
    capacity: usize,
    /// Index into `history` of the entry shown, or `None` for the live line.
    browsing: Option<usize>,
    /// The live line, saved while browsing the history.
    saved: String,
}

impl LineEditor {
    /// Creates an editor keeping at most `history_capacity` history entries.
    pub fn new(history_capacity: usize) -> Self {
        LineEditor {
            prompt: String::new(),
            buf: String::new(),
            cursor: 0,
            esc: EscState::Ground,
            utf8: [0; 4],
            utf8_len: 0,
            utf8_need: 0,
            after_cr: false,
            history: VecDeque::new(),
            capacity: history_capacity,
            browsing: None,
            saved: String::new(),
        }
    }

    /// Starts a new line: prints `prompt` and empties the buffer.
    pub fn start(&mut self, prompt: &str, out: &mut dyn FnMut(&[u8])) {
        self.prompt = String::from(prompt);
        self.reset_line();
        self.esc = EscState::Ground;
        self.utf8_len = 0;
        // `after_cr` survives: the `\n` of a `\r\n` may arrive after this call.
        out(prompt.as_bytes());
    }

    /// The line being edited.
    pub fn line(&self) -> &str {
        &self.buf
    }

    /// The cursor position, in chars from the start of the line.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// Inserts `s` at the cursor (control chars are dropped) and redraws.
    pub fn insert_str(&mut self, s: &str, out: &mut dyn FnMut(&[u8])) {
        let old = self.cursor;
        let mut at = self.byte_index(self.cursor);
        for c in s.chars().filter(|c| !c.is_control()) {
            self.buf.insert(at, c);
            at += c.len_utf8();
            self.cursor += 1;
        }
        let mut o = Vec::new();
        self.repaint(&mut o, old, old);
        out(&o);
    }

    /// Appends `line` to the history unless it is empty or equal to the
    /// newest entry. The oldest entry is dropped when the history is full.
    /// Any history browsing in progress ends; the buffer is left as it is.
    pub fn add_history(&mut self, line: &str) {
        self.browsing = None;
        self.saved.clear();
        if self.capacity == 0 || line.is_empty() || self.history.back().is_some_and(|l| l == line) {
            return;
        }
        if self.history.len() == self.capacity {
            self.history.pop_front();
        }
        self.history.push_back(String::from(line));
    }

    /// History entries, oldest first.
    pub fn history(&self) -> impl Iterator<Item = &str> {
        self.history.iter().map(String::as_str)
    }

    /// Processes one input byte. Never blocks and never panics.
    pub fn feed(&mut self, byte: u8, out: &mut dyn FnMut(&[u8])) -> Event {
        let mut o = Vec::new();
        let event = self.feed_inner(byte, &mut o);
        if !o.is_empty() {
            out(&o);
        }
        event
    }

    fn feed_inner(&mut self, b: u8, o: &mut Vec<u8>) -> Event {
        if core::mem::take(&mut self.after_cr) && b == b'\n' {
            return Event::Pending;
        }
        match self.esc {
            EscState::Ground => {}
            EscState::Escape => match b {
                b'[' => {
                    self.esc = EscState::Csi {
                        params: [0; 4],
                        len: 0,
                    };
                    return Event::Pending;
                }
                b'O' => {
                    self.esc = EscState::Ss3;
                    return Event::Pending;
                }
                0x1b => return Event::Pending,
                // Alt+key and the like: consumed and ignored.
                0x20..=0x7e => {
                    self.esc = EscState::Ground;
                    return Event::Pending;
                }
                // Anything else ends the sequence and is handled normally.
                _ => self.esc = EscState::Ground,
            },
            EscState::Csi { mut params, len } => match b {
                0x20..=0x3f => {
                    if len < params.len() {
                        params[len] = b;
                    }
                    self.esc = EscState::Csi {
                        params,
                        len: len.saturating_add(1),
                    };
                    return Event::Pending;
                }
                0x40..=0x7e => {
                    self.esc = EscState::Ground;
                    let params = if len <= params.len() {
                        &params[..len]
                    } else {
                        // Too long to be a key we know.
                        return Event::Pending;
                    };
                    let key = match (params, b) {
                        (b"", b'A') => Key::Up,
                        (b"", b'B') => Key::Down,
                        (b"", b'C') => Key::Right,
                        (b"", b'D') => Key::Left,
                        (b"", b'H') | (b"1" | b"7", b'~') => Key::Home,
                        (b"", b'F') | (b"4" | b"8", b'~') => Key::End,
                        (b"3", b'~') => Key::Delete,
                        _ => return Event::Pending,
                    };
                    self.key(key, o);
                    return Event::Pending;
                }
                _ => self.esc = EscState::Ground,
            },
            EscState::Ss3 => {
                self.esc = EscState::Ground;
                if (0x40..=0x7e).contains(&b) {
                    let key = match b {
                        b'A' => Key::Up,
                        b'B' => Key::Down,
                        b'C' => Key::Right,
                        b'D' => Key::Left,
                        b'H' => Key::Home,
                        b'F' => Key::End,
                        _ => return Event::Pending,
                    };
                    self.key(key, o);
                    return Event::Pending;
                }
            }
        }

        if b >= 0x80 {
            if let Some(c) = self.utf8_byte(b)
                && !c.is_control()
            {
                self.insert_char(c, o);
            }
            return Event::Pending;
        }
        // An ASCII byte cuts any partial UTF-8 sequence short.
        self.utf8_len = 0;

        match b {
            b'\r' | b'\n' => {
                self.after_cr = b == b'\r';
                o.extend_from_slice(b"\r\n");
                let line = core::mem::take(&mut self.buf);
                self.reset_line();
                return Event::Line(line);
            }
            0x03 => {
                o.extend_from_slice(b"^C\r\n");
                self.reset_line();
                return Event::Interrupt;
            }
            0x04 => {
                if self.buf.is_empty() {
                    return Event::Eof;
                }
                self.key(Key::Delete, o);
            }
            b'\t' => return Event::Tab,
            0x1b => self.esc = EscState::Escape,
            0x7f | 0x08 => self.backspace(o),
            0x01 => self.key(Key::Home, o),
            0x05 => self.key(Key::End, o),
            0x02 => self.key(Key::Left, o),
            0x06 => self.key(Key::Right, o),
            0x10 => self.key(Key::Up, o),
            0x0e => self.key(Key::Down, o),
            0x15 => self.kill_to_start(o),
            0x0b => self.kill_to_end(o),
            0x17 => self.delete_word(o),
            0x0c => self.clear_screen(o),
            0x20..=0x7e => self.insert_char(char::from(b), o),
            _ => {}
        }
        Event::Pending
    }

    /// Accumulates a non-ASCII byte; returns a char once a valid sequence is
    /// complete. Invalid sequences are dropped.
    fn utf8_byte(&mut self, b: u8) -> Option<char> {
        if self.utf8_len > 0 && b & 0xc0 == 0x80 {
            self.utf8[self.utf8_len] = b;
            self.utf8_len += 1;
            if self.utf8_len < self.utf8_need {
                return None;
            }
            let bytes = &self.utf8[..self.utf8_len];
            self.utf8_len = 0;
            // Rejects overlong forms, surrogates and values above U+10FFFF.
            return core::str::from_utf8(bytes).ok()?.chars().next();
        }
        self.utf8_len = 0;
        self.utf8_need = match b {
            0xc2..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf4 => 4,
            // Stray continuation byte or a byte that never starts UTF-8.
            _ => return None,
        };
        self.utf8[0] = b;
        self.utf8_len = 1;
        None
    }

    fn reset_line(&mut self) {
        self.buf.clear();
        self.cursor = 0;
        self.browsing = None;
        self.saved.clear();
    }

    fn len_chars(&self) -> usize {
        self.buf.chars().count()
    }

    /// Byte offset of char index `ch` (the buffer length if past the end).
    fn byte_index(&self, ch: usize) -> usize {
        self.buf
            .char_indices()
            .nth(ch)
            .map_or(self.buf.len(), |(i, _)| i)
    }

    fn key(&mut self, key: Key, o: &mut Vec<u8>) {
        match key {
            Key::Left => {
                if self.cursor > 0 {
                    self.cursor -= 1;
                    move_left(o, 1);
                }
            }
            Key::Right => {
                if self.cursor < self.len_chars() {
                    self.cursor += 1;
                    move_right(o, 1);
                }
            }
            Key::Home => {
                move_left(o, self.cursor);
                self.cursor = 0;
            }
            Key::End => {
                let len = self.len_chars();
                move_right(o, len - self.cursor);
                self.cursor = len;
            }
            Key::Delete => {
                if self.cursor < self.len_chars() {
                    let at = self.byte_index(self.cursor);
                    self.buf.remove(at);
                    self.repaint(o, self.cursor, self.cursor);
                }
            }
            Key::Up => {
                let index = match self.browsing {
                    None if !self.history.is_empty() => {
                        self.saved = core::mem::take(&mut self.buf);
                        self.history.len() - 1
                    }
                    Some(i) if i > 0 => i - 1,
                    _ => return,
                };
                self.browsing = Some(index);
                let entry = self.history[index].clone();
                self.replace_line(entry, o);
            }
            Key::Down => {
                let Some(i) = self.browsing else { return };
                let line = if i + 1 < self.history.len() {
                    self.browsing = Some(i + 1);
                    self.history[i + 1].clone()
                } else {
                    self.browsing = None;
                    core::mem::take(&mut self.saved)
                };
                self.replace_line(line, o);
            }
        }
    }

    fn insert_char(&mut self, c: char, o: &mut Vec<u8>) {
        let at = self.byte_index(self.cursor);
        self.buf.insert(at, c);
        self.cursor += 1;
        let mut utf8 = [0; 4];
        o.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
        let tail = &self.buf[at + c.len_utf8()..];
        if !tail.is_empty() {
            o.extend_from_slice(tail.as_bytes());
            move_left(o, tail.chars().count());
        }
    }

    fn backspace(&mut self, o: &mut Vec<u8>) {
        if self.cursor == 0 {
            return;
        }
        let old = self.cursor;
        self.cursor -= 1;
        let at = self.byte_index(self.cursor);
        self.buf.remove(at);
        self.repaint(o, old, self.cursor);
    }

    fn kill_to_start(&mut self, o: &mut Vec<u8>) {
        let old = self.cursor;
        let at = self.byte_index(self.cursor);
        self.buf.replace_range(..at, "");
        self.cursor = 0;
        self.repaint(o, old, 0);
    }

    fn kill_to_end(&mut self, o: &mut Vec<u8>) {
        let at = self.byte_index(self.cursor);
        self.buf.truncate(at);
        o.extend_from_slice(b"\x1b[K");
    }

    /// Ctrl-W: deletes the blanks before the cursor, then the word before them.
    fn delete_word(&mut self, o: &mut Vec<u8>) {
        let old = self.cursor;
        let before: Vec<char> = self.buf.chars().take(self.cursor).collect();
        let mut start = before.len();
        while start > 0 && before[start - 1].is_whitespace() {
            start -= 1;
        }
        while start > 0 && !before[start - 1].is_whitespace() {
            start -= 1;
        }
        if start == old {
            return;
        }
        let (from, to) = (self.byte_index(start), self.byte_index(old));
        self.buf.replace_range(from..to, "");
        self.cursor = start;
        self.repaint(o, old, start);
    }

    fn clear_screen(&mut self, o: &mut Vec<u8>) {
        o.extend_from_slice(b"\x1b[2J\x1b[H");
        o.extend_from_slice(self.prompt.as_bytes());
        o.extend_from_slice(self.buf.as_bytes());
        move_left(o, self.len_chars() - self.cursor);
    }

    /// Shows `line` instead of the current buffer, with the cursor at its end.
    fn replace_line(&mut self, line: String, o: &mut Vec<u8>) {
        let old = self.cursor;
        self.buf = line;
        self.cursor = self.len_chars();
        self.repaint(o, old, 0);
    }

    /// Redraws the buffer from char `from` to the end. The terminal cursor
    /// is at char `old`; afterwards it is at `self.cursor`.
    fn repaint(&self, o: &mut Vec<u8>, old: usize, from: usize) {
        if old > from {
            move_left(o, old - from);
        } else {
            move_right(o, from - old);
        }
        let tail = &self.buf[self.byte_index(from)..];
        o.extend_from_slice(tail.as_bytes());
        o.extend_from_slice(b"\x1b[K");
        move_left(o, self.len_chars() - self.cursor);
    }
}

fn move_left(o: &mut Vec<u8>, n: usize) {
    if n > 0 {
        o.extend_from_slice(format!("\x1b[{n}D").as_bytes());
    }
}

fn move_right(o: &mut Vec<u8>, n: usize) {
    if n > 0 {
        o.extend_from_slice(format!("\x1b[{n}C").as_bytes());
    }
}

#[cfg(test)]
mod tests;
