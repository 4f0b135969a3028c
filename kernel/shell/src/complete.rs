//! Tab completion: the first word of a command against command names (the command table and
//! the files in `/bin`), any other word against paths relative to the cwd.

use crate::commands::COMMANDS;
use alloc::string::String;
use alloc::vec::Vec;

/// What Tab does to the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// Text to insert at the cursor: the rest of the unique match (with a `/` for a
    /// directory, a space otherwise), or the prefix every match shares.
    pub insert: String,
    /// Every match as it is listed (last path component, `/` after directories); empty or
    /// one element when there is nothing to list.
    pub matches: Vec<String>,
}

/// Characters that end a word for completion purposes.
fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '|' | ';' | '&' | '<' | '>')
}

pub(crate) fn complete(cwd: &str, line: &str, cursor: usize) -> Completion {
    let end = line
        .char_indices()
        .nth(cursor)
        .map_or(line.len(), |(i, _)| i);
    let before = &line[..end];
    let start = before
        .char_indices()
        .rev()
        .find(|&(_, c)| is_separator(c))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let word = &before[start..];
    let head = before[..start].trim_end();
    let command_position = head.is_empty() || head.ends_with(['|', ';', '&']);
    // (full replacement of the word, shown name)
    let candidates: Vec<(String, String)> = if command_position && !word.contains('/') {
        let mut names: Vec<String> = COMMANDS.iter().map(|c| String::from(c.name)).collect();
        if let Ok(entries) = vfs::read_dir("/bin") {
            names.extend(
                entries
                    .into_iter()
                    .filter(|e| e.kind != vfs::FileKind::Directory)
                    // WASI programs run by their name without `.wasm`.
                    .map(|e| match e.name.strip_suffix(".wasm") {
                        Some(name) => String::from(name),
                        None => String::from(&*e.name),
                    }),
            );
        }
        names.sort();
        names.dedup();
        names
            .into_iter()
            .filter(|n| n.starts_with(word))
            .map(|n| (n.clone(), n))
            .collect()
    } else {
        path_candidates(cwd, word)
    };
    let matches: Vec<String> = candidates.iter().map(|(_, shown)| shown.clone()).collect();
    let insert = match candidates.as_slice() {
        [] => String::new(),
        [(full, _)] => {
            let mut s = String::from(&full[word.len()..]);
            if !s.ends_with('/') && !full.ends_with('/') {
                s.push(' ');
            }
            s
        }
        many => {
            let mut prefix: &str = &many[0].0;
            for (full, _) in &many[1..] {
                let common = prefix
                    .char_indices()
                    .zip(full.chars())
                    .find(|((_, a), b)| a != b)
                    .map_or(prefix.len().min(full.len()), |((i, _), _)| i);
                prefix = &prefix[..common];
            }
            String::from(prefix.get(word.len()..).unwrap_or(""))
        }
    };
    Completion { insert, matches }
}

/// Entries of the word's directory that start with its last component.
fn path_candidates(cwd: &str, word: &str) -> Vec<(String, String)> {
    let (dir_part, prefix) = match word.rfind('/') {
        Some(i) => (&word[..=i], &word[i + 1..]),
        None => ("", word),
    };
    let dir = if dir_part.is_empty() {
        String::from(cwd)
    } else {
        match vfs::absolute_from(cwd, dir_part) {
            Ok(d) => d,
            Err(_) => return Vec::new(),
        }
    };
    let Ok(entries) = vfs::read_dir(&dir) else {
        return Vec::new();
    };
    entries
        .into_iter()
        .filter(|e| e.name.starts_with(prefix))
        .filter(|e| !e.name.starts_with('.') || prefix.starts_with('.'))
        .map(|e| {
            let slash = if e.kind == vfs::FileKind::Directory {
                "/"
            } else {
                ""
            };
            (
                alloc::format!("{dir_part}{}{slash}", e.name),
                alloc::format!("{}{slash}", e.name),
            )
        })
        .collect()
}
