//! docs/json.md, run as written: each row's command in order, every line it prints parsed and
//! its top-level keys checked against the row's list.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use super::support::*;

/// The rows of the keys table: the command and its keys (`?` marks a key that may be absent;
/// "as the first VERB" repeats an earlier row's list).
fn rows() -> Vec<(String, Vec<String>)> {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/json.md")).unwrap();
    let mut rows = Vec::new();
    let mut first: HashMap<String, Vec<String>> = HashMap::new();
    for line in doc.lines().filter(|l| l.starts_with("| `coord ")) {
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").collect();
        let command = cells[0].trim().trim_matches('`').to_string();
        let verb = command.split_whitespace().nth(1).unwrap().to_string();
        let keys: Vec<String> = match cells[1].trim().strip_prefix("as the first `") {
            Some(rest) => first[rest.trim_end_matches('`')].clone(),
            None => cells[1]
                .split(", ")
                .map(|k| k.trim().trim_matches('`').to_string())
                .collect(),
        };
        first.entry(verb).or_insert_with(|| keys.clone());
        rows.push((command, keys));
    }
    rows
}

#[test]
fn every_command_prints_the_keys_docs_json_md_lists() {
    let rows = rows();
    assert!(rows.len() >= 40, "the table lost rows: {}", rows.len());
    let p = Project::new();
    p.write(
        "tasks.json",
        r#"[{"id":"a","description":"ask"},{"id":"b","description":"fail","command":"true"},
            {"id":"c","description":"snooze"},{"id":"r","description":"approve","review":true},
            {"id":"s","description":"reject","review":true},
            {"id":"d","description":"cancel","command":"echo cancelled, then retried"}]"#,
    );
    for (command, keys) in rows {
        let out = sh_with_coord(p.path(), &command);
        let empty_next = command.starts_with("coord next") && out.status.code() == Some(10);
        assert!(
            out.status.success() || empty_next,
            "{command}: {}",
            stderr(&out)
        );
        let text = stdout(&out);
        assert!(!text.trim().is_empty(), "{command} printed nothing");
        let required: BTreeSet<&str> = keys
            .iter()
            .filter(|k| !k.ends_with('?'))
            .map(String::as_str)
            .collect();
        let allowed: BTreeSet<&str> = keys.iter().map(|k| k.trim_end_matches('?')).collect();
        for line in text.lines() {
            let v: Value = serde_json::from_str(line).unwrap_or_else(|e| {
                panic!("{command} printed a line that is not JSON ({e}): {line}")
            });
            let obj = v
                .as_object()
                .unwrap_or_else(|| panic!("{command}: not an object: {line}"));
            assert_eq!(
                obj.keys().next().map(String::as_str),
                Some("schemaVersion"),
                "{command}"
            );
            assert_eq!(obj["schemaVersion"], 1, "{command}");
            let found: BTreeSet<&str> = obj.keys().map(String::as_str).collect();
            let missing: Vec<_> = required.difference(&found).collect();
            let unknown: Vec<_> = found.difference(&allowed).collect();
            assert!(
                missing.is_empty(),
                "{command}: docs/json.md lists {missing:?}, not printed: {line}"
            );
            assert!(
                unknown.is_empty(),
                "{command}: prints {unknown:?}, not in docs/json.md: {line}"
            );
            banned_names(&v, &command);
        }
    }
}

/// No key anywhere (outside a queued task's own fields) uses a retired name for an id.
fn banned_names(v: &Value, command: &str) {
    match v {
        Value::Object(obj) => {
            for (k, inner) in obj {
                assert!(
                    !["worker", "holder", "queueSize", "activeTasks"].contains(&k.as_str()),
                    "{command} prints the retired key {k:?}"
                );
                if k != "task" {
                    banned_names(inner, command);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| banned_names(i, command)),
        _ => {}
    }
}
