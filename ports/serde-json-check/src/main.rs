//! `serde_json` with `serde` derive on this OS: serializes a nested struct and enum, parses it
//! back, reads untyped `Value`s and checks error reporting. Prints `serde-json-check: ok (...)`
//! and exits 0, or prints what failed and exits 1.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Package {
    name: String,
    version: (u32, u32, u32),
    dependency_count: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    homepage: Option<String>,
    kind: Kind,
    tags: Vec<String>,
    metadata: BTreeMap<String, f64>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
enum Kind {
    Library { crate_types: Vec<String> },
    Binary { path: String },
}

fn run() -> Result<String, String> {
    let pkg = Package {
        name: "théseus \"os\"".into(),
        version: (1, 2, 3),
        dependency_count: 11,
        homepage: None,
        kind: Kind::Library {
            crate_types: vec!["rlib".into(), "cdylib".into()],
        },
        tags: vec!["os".into(), "rust".into()],
        metadata: BTreeMap::from([("score".into(), 9.5), ("ratio".into(), -0.25)]),
    };
    let text = serde_json::to_string(&pkg).map_err(|e| e.to_string())?;
    let expected = r#"{"name":"théseus \"os\"","version":[1,2,3],"dependencyCount":11,"kind":{"type":"Library","crate_types":["rlib","cdylib"]},"tags":["os","rust"],"metadata":{"ratio":-0.25,"score":9.5}}"#;
    if text != expected {
        return Err(format!("to_string gave {text}"));
    }
    let back: Package = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    if back != pkg {
        return Err(format!("round trip gave {back:?}"));
    }
    let pretty = serde_json::to_string_pretty(&pkg).map_err(|e| e.to_string())?;
    let from_pretty: Package = serde_json::from_str(&pretty).map_err(|e| e.to_string())?;
    if from_pretty != pkg || pretty.lines().count() < 10 {
        return Err("pretty round trip".into());
    }

    let v: serde_json::Value = serde_json::from_str(
        r#"{"type":"Binary","path":"/bin/x","list":[1,2.5,null,true,"\u00e9"],"big":18446744073709551615}"#,
    )
    .map_err(|e| e.to_string())?;
    if v["list"][4] != "é"
        || v["list"][1].as_f64() != Some(2.5)
        || v["big"].as_u64() != Some(u64::MAX)
    {
        return Err(format!("Value access on {v}"));
    }
    let kind: Kind = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
    if kind
        != (Kind::Binary {
            path: "/bin/x".into(),
        })
    {
        return Err(format!("from_value gave {kind:?}"));
    }
    let built = serde_json::json!({ "n": [1, 2, 3], "ok": true });
    let compact = built.to_string();
    if compact != r#"{"n":[1,2,3],"ok":true}"# {
        return Err(format!("json! gave {built}"));
    }
    let err = serde_json::from_str::<Package>("{\"name\": 5}")
        .err()
        .ok_or("bad input parsed")?;
    if err.line() != 1 || !err.is_data() {
        return Err(format!("error reporting: {err}"));
    }
    Ok(format!(
        "derive round trip ({} bytes), pretty, Value, json!, errors",
        text.len()
    ))
}

fn main() {
    match run() {
        Ok(summary) => println!("serde-json-check: ok ({summary})"),
        Err(why) => {
            println!("serde-json-check: FAILED: {why}");
            std::process::exit(1);
        }
    }
}
