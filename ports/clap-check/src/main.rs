//! `clap` (derive) on this OS: parses its own argv and prints the parsed values, then checks
//! parsing of fixed argument lists (defaults, value parsers, subcommands, errors, help).
//! Prints `clap-check: ok (...)` and exits 0, or what failed and exits 1; bad argv gives
//! clap's own error and exit status 2.
//!
//! Run: `/bin/clap-check [-v]... [--name NAME] [--level N] [--color WHEN] [build [--release] FILE...]`

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser, PartialEq)]
#[command(
    name = "clap-check",
    version = "1.0",
    about = "Parses its arguments with clap"
)]
struct Cli {
    /// More output (repeatable).
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
    /// A name.
    #[arg(short, long, default_value = "world")]
    name: String,
    /// A level from 1 to 10.
    #[arg(short, long, default_value_t = 5, value_parser = clap::value_parser!(u8).range(1..=10))]
    level: u8,
    /// When to use colour.
    #[arg(long, value_enum, default_value_t = When::Auto)]
    color: When,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Clone, Copy, PartialEq, ValueEnum)]
enum When {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand, PartialEq)]
enum Command {
    /// Builds files.
    Build {
        #[arg(long)]
        release: bool,
        #[arg(required = true)]
        files: Vec<String>,
    },
    /// Cleans.
    Clean,
}

fn self_checks() -> Result<(), String> {
    let cli = Cli::try_parse_from(["x"]).map_err(|e| e.to_string())?;
    if cli
        != (Cli {
            verbose: 0,
            name: "world".into(),
            level: 5,
            color: When::Auto,
            command: None,
        })
    {
        return Err(format!("defaults: {cli:?}"));
    }
    let cli = Cli::try_parse_from([
        "x",
        "-vvv",
        "--name=a b",
        "-l",
        "10",
        "--color",
        "never",
        "clean",
    ])
    .map_err(|e| e.to_string())?;
    if cli
        != (Cli {
            verbose: 3,
            name: "a b".into(),
            level: 10,
            color: When::Never,
            command: Some(Command::Clean),
        })
    {
        return Err(format!("full parse: {cli:?}"));
    }
    let kind = |args: &[&str]| Cli::try_parse_from(args).err().map(|e| e.kind());
    use clap::error::ErrorKind;
    for (args, want) in [
        (&["x", "--level", "11"][..], ErrorKind::ValueValidation),
        (&["x", "--color", "sometimes"][..], ErrorKind::InvalidValue),
        (&["x", "--bogus"][..], ErrorKind::UnknownArgument),
        (&["x", "build"][..], ErrorKind::MissingRequiredArgument),
        (&["x", "--help"][..], ErrorKind::DisplayHelp),
        (&["x", "--version"][..], ErrorKind::DisplayVersion),
    ] {
        if kind(args) != Some(want) {
            return Err(format!("{args:?} gave {:?}, expected {want:?}", kind(args)));
        }
    }
    let help = Cli::try_parse_from(["x", "--help"])
        .unwrap_err()
        .to_string();
    if !help.contains("Parses its arguments with clap") || !help.contains("--level <LEVEL>") {
        return Err(format!("help text: {help}"));
    }
    Ok(())
}

fn main() {
    let cli = Cli::parse();
    println!(
        "parsed: verbose={} name={:?} level={} color={:?}",
        cli.verbose, cli.name, cli.level, cli.color
    );
    match &cli.command {
        Some(Command::Build { release, files }) => {
            println!("command: build release={release} files={files:?}")
        }
        Some(Command::Clean) => println!("command: clean"),
        None => println!("command: none"),
    }
    match self_checks() {
        Ok(()) => println!(
            "clap-check: ok (derive: counts, defaults, ranges, value enums, subcommands, 6 error kinds, help)"
        ),
        Err(why) => {
            println!("clap-check: FAILED: {why}");
            std::process::exit(1);
        }
    }
}
