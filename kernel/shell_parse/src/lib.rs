//! Command-line parser for the serial shell: turns one (possibly multi-line)
//! input line into jobs, pipelines, simple commands, assignments and
//! redirections, following a small subset of POSIX `sh`.
//!
//! Owns: the grammar and quoting/expansion rules only. It runs nothing and
//! knows no shell state except through the caller's variable lookup closure.
//! May depend on: `core` and `alloc` only.
//!
//! Hand-written because no crates.io crate parses `sh` syntax with variable
//! expansion under `no_std`; the subset is small enough to keep here.
//!
//! [`parse`] parses and expands a whole line at once; [`parse_one`] does one
//! job at a time, so a shell can run each job before expanding the next
//! (`X=5; echo $X`, `false; echo $?`).
//!
//! Supported syntax:
//! - `;` or a newline (outside quotes) separates jobs; empty jobs are skipped.
//! - A trailing `&` marks a job as background.
//! - `|` separates the commands of a pipeline; an empty pipeline element is an error.
//! - Redirections `<`, `>`, `>>`, optionally preceded by a decimal fd written
//!   without a space (`2>`, `2>>`, `1>`, `0<`). The target is the next word.
//! - `'single quotes'` are literal. `"double quotes"` expand `$` and honour the
//!   backslash escapes `\\ \" \$ \``, plus backslash-newline as a line
//!   continuation; any other backslash is kept literally.
//! - Unquoted, a backslash escapes the next char; backslash-newline is removed.
//! - `$NAME`, `${NAME}`, `$?` and `$0`..`$9` are expanded through the caller's
//!   lookup; a `$` not followed by a name stays a literal `$`.
//! - `NAME=value` words before the command name are assignments.
//! - `#` at the start of a word starts a comment up to the end of the line.
//!
//! Deliberate simplifications: expanded values are NOT word-split or
//! glob-expanded (a value with spaces stays one argument); there is no command
//! substitution, no `&&`/`||`, no `2>&1`-style fd duplication, no here-docs.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// One job: a pipeline, run in the foreground or background.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Commands connected by `|`, in order. Never empty.
    pub pipeline: Vec<SimpleCommand>,
    /// The job was terminated by `&`.
    pub background: bool,
}

/// A command with its leading assignments, arguments and redirections.
/// At least one of the three lists is non-empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimpleCommand {
    /// `NAME=value` words that came before the command name, in order.
    /// If `argv` is empty, the caller decides whether they set shell variables.
    pub assignments: Vec<(String, String)>,
    /// The command name followed by its arguments (may be empty).
    pub argv: Vec<String>,
    /// Redirections in the order they appeared.
    pub redirects: Vec<Redirect>,
}

impl SimpleCommand {
    fn is_empty(&self) -> bool {
        self.assignments.is_empty() && self.argv.is_empty() && self.redirects.is_empty()
    }
}

/// One redirection, e.g. `2>>log` is `{ fd: 2, kind: Append, target: "log" }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// The redirected file descriptor (0 for `<`, 1 for `>`/`>>` unless given).
    pub fd: u32,
    /// How the target is opened.
    pub kind: RedirectKind,
    /// The target path, after quote removal and expansion.
    pub target: String,
}

/// How a redirection target is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectKind {
    /// `<`: open for reading.
    Read,
    /// `>`: create or truncate, then write.
    Write,
    /// `>>`: create or append.
    Append,
}

/// Why a line could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// A `'` was never closed.
    UnterminatedSingleQuote,
    /// A `"` was never closed.
    UnterminatedDoubleQuote,
    /// The line ends with an unquoted `\`.
    TrailingBackslash,
    /// A redirection operator is not followed by a target word.
    MissingRedirectTarget,
    /// An empty element in a pipeline (`| x`, `a ||`, `a |`) or a lone `&`.
    EmptyCommand,
    /// `${` without `}`, or an invalid name inside `${...}`.
    BadSubstitution,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParseError::UnterminatedSingleQuote => "unterminated single quote",
            ParseError::UnterminatedDoubleQuote => "unterminated double quote",
            ParseError::TrailingBackslash => "trailing backslash",
            ParseError::MissingRedirectTarget => "missing redirection target",
            ParseError::EmptyCommand => "syntax error: empty command",
            ParseError::BadSubstitution => "bad substitution",
        })
    }
}

/// Parses all of `line` into jobs, expanding variables through `vars`
/// (`vars("?")` is asked for `$?`). Unset variables expand to nothing.
///
/// Every job is expanded with the same `vars`, so `X=5; echo $X` does not see
/// the new `X`: a shell that runs jobs as it goes should call [`parse_one`]
/// instead. This is exactly a loop over [`parse_one`].
pub fn parse(line: &str, vars: &dyn Fn(&str) -> Option<String>) -> Result<Vec<Job>, ParseError> {
    let mut jobs = Vec::new();
    let mut rest = line;
    while let Some((job, tail)) = parse_one(rest, vars)? {
        jobs.push(job);
        rest = tail;
    }
    Ok(jobs)
}

/// Parses the first job of `line`, expanding variables through `vars`, and
/// returns it with the unparsed rest of the line: the text after the `;`,
/// `&` or newline that ended the job (empty if the line ran out first).
///
/// Empty jobs, blanks and comments before the job are skipped; `Ok(None)`
/// means nothing but those is left. Only the returned job's text is read and
/// expanded, so a shell can run it, update its variables (and `$?`), and then
/// call this again on the rest. Errors are reported only for the text that
/// was read, so a syntax error in a later job shows up on a later call.
pub fn parse_one<'a>(
    line: &'a str,
    vars: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<(Job, &'a str)>, ParseError> {
    let mut parser = Parser {
        src: line,
        pos: 0,
        vars,
        pipeline: Vec::new(),
        cmd: SimpleCommand::default(),
        redirect: None,
        word: Word::new(),
        fresh: true,
    };
    let job = parser.job()?;
    Ok(job.map(|job| (job, &line[parser.pos..])))
}

/// True when `line` ends inside quotes or right after an unquoted trailing
/// backslash, i.e. the shell should read a continuation line and join it to
/// this one with `'\n'`.
pub fn is_incomplete(line: &str) -> bool {
    let mut chars = line.chars();
    // Mirrors the parser's rule for where a `#` comment may start.
    let mut fresh = true;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                None => return true,
                Some('\n') => {}
                Some(_) => fresh = false,
            },
            '\'' => {
                if !chars.by_ref().any(|c| c == '\'') {
                    return true;
                }
                fresh = false;
            }
            '"' => {
                loop {
                    match chars.next() {
                        None => return true,
                        Some('"') => break,
                        Some('\\') => {
                            if chars.next().is_none() {
                                return true;
                            }
                        }
                        Some(_) => {}
                    }
                }
                fresh = false;
            }
            '#' if fresh => {
                // The newline ending the comment (if any) keeps `fresh` true.
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            ' ' | '\t' | '\r' | '\n' | ';' | '&' | '|' | '<' | '>' => fresh = true,
            _ => fresh = false,
        }
    }
    false
}

/// `[A-Za-z_][A-Za-z0-9_]*`
fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// The word being built.
struct Word {
    text: String,
    /// The word exists even if `text` is empty (it had quotes or literal chars).
    active: bool,
    /// Every char so far was an unquoted, unescaped literal (needed to
    /// recognise `NAME=` assignments and `2>` fd numbers).
    plain: bool,
    /// Byte index of the `=` of a `NAME=value` word.
    assign_at: Option<usize>,
}

impl Word {
    fn new() -> Self {
        Word {
            text: String::new(),
            active: false,
            plain: true,
            assign_at: None,
        }
    }
}

struct Parser<'a> {
    src: &'a str,
    /// Byte offset of the next char of `src`.
    pos: usize,
    vars: &'a dyn Fn(&str) -> Option<String>,
    pipeline: Vec<SimpleCommand>,
    cmd: SimpleCommand,
    /// A redirection operator waiting for its target word.
    redirect: Option<(u32, RedirectKind)>,
    word: Word,
    /// Nothing has been consumed into the current word yet.
    fresh: bool,
}

impl Parser<'_> {
    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if let Some(c) = c {
            self.pos += c.len_utf8();
        }
        c
    }

    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    /// Reads up to and including the end of the first non-empty job, or to
    /// the end of the line if there is none.
    fn job(&mut self) -> Result<Option<Job>, ParseError> {
        while let Some(c) = self.next() {
            match c {
                ' ' | '\t' | '\r' => self.end_word(),
                '\n' | ';' => {
                    self.end_word();
                    if let Some(job) = self.end_job(false)? {
                        return Ok(Some(job));
                    }
                }
                '&' => {
                    self.end_word();
                    if let Some(job) = self.end_job(true)? {
                        return Ok(Some(job));
                    }
                }
                '|' => {
                    self.end_word();
                    self.end_pipe_element()?;
                }
                '<' | '>' => self.redirect_op(c)?,
                '#' if self.fresh => {
                    // Leave the newline (if any) to end the job.
                    self.pos = self.src[self.pos..]
                        .find('\n')
                        .map_or(self.src.len(), |i| self.pos + i);
                }
                '\'' => self.single_quoted()?,
                '"' => self.double_quoted()?,
                '\\' => match self.next() {
                    None => return Err(ParseError::TrailingBackslash),
                    Some('\n') => {}
                    Some(c) => self.push_literal(c, false),
                },
                '$' => self.dollar()?,
                '=' => {
                    if self.word.plain && self.word.assign_at.is_none() && is_name(&self.word.text)
                    {
                        self.word.assign_at = Some(self.word.text.len());
                    }
                    self.push_literal('=', true);
                }
                c => self.push_literal(c, true),
            }
        }
        self.end_word();
        self.end_job(false)
    }

    fn push_literal(&mut self, c: char, plain: bool) {
        self.word.text.push(c);
        self.word.active = true;
        self.word.plain &= plain;
        self.fresh = false;
    }

    /// Finishes the current word and files it as a redirection target,
    /// an assignment or an argument.
    fn end_word(&mut self) {
        let word = core::mem::replace(&mut self.word, Word::new());
        self.fresh = true;
        if !word.active {
            return;
        }
        if let Some((fd, kind)) = self.redirect.take() {
            self.cmd.redirects.push(Redirect {
                fd,
                kind,
                target: word.text,
            });
        } else if let (Some(eq), true) = (word.assign_at, self.cmd.argv.is_empty()) {
            let mut name = word.text;
            let value = name.split_off(eq + 1);
            name.truncate(eq);
            self.cmd.assignments.push((name, value));
        } else {
            self.cmd.argv.push(word.text);
        }
    }

    fn end_pipe_element(&mut self) -> Result<(), ParseError> {
        if self.redirect.is_some() {
            return Err(ParseError::MissingRedirectTarget);
        }
        let cmd = core::mem::take(&mut self.cmd);
        if cmd.is_empty() {
            return Err(ParseError::EmptyCommand);
        }
        self.pipeline.push(cmd);
        Ok(())
    }

    /// Ends the current job; `None` if it was empty (e.g. `;;`).
    fn end_job(&mut self, background: bool) -> Result<Option<Job>, ParseError> {
        if self.redirect.is_some() {
            return Err(ParseError::MissingRedirectTarget);
        }
        let cmd = core::mem::take(&mut self.cmd);
        if cmd.is_empty() {
            if background || !self.pipeline.is_empty() {
                return Err(ParseError::EmptyCommand);
            }
            return Ok(None);
        }
        self.pipeline.push(cmd);
        Ok(Some(Job {
            pipeline: core::mem::take(&mut self.pipeline),
            background,
        }))
    }

    /// Handles `<`, `>` or `>>` (`op` already consumed), with an optional fd
    /// number taken from the word just before it.
    fn redirect_op(&mut self, op: char) -> Result<(), ParseError> {
        let explicit_fd = if self.redirect.is_none()
            && self.word.plain
            && !self.word.text.is_empty()
            && self.word.text.bytes().all(|b| b.is_ascii_digit())
        {
            self.word.text.parse::<u32>().ok()
        } else {
            None
        };
        let fd = match explicit_fd {
            Some(fd) => {
                self.word = Word::new();
                self.fresh = true;
                fd
            }
            None => {
                self.end_word();
                if self.redirect.is_some() {
                    return Err(ParseError::MissingRedirectTarget);
                }
                if op == '<' { 0 } else { 1 }
            }
        };
        let kind = if op == '<' {
            RedirectKind::Read
        } else if self.peek() == Some('>') {
            self.pos += 1;
            RedirectKind::Append
        } else {
            RedirectKind::Write
        };
        self.redirect = Some((fd, kind));
        Ok(())
    }

    fn single_quoted(&mut self) -> Result<(), ParseError> {
        self.word.active = true;
        self.word.plain = false;
        self.fresh = false;
        loop {
            match self.next() {
                None => return Err(ParseError::UnterminatedSingleQuote),
                Some('\'') => return Ok(()),
                Some(c) => self.word.text.push(c),
            }
        }
    }

    fn double_quoted(&mut self) -> Result<(), ParseError> {
        self.word.active = true;
        self.word.plain = false;
        self.fresh = false;
        loop {
            match self.next() {
                None => return Err(ParseError::UnterminatedDoubleQuote),
                Some('"') => return Ok(()),
                Some('\\') => match self.next() {
                    None => return Err(ParseError::UnterminatedDoubleQuote),
                    Some(c @ ('\\' | '"' | '$' | '`')) => self.word.text.push(c),
                    Some('\n') => {}
                    Some(c) => {
                        self.word.text.push('\\');
                        self.word.text.push(c);
                    }
                },
                Some('$') => self.dollar()?,
                Some(c) => self.word.text.push(c),
            }
        }
    }

    /// Expands what follows a `$` (already consumed).
    fn dollar(&mut self) -> Result<(), ParseError> {
        let name: String = match self.peek() {
            Some('?') => {
                self.pos += 1;
                String::from("?")
            }
            Some(c) if c.is_ascii_digit() => {
                self.pos += 1;
                String::from(c)
            }
            Some('{') => {
                self.pos += 1;
                let start = self.pos;
                let Some(len) = self.src[start..].find('}') else {
                    return Err(ParseError::BadSubstitution);
                };
                self.pos = start + len + 1;
                let name = String::from(&self.src[start..start + len]);
                let digits = !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit());
                if !(is_name(&name) || digits || name == "?") {
                    return Err(ParseError::BadSubstitution);
                }
                name
            }
            Some(c) if c == '_' || c.is_ascii_alphabetic() => {
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|c| c == '_' || c.is_ascii_alphanumeric())
                {
                    self.pos += 1;
                }
                String::from(&self.src[start..self.pos])
            }
            _ => {
                // Not an expansion: a literal dollar sign.
                self.word.text.push('$');
                self.word.active = true;
                self.fresh = false;
                return Ok(());
            }
        };
        let value = (self.vars)(&name).unwrap_or_default();
        self.word.plain = false;
        self.fresh = false;
        if !value.is_empty() {
            self.word.active = true;
            self.word.text.push_str(&value);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
