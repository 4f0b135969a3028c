//! `regex` on this OS: compiles patterns with named captures, Unicode classes and a `RegexSet`,
//! finds, iterates and replaces, and checks every result. Prints `regex-check: ok (...)`
//! and exits 0, or prints what failed and exits 1.

use regex::{Regex, RegexSet};

fn run() -> Result<String, String> {
    let date = Regex::new(r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})").map_err(|e| e.to_string())?;
    let text = "released 2024-03-15, patched 2025-11-02";
    let dates: Vec<(String, String, String)> = date
        .captures_iter(text)
        .map(|c| (c["y"].to_string(), c["m"].to_string(), c["d"].to_string()))
        .collect();
    if dates
        != [
            ("2024".into(), "03".into(), "15".into()),
            ("2025".into(), "11".into(), "02".into()),
        ]
    {
        return Err(format!("captures_iter gave {dates:?}"));
    }
    let swapped = date.replace_all(text, "$d/$m/$y");
    if swapped != "released 15/03/2024, patched 02/11/2025" {
        return Err(format!("replace_all gave {swapped:?}"));
    }

    // Unicode classes: letters of any script, Greek only, and case-insensitive Unicode matching.
    let words = Regex::new(r"\p{L}+").map_err(|e| e.to_string())?;
    let found: Vec<&str> = words
        .find_iter("Ωμέγα, naïve 東京 42")
        .map(|m| m.as_str())
        .collect();
    if found != ["Ωμέγα", "naïve", "東京"] {
        return Err(format!("\\p{{L}}+ found {found:?}"));
    }
    let greek = Regex::new(r"\p{Greek}+").map_err(|e| e.to_string())?;
    if greek.find("abc αβγ def").map(|m| m.as_str()) != Some("αβγ") {
        return Err("\\p{Greek} did not match".into());
    }
    let ci = Regex::new(r"(?i)straße").map_err(|e| e.to_string())?;
    if !ci.is_match("STRASSE or STRAßE") {
        return Err("(?i) Unicode case folding".into());
    }

    // A set of patterns, and a closure replacement.
    let set =
        RegexSet::new([r"^\d+$", r"^[a-z]+$", r"^\w+@\w+\.\w+$"]).map_err(|e| e.to_string())?;
    let which: Vec<usize> = set.matches("user@example.org").into_iter().collect();
    if which != [2] {
        return Err(format!("RegexSet matched {which:?}"));
    }
    let num = Regex::new(r"\d+").map_err(|e| e.to_string())?;
    let doubled = num.replace_all("1 plus 20 is 21", |c: &regex::Captures| {
        (c[0].parse::<u32>().unwrap() * 2).to_string()
    });
    if doubled != "2 plus 40 is 42" {
        return Err(format!("closure replace gave {doubled:?}"));
    }
    let unclosed = format!("({}", "unclosed");
    if Regex::new(&unclosed).is_ok() {
        return Err("an invalid pattern compiled".into());
    }
    let split: Vec<&str> = Regex::new(r"\s*[,;]\s*")
        .unwrap()
        .split("a , b;c ,d")
        .collect();
    if split != ["a", "b", "c", "d"] {
        return Err(format!("split gave {split:?}"));
    }
    Ok(format!(
        "{} dates swapped, {} unicode words, set + closure replace + split",
        dates.len(),
        found.len()
    ))
}

fn main() {
    match run() {
        Ok(summary) => println!("regex-check: ok ({summary})"),
        Err(why) => {
            println!("regex-check: FAILED: {why}");
            std::process::exit(1);
        }
    }
}
