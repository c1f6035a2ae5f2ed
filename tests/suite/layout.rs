//! The rules of the code's layout, checked on the source: only the state machine moves task and
//! report files, no module imports one that imports it back, and states are never compared as
//! strings. docs/architecture.md states the same rules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The library's source files, relative to src/, each without its unit tests and comments.
fn library() -> BTreeMap<String, String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(&src).unwrap().display().to_string();
            let text = std::fs::read_to_string(&p).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            let code: Vec<&str> = code
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect();
            (rel, code.join("\n"))
        })
        .collect()
}

/// Calls that rename, link or unlink a file.
const MOVES: &[&str] = &[
    "move_noreplace(",
    "durable::replace(",
    "publish_new(",
    "remove_if_exists(",
    "move_new(",
    "link_new(",
    "fs::rename(",
    "fs::remove_file(",
    "fs::hard_link(",
    "fs::remove_dir(",
];

/// Files outside the state machine that move files of their own, none of them a task or a
/// report: the file-system probe's scratch files, a worker's result temp file, config.json,
/// worker records and observations (and a forgotten worker's empty folder), the marks of runs still being stopped, the pause flag, messages, the doorbell in pending/, worker logs, the journal's segments, the stats summary. The count keeps a new move from slipping in.
const OWN_FILES: &[(&str, usize)] = &[
    ("fsinfo.rs", 4),
    ("worker/attempt.rs", 1),
    ("workspace.rs", 2),
    ("lease.rs", 6),
    ("operate.rs", 4),
    ("messages.rs", 3),
    ("gate.rs", 1),
    ("logging.rs", 1),
    ("events.rs", 1),
    ("stats.rs", 2),
];

#[test]
fn only_the_state_machine_moves_task_and_report_files() {
    for (file, code) in library() {
        if file.starts_with("state/") || file == "durable.rs" || file.starts_with("cli/") {
            continue;
        }
        let n: usize = MOVES.iter().map(|m| code.matches(m).count()).sum();
        let allowed = OWN_FILES
            .iter()
            .find(|(f, _)| *f == file)
            .map_or(0, |(_, n)| *n);
        assert_eq!(
            n, allowed,
            "src/{file} renames, links or unlinks files {n} time(s), {allowed} allowed: moves of task and report files belong in src/state/"
        );
    }
    let cli: Vec<String> = library()
        .into_iter()
        .filter(|(f, c)| f.starts_with("cli/") && MOVES.iter().any(|m| c.contains(m)))
        .map(|(f, _)| f)
        .collect();
    assert!(cli.is_empty(), "the command line moves files: {cli:?}");
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (file, code) in library() {
        if file.starts_with("cli/") || file == "main.rs" || file == "lib.rs" {
            continue;
        }
        let module = file.split('/').next().unwrap().trim_end_matches(".rs");
        let deps = graph.entry(module.to_string()).or_default();
        for part in code.split("crate::").skip(1) {
            let name: String = part
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if !name.is_empty() && name != module {
                deps.insert(name);
            }
        }
    }
    // Every pair of modules that reach each other is a cycle.
    let reach = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_string()];
        while let Some(m) = todo.pop() {
            for d in graph.get(&m).into_iter().flatten() {
                if seen.insert(d.clone()) {
                    todo.push(d.clone());
                }
            }
        }
        seen
    };
    let mut cycles = Vec::new();
    for m in graph.keys() {
        if reach(m).contains(m) {
            cycles.push(m.clone());
        }
    }
    assert!(cycles.is_empty(), "modules on an import cycle: {cycles:?}");
    assert!(
        !reach("task").contains("runner") && !reach("task").contains("checks"),
        "the task model depends on the runner: {:?}",
        reach("task")
    );
}

#[test]
fn states_outcomes_and_event_kinds_are_never_compared_as_strings() {
    let fields = [
        ".status ==",
        ".outcome ==",
        ".event ==",
        ".mode ==",
        ".status !=",
        ".outcome !=",
        ".event !=",
        ".mode !=",
    ];
    for (file, code) in library() {
        for line in code.lines() {
            for f in fields {
                if let Some(rest) = line.split(f).nth(1) {
                    assert!(
                        !rest.trim_start().starts_with('"'),
                        "src/{file} compares a string: {}",
                        line.trim()
                    );
                }
            }
        }
    }
}
