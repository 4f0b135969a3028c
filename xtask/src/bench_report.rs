//! The results of `cargo xtask bench`: `target/bench/results.json` (written and read back),
//! the table printed on the terminal, and the README's generated Performance table between
//! [`BEGIN_MARKER`] and [`END_MARKER`]. No I/O but what the caller passes in.

use serde::{Deserialize, Serialize};

use crate::bench_stats::{median, ratio, spread};

/// The README lines around the generated section.
pub const BEGIN_MARKER: &str =
    "<!-- cargo xtask bench: begin (generated from target/bench/results.json) -->";
pub const END_MARKER: &str = "<!-- cargo xtask bench: end -->";

/// One benchmark's measurements, nanoseconds per operation, one value per run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub name: String,
    pub what: String,
    pub ours_ns: Vec<f64>,
    pub linux_ns: Vec<f64>,
}

impl Row {
    pub fn ours_median(&self) -> Option<f64> {
        median(&self.ours_ns)
    }
    pub fn linux_median(&self) -> Option<f64> {
        median(&self.linux_ns)
    }
    /// Median over median, ours / Linux (time: below 1 is faster).
    pub fn ratio(&self) -> Option<f64> {
        ratio(self.ours_median()?, self.linux_median()?)
    }
}

/// The rows measured with another vCPU count than [`Results::cpus`] (`bench --smp 1,2`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpuRows {
    pub cpus: usize,
    pub rows: Vec<Row>,
}

/// A whole `cargo xtask bench` run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// UTC, `YYYY-MM-DD HH:MM`.
    pub date: String,
    /// The host: CPU model and count, QEMU version.
    pub machine: String,
    /// The Linux guest's kernel package.
    pub linux_kernel: String,
    pub runs: usize,
    /// The vCPUs of both guests for `rows` (the first count of `--smp`; files from before the
    /// option have none: one).
    #[serde(default = "one")]
    pub cpus: usize,
    pub rows: Vec<Row>,
    /// The same rows with the further counts of `--smp`, ascending.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub more_cpus: Vec<CpuRows>,
}

/// One row at one vCPU count: (count, row, our speed-up, Linux's speed-up).
type SpeedupLine<'a> = (usize, &'a Row, Option<f64>, Option<f64>);

fn one() -> usize {
    1
}

/// How many times faster `now` is than `base` (times: base / now; above 1: faster).
fn speedup(base: Option<f64>, now: Option<f64>) -> Option<f64> {
    ratio(base?, now?)
}

/// "one vCPU", "2 vCPUs".
fn vcpus(count: usize) -> String {
    if count == 1 {
        "one vCPU".into()
    } else {
        format!("{count} vCPUs")
    }
}

impl Results {
    /// The JSON of `results.json`, with the medians, ratios and spreads spelled out too.
    pub fn to_json(&self) -> String {
        let mut value = serde_json::to_value(self).expect("plain data serialises");
        if let Some(rows) = value.get_mut("rows").and_then(|r| r.as_array_mut()) {
            for (json, row) in rows.iter_mut().zip(&self.rows) {
                json["ours_median_ns"] = serde_json::json!(row.ours_median());
                json["linux_median_ns"] = serde_json::json!(row.linux_median());
                json["ratio"] = serde_json::json!(row.ratio());
                json["ours_spread"] = serde_json::json!(spread(&row.ours_ns));
                json["linux_spread"] = serde_json::json!(spread(&row.linux_ns));
            }
        }
        if let Some(runs) = value.get_mut("more_cpus").and_then(|r| r.as_array_mut()) {
            for (json, more) in runs.iter_mut().zip(&self.more_cpus) {
                let Some(rows) = json.get_mut("rows").and_then(|r| r.as_array_mut()) else {
                    continue;
                };
                for (json, row) in rows.iter_mut().zip(&more.rows) {
                    let base = self.base_row(&row.name);
                    json["ours_median_ns"] = serde_json::json!(row.ours_median());
                    json["linux_median_ns"] = serde_json::json!(row.linux_median());
                    json["ratio"] = serde_json::json!(row.ratio());
                    json["ours_spread"] = serde_json::json!(spread(&row.ours_ns));
                    json["linux_spread"] = serde_json::json!(spread(&row.linux_ns));
                    json["ours_speedup"] = serde_json::json!(speedup(
                        base.and_then(Row::ours_median),
                        row.ours_median()
                    ));
                    json["linux_speedup"] = serde_json::json!(speedup(
                        base.and_then(Row::linux_median),
                        row.linux_median()
                    ));
                }
            }
        }
        let mut text = serde_json::to_string_pretty(&value).expect("a JSON value prints");
        text.push('\n');
        text
    }

    /// Reads `results.json` back (the derived fields are ignored and recomputed).
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The row `name` at the first vCPU count.
    fn base_row(&self, name: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.name == name)
    }

    /// The rows measured at more than one count: each with its values at every count, the
    /// first count first.
    fn speedups(&self) -> Vec<Vec<SpeedupLine<'_>>> {
        self.rows
            .iter()
            .filter_map(|base| {
                let mut lines = vec![(self.cpus, base, Some(1.0), Some(1.0))];
                for more in &self.more_cpus {
                    if let Some(row) = more.rows.iter().find(|r| r.name == base.name) {
                        lines.push((
                            more.cpus,
                            row,
                            speedup(base.ours_median(), row.ours_median()),
                            speedup(base.linux_median(), row.linux_median()),
                        ));
                    }
                }
                (lines.len() > 1).then_some(lines)
            })
            .collect()
    }

    /// The `--smp` value of this run: `1` or `1,2`.
    fn smp_list(&self) -> String {
        std::iter::once(self.cpus)
            .chain(self.more_cpus.iter().map(|m| m.cpus))
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The terminal table (and, with several vCPU counts, the speed-up table).
    pub fn text_table(&self) -> String {
        let mut out = format!(
            "{:<17} {:>12} {:>12} {:>9} {:>8} {:>8}  what\n",
            "benchmark", "ours", "Linux", "ours/Lx", "spread", "Lx spr"
        );
        for row in &self.rows {
            out.push_str(&format!(
                "{:<17} {:>12} {:>12} {:>9} {:>8} {:>8}  {}\n",
                row.name,
                duration(row.ours_median()),
                duration(row.linux_median()),
                times(row.ratio()),
                percent(spread(&row.ours_ns)),
                percent(spread(&row.linux_ns)),
                row.what
            ));
        }
        let speedups = self.speedups();
        if !speedups.is_empty() {
            out.push_str(&format!(
                "\nspeed-up over {} (time with {} / time with N; above 1: faster)\n",
                vcpus(self.cpus),
                self.cpus
            ));
            out.push_str(&format!(
                "{:<17} {:>5} {:>12} {:>12} {:>9} {:>8} {:>8}\n",
                "benchmark", "vCPUs", "ours", "Linux", "ours/Lx", "ours x", "Lx x"
            ));
            for (cpus, row, ours, linux) in speedups.into_iter().flatten() {
                out.push_str(&format!(
                    "{:<17} {:>5} {:>12} {:>12} {:>9} {:>8} {:>8}\n",
                    row.name,
                    cpus,
                    duration(row.ours_median()),
                    duration(row.linux_median()),
                    times(row.ratio()),
                    times(ours),
                    times(linux),
                ));
            }
        }
        out
    }

    /// The README section between the markers (markers included).
    pub fn readme_section(&self) -> String {
        let mut out = format!("{BEGIN_MARKER}\n");
        out.push_str("### Against Linux in the same emulator (`cargo xtask bench`)\n\n");
        out.push_str(&format!(
            "Measured {} UTC with `cargo xtask bench --runs {}{}` on {}; Linux guest: Debian's \
             `{}`. Both sides: QEMU TCG, `-cpu qemu64`, 1 GiB, {}; the same static musl \
             binary (`ports/linux/osbench`) times each operation with `CLOCK_MONOTONIC` inside \
             the guest. The CoreMark rows run the same `coremark.wasm` on our `wasm --engine` \
             and, in Linux, on `wasm/bench_peer` (a static musl program with the same wasmi \
             and wasmtime versions); their time is one iteration, 1 / the score CoreMark \
             reports (a score ratio is the inverse). Medians of the runs (interleaved); \
             ratio = our time / Linux's time (below 1: faster); spread = (max - min) / \
             median.\n\n",
            self.date,
            self.runs,
            if self.more_cpus.is_empty() && self.cpus == 1 {
                String::new()
            } else {
                format!(" --smp {}", self.smp_list())
            },
            self.machine,
            self.linux_kernel,
            vcpus(self.cpus)
        ));
        out.push_str("| benchmark | what | ours | Linux | ours/Linux | spread (ours, Linux) |\n");
        out.push_str("|---|---|---:|---:|---:|---|\n");
        for row in &self.rows {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {}, {} |\n",
                row.name,
                row.what,
                duration(row.ours_median()),
                duration(row.linux_median()),
                times(row.ratio()),
                percent(spread(&row.ours_ns)),
                percent(spread(&row.linux_ns)),
            ));
        }
        let speedups = self.speedups();
        if !speedups.is_empty() {
            out.push_str(&format!(
                "\nThe same rows with more vCPUs on both sides (`--smp {}`); speed-up = the \
                 median time with {} / the median time with N (above 1: faster).\n\n",
                self.smp_list(),
                vcpus(self.cpus)
            ));
            out.push_str(
                "| benchmark | vCPUs | ours | Linux | ours/Linux | speed-up (ours) | \
                 speed-up (Linux) |\n",
            );
            out.push_str("|---|---:|---:|---:|---:|---:|---:|\n");
            for (cpus, row, ours, linux) in speedups.into_iter().flatten() {
                out.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {} | {} |\n",
                    row.name,
                    cpus,
                    duration(row.ours_median()),
                    duration(row.linux_median()),
                    times(row.ratio()),
                    times(ours),
                    times(linux),
                ));
            }
        }
        out.push_str(END_MARKER);
        out.push('\n');
        out
    }
}

/// `readme` with its generated section replaced by `section`; without markers, the section
/// goes at the end of the `## Performance` section (or of the file when there is none).
pub fn splice_readme(readme: &str, section: &str) -> String {
    if let (Some(begin), Some(end)) = (readme.find(BEGIN_MARKER), readme.find(END_MARKER))
        && begin < end
    {
        let mut after = end + END_MARKER.len();
        if readme[after..].starts_with('\n') {
            after += 1;
        }
        return format!("{}{section}{}", &readme[..begin], &readme[after..]);
    }
    let insert_at = readme
        .find("\n## Performance\n")
        .map(|at| at + 1)
        .and_then(|start| {
            let body = start + "## Performance\n".len();
            readme[body..].find("\n## ").map(|next| body + next + 1)
        })
        .unwrap_or(readme.len());
    let (head, tail) = readme.split_at(insert_at);
    let gap = if head.ends_with("\n\n") || head.is_empty() {
        ""
    } else if head.ends_with('\n') {
        "\n"
    } else {
        "\n\n"
    };
    let sep = if tail.is_empty() { "" } else { "\n" };
    format!("{head}{gap}{section}{sep}{tail}")
}

/// Nanoseconds in the unit that keeps 3 significant digits readable.
pub fn duration(ns: Option<f64>) -> String {
    let Some(ns) = ns else {
        return "-".into();
    };
    if ns < 1e3 {
        format!("{ns:.0} ns")
    } else if ns < 1e6 {
        format!("{:.1} µs", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.1} ms", ns / 1e6)
    } else {
        format!("{:.2} s", ns / 1e9)
    }
}

fn times(ratio: Option<f64>) -> String {
    ratio.map_or_else(|| "-".into(), |r| format!("{r:.2}x"))
}

fn percent(fraction: Option<f64>) -> String {
    fraction.map_or_else(|| "-".into(), |f| format!("{:.0}%", f * 100.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Results {
        Results {
            date: "2026-12-05 08:00".into(),
            machine: "2 x Test CPU, QEMU emulator version 7.2.0".into(),
            linux_kernel: "linux-image-6.1.0-57-amd64".into(),
            runs: 3,
            cpus: 1,
            rows: vec![
                Row {
                    name: "null".into(),
                    what: "getpid".into(),
                    ours_ns: vec![100.0, 120.0, 110.0],
                    linux_ns: vec![400.0, 440.0, 420.0],
                },
                Row {
                    name: "boot".into(),
                    what: "power-on to prompt".into(),
                    ours_ns: vec![5e8],
                    linux_ns: vec![],
                },
            ],
            more_cpus: Vec::new(),
        }
    }

    /// `sample` with the null row measured with 2 vCPUs too.
    fn two_counts() -> Results {
        let mut results = sample();
        results.more_cpus.push(CpuRows {
            cpus: 2,
            rows: vec![Row {
                name: "null".into(),
                what: "getpid".into(),
                ours_ns: vec![55.0, 60.0, 50.0],
                linux_ns: vec![400.0, 420.0, 410.0],
            }],
        });
        results
    }

    #[test]
    fn speedups_over_the_first_count() {
        let results = two_counts();
        let text = results.to_json();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["cpus"], 1);
        let two = &value["more_cpus"][0];
        assert_eq!(two["cpus"], 2);
        assert_eq!(two["rows"][0]["ours_median_ns"], 55.0);
        assert_eq!(two["rows"][0]["ours_speedup"], 2.0);
        let linux = two["rows"][0]["linux_speedup"].as_f64().unwrap();
        assert!((linux - 420.0 / 410.0).abs() < 1e-12);
        assert_eq!(Results::from_json(&text).unwrap(), results);
        // Only the rows measured at both counts, each count on a line.
        let table = results.text_table();
        let lines: Vec<&str> = table
            .lines()
            .skip_while(|l| !l.starts_with("speed-up"))
            .collect();
        assert_eq!(lines.len(), 4, "{table}");
        for part in ["null", " 1 ", "110 ns", "1.00x"] {
            assert!(lines[2].contains(part), "{part} missing in {:?}", lines[2]);
        }
        for part in ["null", " 2 ", "55 ns", "410 ns", "2.00x", "1.02x"] {
            assert!(lines[3].contains(part), "{part} missing in {:?}", lines[3]);
        }
        let section = results.readme_section();
        assert!(section.contains("`cargo xtask bench --runs 3 --smp 1,2`"));
        assert!(section.contains("| null | 2 | 55 ns | 410 ns | 0.13x | 2.00x | 1.02x |"));
        assert!(section.contains("| null | 1 | 110 ns | 420 ns | 0.26x | 1.00x | 1.00x |"));
        assert!(!section.contains("| boot | 1 |"));
        assert!(section.trim_end().ends_with(END_MARKER));
    }

    #[test]
    fn one_count_keeps_the_old_format() {
        let results = sample();
        let text = results.to_json();
        assert!(!text.contains("more_cpus"));
        assert!(!results.text_table().contains("speed-up"));
        let section = results.readme_section();
        assert!(section.contains("`cargo xtask bench --runs 3` on"));
        assert!(section.contains("1 GiB, one vCPU;"));
        assert!(!section.contains("speed-up"));
        // A file from before `--smp`: one vCPU, no other counts.
        let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
        value.as_object_mut().unwrap().remove("cpus");
        let old = Results::from_json(&value.to_string()).unwrap();
        assert_eq!(old, results);
        let two = Results {
            cpus: 2,
            ..sample()
        };
        let section = two.readme_section();
        assert!(section.contains("`cargo xtask bench --runs 3 --smp 2` on"));
        assert!(section.contains("1 GiB, 2 vCPUs;"));
    }

    #[test]
    fn json_round_trip_with_derived_fields() {
        let results = sample();
        let text = results.to_json();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let null = &value["rows"][0];
        assert_eq!(null["ours_median_ns"], 110.0);
        assert_eq!(null["linux_median_ns"], 420.0);
        let ratio = null["ratio"].as_f64().unwrap();
        assert!((ratio - 110.0 / 420.0).abs() < 1e-12);
        assert!(value["rows"][1]["ratio"].is_null());
        assert_eq!(Results::from_json(&text).unwrap(), results);
    }

    #[test]
    fn tables_show_medians_ratio_and_spread() {
        let results = sample();
        let table = results.text_table();
        let null = table.lines().nth(1).unwrap();
        for part in ["null", "110 ns", "420 ns", "0.26x", "18%", "10%", "getpid"] {
            assert!(null.contains(part), "{part} missing in {null:?}");
        }
        let section = results.readme_section();
        assert!(section.starts_with(BEGIN_MARKER) && section.trim_end().ends_with(END_MARKER));
        assert!(section.contains("| null | getpid | 110 ns | 420 ns | 0.26x | 18%, 10% |"));
        assert!(section.contains("| boot | power-on to prompt | 500.0 ms | - | - | 0%, - |"));
        assert!(section.contains("2026-12-05 08:00"));
    }

    #[test]
    fn durations_pick_a_unit() {
        assert_eq!(duration(Some(812.4)), "812 ns");
        assert_eq!(duration(Some(12_345.0)), "12.3 µs");
        assert_eq!(duration(Some(4.56e6)), "4.6 ms");
        assert_eq!(duration(Some(5.2e9)), "5.20 s");
        assert_eq!(duration(None), "-");
    }

    #[test]
    fn readme_splicing() {
        let section = format!("{BEGIN_MARKER}\nNEW\n{END_MARKER}\n");
        // Replaces an existing section, keeping what is around it.
        let old = format!(
            "# T\n\n## Performance\n\nhand text\n\n{BEGIN_MARKER}\nOLD\n{END_MARKER}\n\n## Layout\nx\n"
        );
        let new = splice_readme(&old, &section);
        assert_eq!(
            new,
            format!("# T\n\n## Performance\n\nhand text\n\n{section}\n## Layout\nx\n")
        );
        // Idempotent.
        assert_eq!(splice_readme(&new, &section), new);
        // Without markers: at the end of the Performance section.
        let bare = "# T\n\n## Performance\n\nhand text\n\n## Layout\nx\n";
        assert_eq!(
            splice_readme(bare, &section),
            format!("# T\n\n## Performance\n\nhand text\n\n{section}\n## Layout\nx\n")
        );
        // Without a Performance section: at the end.
        assert_eq!(
            splice_readme("# T\n", &section),
            format!("# T\n\n{section}")
        );
    }
}
