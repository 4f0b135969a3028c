use super::*;
use alloc::string::ToString;
use alloc::vec;

fn vars(name: &str) -> Option<String> {
    match name {
        "HOME" => Some("/home/me".to_string()),
        "X" => Some("ex".to_string()),
        "?" => Some("42".to_string()),
        "SP" => Some("a b".to_string()),
        "EMPTY" => Some(String::new()),
        "1" => Some("first".to_string()),
        _ => None,
    }
}

fn p(line: &str) -> Result<Vec<Job>, ParseError> {
    parse(line, &vars)
}

/// argv of every command of every job.
fn argvs(line: &str) -> Vec<Vec<Vec<String>>> {
    p(line)
        .unwrap()
        .into_iter()
        .map(|j| j.pipeline.into_iter().map(|c| c.argv).collect())
        .collect()
}

/// argv of the single command of a single-job line.
fn args(line: &str) -> Vec<String> {
    let jobs = p(line).unwrap();
    assert_eq!(jobs.len(), 1, "{line:?}");
    assert_eq!(jobs[0].pipeline.len(), 1, "{line:?}");
    jobs[0].pipeline[0].argv.clone()
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn cmd(argv: &[&str]) -> SimpleCommand {
    SimpleCommand {
        argv: s(argv),
        ..Default::default()
    }
}

#[test]
fn simple_words_and_blanks() {
    assert_eq!(args("echo hello world"), s(&["echo", "hello", "world"]));
    assert_eq!(args("  \t echo\t\thi  \r"), s(&["echo", "hi"]));
    assert!(p("").unwrap().is_empty());
    assert!(p("   \t ").unwrap().is_empty());
}

#[test]
fn single_quotes_are_literal() {
    assert_eq!(
        args(r#"echo 'a $HOME \n "x" b'"#),
        s(&["echo", r#"a $HOME \n "x" b"#])
    );
    assert_eq!(args("echo 'a''b'c"), s(&["echo", "abc"]));
    assert_eq!(args("echo '; | & > <'"), s(&["echo", "; | & > <"]));
}

#[test]
fn double_quotes_escapes_and_expansion() {
    assert_eq!(
        args(r#"echo "a \\ \" \$ \` b""#),
        s(&["echo", r#"a \ " $ ` b"#])
    );
    // Other backslashes are kept literally.
    assert_eq!(args(r#"echo "\n\a""#), s(&["echo", r"\n\a"]));
    assert_eq!(
        args(r#"echo "$HOME/x ${X}y $?""#),
        s(&["echo", "/home/me/x exy 42"])
    );
    assert_eq!(args(r#"echo "'$X'""#), s(&["echo", "'ex'"]));
    assert_eq!(
        args(r#"echo "a; b | c & d > e""#),
        s(&["echo", "a; b | c & d > e"])
    );
}

#[test]
fn mixed_quoting_in_one_word() {
    assert_eq!(args(r#"echo a'b'"c"\d$X"#), s(&["echo", "abcdex"]));
    assert_eq!(
        args(r#"echo "it's" 'say "hi"'"#),
        s(&["echo", "it's", r#"say "hi""#])
    );
}

#[test]
fn empty_quoted_strings_are_arguments() {
    assert_eq!(args(r#"echo "" '' x"#), s(&["echo", "", "", "x"]));
    assert_eq!(args(r#"echo "$UNSET""#), s(&["echo", ""]));
    assert_eq!(args(r#"echo $UNSET"""#), s(&["echo", ""]));
}

#[test]
fn newline_inside_quotes_is_kept() {
    assert_eq!(args("echo 'a\nb' \"c\nd\""), s(&["echo", "a\nb", "c\nd"]));
}

#[test]
fn backslash_newline_continuation() {
    assert_eq!(args("echo ab\\\ncd"), s(&["echo", "abcd"]));
    assert_eq!(args("echo \"ab\\\ncd\""), s(&["echo", "abcd"]));
    // In single quotes a backslash-newline stays as is.
    assert_eq!(args("echo 'a\\\nb'"), s(&["echo", "a\\\nb"]));
}

#[test]
fn unquoted_backslash_escapes() {
    assert_eq!(
        args(r"echo a\ b \; \| \& \> \\ \$X \' \#"),
        s(&["echo", "a b", ";", "|", "&", ">", "\\", "$X", "'", "#"])
    );
    assert_eq!(args(r"echo \n"), s(&["echo", "n"]));
}

#[test]
fn variables() {
    assert_eq!(args("echo $HOME"), s(&["echo", "/home/me"]));
    assert_eq!(args("echo $?"), s(&["echo", "42"]));
    assert_eq!(args("echo ${X}x $Xx"), s(&["echo", "exx"]));
    assert_eq!(args("echo pre$X.post"), s(&["echo", "preex.post"]));
    assert_eq!(args("echo $1 ${1}0"), s(&["echo", "first", "first0"]));
    assert_eq!(args("echo ${?}"), s(&["echo", "42"]));
    // A lone or non-name `$` is literal.
    assert_eq!(args("echo $ a$ $- $%"), s(&["echo", "$", "a$", "$-", "$%"]));
    assert_eq!(args("echo \"$\""), s(&["echo", "$"]));
}

#[test]
fn unset_and_empty_variables_vanish_when_unquoted() {
    assert_eq!(
        args("echo $UNSET a $EMPTY ${UNSET} b"),
        s(&["echo", "a", "b"])
    );
    assert_eq!(args("echo x$UNSET"), s(&["echo", "x"]));
    assert_eq!(args("$UNSET echo"), s(&["echo"]));
    assert!(p("$UNSET").unwrap().is_empty());
}

#[test]
fn no_word_splitting_of_expansions() {
    assert_eq!(args("echo $SP"), s(&["echo", "a b"]));
}

#[test]
fn variable_lookup_receives_names() {
    let seen = core::cell::RefCell::new(Vec::new());
    let lookup = |n: &str| {
        seen.borrow_mut().push(n.to_string());
        None
    };
    parse("echo $A ${B_1} \"$?\" '$C'", &lookup).unwrap();
    assert_eq!(*seen.borrow(), s(&["A", "B_1", "?"]));
}

#[test]
fn separators_and_empty_jobs() {
    assert_eq!(
        argvs("a; b ; ; c"),
        vec![vec![s(&["a"])], vec![s(&["b"])], vec![s(&["c"])]]
    );
    assert_eq!(argvs(";;a;;"), vec![vec![s(&["a"])]]);
    assert_eq!(
        argvs("a\nb x\n\nc"),
        vec![vec![s(&["a"])], vec![s(&["b", "x"])], vec![s(&["c"])]]
    );
    assert!(p(";").unwrap().is_empty());
}

#[test]
fn pipelines() {
    let jobs = p("ls -l | grep x|wc").unwrap();
    assert_eq!(
        jobs,
        vec![Job {
            pipeline: vec![cmd(&["ls", "-l"]), cmd(&["grep", "x"]), cmd(&["wc"])],
            background: false,
        }]
    );
    assert_eq!(
        argvs("a | b; c"),
        vec![vec![s(&["a"]), s(&["b"])], vec![s(&["c"])]]
    );
}

#[test]
fn background_jobs() {
    let jobs = p("sleep 1 & echo hi; a | b &").unwrap();
    assert_eq!(jobs.len(), 3);
    assert!(jobs[0].background);
    assert_eq!(jobs[0].pipeline, vec![cmd(&["sleep", "1"])]);
    assert!(!jobs[1].background);
    assert_eq!(jobs[1].pipeline, vec![cmd(&["echo", "hi"])]);
    assert!(jobs[2].background);
    assert_eq!(jobs[2].pipeline.len(), 2);
    // `&` followed by `;` does not create an extra job.
    let jobs = p("x &;").unwrap();
    assert_eq!(jobs.len(), 1);
    assert!(jobs[0].background);
    assert!(p("x&").unwrap()[0].background);
}

fn redirects(line: &str) -> Vec<Redirect> {
    p(line).unwrap()[0].pipeline[0].redirects.clone()
}

fn r(fd: u32, kind: RedirectKind, target: &str) -> Redirect {
    Redirect {
        fd,
        kind,
        target: target.to_string(),
    }
}

#[test]
fn redirections() {
    use RedirectKind::*;
    let jobs = p("cat < in > out").unwrap();
    assert_eq!(jobs[0].pipeline[0].argv, s(&["cat"]));
    assert_eq!(
        redirects("cat < in > out"),
        vec![r(0, Read, "in"), r(1, Write, "out")]
    );
    assert_eq!(
        redirects("cat <in >>out"),
        vec![r(0, Read, "in"), r(1, Append, "out")]
    );
    assert_eq!(
        redirects("cmd 2>err 2>>log 1>o 0<i"),
        vec![
            r(2, Write, "err"),
            r(2, Append, "log"),
            r(1, Write, "o"),
            r(0, Read, "i")
        ]
    );
    assert_eq!(redirects("x 12>f"), vec![r(12, Write, "f")]);
    // Quoted target with expansion and spaces.
    assert_eq!(
        redirects("x > \"$HOME/a b\""),
        vec![r(1, Write, "/home/me/a b")]
    );
    // A redirect may come first, and the target ends at an operator.
    let jobs = p(">out echo hi|wc").unwrap();
    assert_eq!(jobs[0].pipeline[0].argv, s(&["echo", "hi"]));
    assert_eq!(jobs[0].pipeline[0].redirects, vec![r(1, Write, "out")]);
    assert_eq!(redirects("x>a<b"), vec![r(1, Write, "a"), r(0, Read, "b")]);
    // A redirection alone is a command.
    assert_eq!(redirects("> f"), vec![r(1, Write, "f")]);
}

#[test]
fn fd_number_needs_to_touch_the_operator() {
    use RedirectKind::*;
    let jobs = p("echo 2 > f").unwrap();
    assert_eq!(jobs[0].pipeline[0].argv, s(&["echo", "2"]));
    assert_eq!(jobs[0].pipeline[0].redirects, vec![r(1, Write, "f")]);
    // Quoted or mixed digits are words, not fds.
    let jobs = p("echo '2'>f a2>g").unwrap();
    assert_eq!(jobs[0].pipeline[0].argv, s(&["echo", "2", "a2"]));
    assert_eq!(
        jobs[0].pipeline[0].redirects,
        vec![r(1, Write, "f"), r(1, Write, "g")]
    );
    // Too large to be an fd: stays an argument.
    let jobs = p("echo 99999999999>f").unwrap();
    assert_eq!(jobs[0].pipeline[0].argv, s(&["echo", "99999999999"]));
}

#[test]
fn assignments() {
    let jobs = p("A=1 B=\"x y\" C= env D=4").unwrap();
    let c = &jobs[0].pipeline[0];
    assert_eq!(
        c.assignments,
        vec![
            ("A".to_string(), "1".to_string()),
            ("B".to_string(), "x y".to_string()),
            ("C".to_string(), String::new()),
        ]
    );
    assert_eq!(c.argv, s(&["env", "D=4"]));

    let jobs = p("P=$HOME/bin Q=a=b").unwrap();
    let c = &jobs[0].pipeline[0];
    assert!(c.argv.is_empty());
    assert_eq!(
        c.assignments,
        vec![
            ("P".to_string(), "/home/me/bin".to_string()),
            ("Q".to_string(), "a=b".to_string()),
        ]
    );
}

#[test]
fn not_assignments() {
    // Invalid names, quoted names, expanded names and `=` first are plain words.
    assert_eq!(args("1A=x"), s(&["1A=x"]));
    assert_eq!(args("=x"), s(&["=x"]));
    assert_eq!(args("'A'=x"), s(&["A=x"]));
    assert_eq!(args("\\A=x"), s(&["A=x"]));
    assert_eq!(args("$X=1"), s(&["ex=1"]));
    assert_eq!(args("A-B=1"), s(&["A-B=1"]));
    // An assignment-looking redirect target is a target.
    let jobs = p("> A=b").unwrap();
    assert!(jobs[0].pipeline[0].assignments.is_empty());
    assert_eq!(jobs[0].pipeline[0].redirects[0].target, "A=b");
}

#[test]
fn comments() {
    assert_eq!(argvs("echo a # b c; d"), vec![vec![s(&["echo", "a"])]]);
    assert_eq!(argvs("# only a comment"), Vec::<Vec<Vec<String>>>::new());
    assert_eq!(argvs("a #c\nb"), vec![vec![s(&["a"])], vec![s(&["b"])]]);
    // `#` inside a word, quoted or escaped is literal.
    assert_eq!(
        args("echo a#b '#c' \"#d\" \\#e"),
        s(&["echo", "a#b", "#c", "#d", "#e"])
    );
    // A quote inside a comment does not matter.
    assert_eq!(args("echo x # don't"), s(&["echo", "x"]));
    assert_eq!(argvs("a;#c"), vec![vec![s(&["a"])]]);
}

#[test]
fn errors() {
    use ParseError::*;
    assert_eq!(p("echo 'abc"), Err(UnterminatedSingleQuote));
    assert_eq!(p("echo \"abc"), Err(UnterminatedDoubleQuote));
    assert_eq!(p("echo \"abc\\"), Err(UnterminatedDoubleQuote));
    assert_eq!(p("echo abc\\"), Err(TrailingBackslash));
    assert_eq!(p("echo >"), Err(MissingRedirectTarget));
    assert_eq!(p("echo > ;x"), Err(MissingRedirectTarget));
    assert_eq!(p("echo 2>| x"), Err(MissingRedirectTarget));
    assert_eq!(p("echo > > x"), Err(MissingRedirectTarget));
    assert_eq!(p("echo > $UNSET"), Err(MissingRedirectTarget));
    assert_eq!(p("echo > &"), Err(MissingRedirectTarget));
    assert_eq!(p("| x"), Err(EmptyCommand));
    assert_eq!(p("a ||"), Err(EmptyCommand));
    assert_eq!(p("a || b"), Err(EmptyCommand));
    assert_eq!(p("a |"), Err(EmptyCommand));
    assert_eq!(p("a | ; b"), Err(EmptyCommand));
    assert_eq!(p("&"), Err(EmptyCommand));
    assert_eq!(p("a && b"), Err(EmptyCommand));
    assert_eq!(p("echo ${X"), Err(BadSubstitution));
    assert_eq!(p("echo ${}"), Err(BadSubstitution));
    assert_eq!(p("echo ${a b}"), Err(BadSubstitution));
    assert_eq!(p("echo ${1x}"), Err(BadSubstitution));
    assert_eq!(p("echo \"${X\""), Err(BadSubstitution));
}

#[test]
fn error_messages() {
    use ParseError::*;
    let all = [
        UnterminatedSingleQuote,
        UnterminatedDoubleQuote,
        TrailingBackslash,
        MissingRedirectTarget,
        EmptyCommand,
        BadSubstitution,
    ];
    let msgs: Vec<String> = all.iter().map(|e| e.to_string()).collect();
    assert_eq!(msgs[0], "unterminated single quote");
    assert_eq!(msgs[5], "bad substitution");
    for (i, m) in msgs.iter().enumerate() {
        assert!(!m.is_empty() && m.len() < 40);
        assert!(
            msgs[i + 1..].iter().all(|o| o != m),
            "duplicate message {m}"
        );
    }
}

#[test]
fn utf8_and_control_characters() {
    assert_eq!(
        args("écho 'héllo wörld' \"日本$X\" 🦀=x"),
        s(&["écho", "héllo wörld", "日本ex", "🦀=x"])
    );
    assert_eq!(args("a\u{1}b \u{7f} \0"), s(&["a\u{1}b", "\u{7f}", "\0"]));
    assert_eq!(args("x\\é"), s(&["xé"]));
    assert_eq!(p("echo ${é}"), Err(ParseError::BadSubstitution));
    assert_eq!(args("echo $é"), s(&["echo", "$é"]));
}

#[test]
fn incomplete_lines() {
    assert!(!is_incomplete(""));
    assert!(!is_incomplete("echo hi"));
    assert!(is_incomplete("echo 'abc"));
    assert!(is_incomplete("echo \"abc"));
    assert!(is_incomplete("echo \"abc\\"));
    assert!(is_incomplete("echo \"abc\\\""));
    assert!(is_incomplete("echo abc\\"));
    assert!(!is_incomplete("echo abc\\\\"));
    assert!(!is_incomplete("echo 'a\"' \"b'\""));
    assert!(!is_incomplete("echo '\\'"));
    assert!(!is_incomplete("echo \\'"));
    assert!(!is_incomplete("echo # it's"));
    assert!(is_incomplete("echo a#'b"));
    assert!(is_incomplete("echo # c\n'x"));
    assert!(!is_incomplete("echo 'a\nb'"));
    assert!(!is_incomplete("echo ${"));
}

#[test]
fn continuation_lines_join_and_parse() {
    let mut line = String::from("echo 'one");
    assert!(is_incomplete(&line));
    line.push('\n');
    line.push_str("two' x\\");
    assert!(is_incomplete(&line));
    line.push('\n');
    line.push_str("y z");
    assert!(!is_incomplete(&line));
    assert_eq!(args(&line), s(&["echo", "one\ntwo", "xy", "z"]));
}

#[test]
fn incomplete_agrees_with_parse_errors() {
    use ParseError::*;
    for line in [
        "a 'b",
        "a \"b",
        "a b\\",
        "\"a\\",
        "x # '",
        "x#'",
        "'a'\"b\\\"",
        "a\\\n#'",
        "echo\n'x",
    ] {
        let incomplete = matches!(
            p(line),
            Err(UnterminatedSingleQuote | UnterminatedDoubleQuote | TrailingBackslash)
        );
        assert_eq!(is_incomplete(line), incomplete, "{line:?}");
    }
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

#[test]
fn garbage_never_panics() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..5000 {
        let len = (rng.next() % 64) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let line = String::from_utf8_lossy(&bytes);
        let _ = parse(&line, &vars);
        let _ = is_incomplete(&line);
    }
}

#[test]
fn shell_syntax_soup_never_panics_and_agrees_with_is_incomplete() {
    const ALPHABET: &[&str] = &[
        " ", "\t", "\n", ";", "&", "|", "<", ">", ">>", "2>", "'", "\"", "\\", "$", "${", "}",
        "$?", "#", "=", "A", "x", "1", "é", "🦀", "\0", "\u{1b}", "$X", "$UNSET",
    ];
    let mut rng = Rng(12345);
    for _ in 0..20000 {
        let len = (rng.next() % 24) as usize;
        let mut line = String::new();
        for _ in 0..len {
            line.push_str(ALPHABET[(rng.next() % ALPHABET.len() as u64) as usize]);
        }
        let result = parse(&line, &vars);
        if is_incomplete(&line) {
            // A line that needs a continuation never parses successfully.
            assert!(result.is_err(), "{line:?} -> {result:?}");
        }
        if let Ok(jobs) = result {
            for job in jobs {
                assert!(!job.pipeline.is_empty());
                assert!(job.pipeline.iter().all(|c| !c.is_empty()));
            }
        }
    }
}

/// `parse_one` with the test variables: the job's argvs and the remainder.
fn one(line: &str) -> Option<(Vec<Vec<String>>, bool, &str)> {
    parse_one(line, &vars).unwrap().map(|(job, rest)| {
        let argvs = job.pipeline.into_iter().map(|c| c.argv).collect();
        (argvs, job.background, rest)
    })
}

#[test]
fn parse_one_returns_the_remainder() {
    assert_eq!(one("a; b"), Some((vec![s(&["a"])], false, " b")));
    assert_eq!(
        one("a | b\nc"),
        Some((vec![s(&["a"]), s(&["b"])], false, "c"))
    );
    // Quotes and escapes containing separators do not split.
    assert_eq!(
        one("echo 'x;y' \"a&b\\n\" c\\;d; e"),
        Some((vec![s(&["echo", "x;y", "a&b\\n", "c;d"])], false, " e"))
    );
    assert_eq!(
        one("echo 'a\nb'\nc"),
        Some((vec![s(&["echo", "a\nb"])], false, "c"))
    );
    // `&` ends a background job.
    assert_eq!(one("a & b"), Some((vec![s(&["a"])], true, " b")));
    assert_eq!(one(" b"), Some((vec![s(&["b"])], false, "")));
    assert_eq!(one("x &;"), Some((vec![s(&["x"])], true, ";")));
    assert_eq!(one(";"), None);
    // A trailing `;` leaves an empty remainder; the line end does too.
    assert_eq!(one("a;"), Some((vec![s(&["a"])], false, "")));
    assert_eq!(one("a"), Some((vec![s(&["a"])], false, "")));
    // Leading empty jobs, blanks and comments are skipped.
    assert_eq!(one(" ;; \n# c\n\ta;b"), Some((vec![s(&["a"])], false, "b")));
    // A comment at the end.
    assert_eq!(one("a # c; d"), Some((vec![s(&["a"])], false, "")));
    assert_eq!(one("a; # c"), Some((vec![s(&["a"])], false, " # c")));
    assert_eq!(one(" # c"), None);
    assert_eq!(one("a #c\nb"), Some((vec![s(&["a"])], false, "b")));
    // Nothing left.
    for line in ["", "  \t", ";;", "\n\n", "# only", ";# x\n;"] {
        assert_eq!(one(line), None, "{line:?}");
    }
    // Multi-byte chars keep the remainder on a char boundary.
    assert_eq!(
        one("é🦀;ü $X;z"),
        Some((vec![s(&["é🦀"])], false, "ü $X;z"))
    );
    assert_eq!(one("ü $X;z"), Some((vec![s(&["ü", "ex"])], false, "z")));
}

#[test]
fn parse_one_reads_only_the_first_job() {
    use core::cell::RefCell;
    let seen = RefCell::new(Vec::new());
    let lookup = |name: &str| {
        seen.borrow_mut().push(name.to_string());
        None
    };
    // Neither the later expansion nor the later syntax error is looked at.
    let (job, rest) = parse_one("echo $A; echo $B 'oops", &lookup)
        .unwrap()
        .unwrap();
    assert_eq!(job.pipeline[0].argv, s(&["echo"]));
    assert_eq!(rest, " echo $B 'oops");
    assert_eq!(*seen.borrow(), s(&["A"]));
    assert_eq!(
        parse_one(rest, &lookup),
        Err(ParseError::UnterminatedSingleQuote)
    );
    // Errors in the first job are reported.
    assert_eq!(parse_one("; | a; b", &vars), Err(ParseError::EmptyCommand));
    assert_eq!(parse_one("&", &vars), Err(ParseError::EmptyCommand));
    assert_eq!(
        parse_one("a >; b", &vars),
        Err(ParseError::MissingRedirectTarget)
    );
}

/// Runs `line` the way the shell does: parse one job, "execute" it (only
/// assignments without a command, and `false`, have an effect), repeat.
fn simulate(line: &str) -> Vec<Vec<String>> {
    use std::collections::BTreeMap;
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    vars.insert("?".to_string(), "0".to_string());
    let mut ran = Vec::new();
    let mut rest = line;
    loop {
        let lookup = |name: &str| vars.get(name).cloned();
        let Some((job, tail)) = parse_one(rest, &lookup).unwrap() else {
            break;
        };
        rest = tail;
        let cmd = &job.pipeline[0];
        if cmd.argv.is_empty() {
            for (name, value) in &cmd.assignments {
                vars.insert(name.clone(), value.clone());
            }
        }
        let status = if cmd.argv.first().is_some_and(|a| a == "false") {
            1
        } else {
            0
        };
        vars.insert("?".to_string(), status.to_string());
        ran.push(cmd.argv.clone());
    }
    ran
}

#[test]
fn parse_one_sees_variables_set_by_earlier_jobs() {
    assert_eq!(simulate("X=5; echo $X"), vec![s(&[]), s(&["echo", "5"])]);
    assert_eq!(
        simulate("false; echo $?; echo $?"),
        vec![s(&["false"]), s(&["echo", "1"]), s(&["echo", "0"])]
    );
    assert_eq!(
        simulate("X=a\nX=${X}b & echo \"$X\"x;"),
        vec![s(&[]), s(&[]), s(&["echo", "abx"])]
    );
    // `parse` expands the whole line up front, so it still sees the old value.
    let jobs = parse("X=5; echo $X", &vars).unwrap();
    assert_eq!(jobs[1].pipeline[0].argv, s(&["echo", "ex"]));
}

/// Each `parse_one` call consumes a non-empty prefix (so the shell's loop
/// terminates) and `parse` stays the same as looping over it.
#[test]
fn parse_one_always_makes_progress() {
    let mut rng = Rng(777);
    const ALPHABET: &[&str] = &[
        " ", "\n", ";", "&", "|", ">", "'", "\"", "\\", "$X", "#", "=", "a", "é", ";;",
    ];
    for _ in 0..5000 {
        let len = (rng.next() % 20) as usize;
        let mut line = String::new();
        for _ in 0..len {
            line.push_str(ALPHABET[(rng.next() % ALPHABET.len() as u64) as usize]);
        }
        let mut looped = Vec::new();
        let mut rest = line.as_str();
        let looped = loop {
            match parse_one(rest, &vars) {
                Ok(Some((job, tail))) => {
                    assert!(tail.len() < rest.len(), "{line:?}");
                    assert!(line.ends_with(tail));
                    looped.push(job);
                    rest = tail;
                }
                Ok(None) => break Ok(looped),
                Err(e) => break Err(e),
            }
        };
        assert_eq!(parse(&line, &vars), looped, "{line:?}");
    }
}
