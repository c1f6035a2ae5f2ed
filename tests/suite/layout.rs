//! The rules of the code's layout, checked on the source: only the state machine moves task and
//! report files, every import points down the layers and shows in a file's `use` block, no
//! module imports one that imports it back, docs/architecture.md's layer table and module map
//! say what the imports do, and states are never compared as strings.

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
    ("fs/fsinfo.rs", 4),
    ("verbs/worker/attempt.rs", 1),
    ("fs/workspace.rs", 2),
    ("policy/lease.rs", 6),
    ("verbs/operate.rs", 4),
    ("verbs/messages.rs", 3),
    ("policy/gate.rs", 1),
    ("sys/logging.rs", 1),
    ("views/stats.rs", 2),
];

#[test]
fn only_the_state_machine_moves_task_and_report_files() {
    for (file, code) in library() {
        if file.starts_with("state/") || file == "fs/durable.rs" || file.starts_with("cli/") {
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

/// The layers, lowest first. A layer uses only itself and the layers before it.
const LAYERS: &[&str] = &[
    "base", "fs", "sys", "model", "state", "policy", "verbs", "views", "cli",
];

/// The items the library's root re-exports, and the module each comes from.
const ROOT_ITEMS: &[(&str, &str)] = &[
    ("Error", "base::error"),
    ("Result", "base::error"),
    ("Workspace", "fs::workspace"),
];

/// Every path a `use crate::…;` statement names, its groups expanded.
fn use_paths(code: &str) -> Vec<Vec<String>> {
    fn walk(prefix: &[String], body: &str, out: &mut Vec<Vec<String>>) {
        let (mut depth, mut start) = (0, 0);
        let mut items = Vec::new();
        for (i, c) in body.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    items.push(&body[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        items.push(&body[start..]);
        for item in items.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
            let item = item.split(" as ").next().unwrap().trim();
            match item.split_once("::{") {
                Some((head, rest)) => {
                    let mut p = prefix.to_vec();
                    p.extend(head.split("::").map(String::from));
                    walk(&p, rest.strip_suffix('}').unwrap(), out);
                }
                None => {
                    let mut p = prefix.to_vec();
                    p.extend(item.split("::").map(String::from).filter(|s| s != "self"));
                    out.push(p);
                }
            }
        }
    }
    let mut out = Vec::new();
    for stmt in code.split("use crate::").skip(1) {
        let body = stmt.split(';').next().unwrap();
        let body = body.strip_prefix('{').and_then(|b| b.strip_suffix('}'));
        match body {
            Some(group) => walk(&[], group, &mut out),
            None => walk(&[], stmt.split(';').next().unwrap(), &mut out),
        }
    }
    out
}

/// The module a source file is part of: `layer::name` for `src/layer/name.rs` and
/// `src/layer/name/…`, `layer` for `src/layer/mod.rs`, `cli` for all of `src/cli/`.
fn module_of(file: &str) -> String {
    let parts: Vec<&str> = file.trim_end_matches(".rs").split('/').collect();
    match parts.as_slice() {
        ["cli", ..] => "cli".into(),
        [layer, "mod"] => layer.to_string(),
        [layer, name, ..] => format!("{layer}::{name}"),
        _ => parts.join("::"),
    }
}

/// Each module of the library (not its layers' roots, not the binaries), with the modules its
/// `use` statements name, outside itself.
fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    let files = library();
    let modules: BTreeSet<String> = files.keys().map(|f| module_of(f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (file, code) in &files {
        if !file.contains('/') || file.starts_with("bin/") {
            continue;
        }
        let module = module_of(file);
        let deps = graph.entry(module.clone()).or_default();
        for path in use_paths(code) {
            let target = match ROOT_ITEMS.iter().find(|(item, _)| *item == path[0]) {
                Some((_, m)) => m.to_string(),
                None if path[0] == "cli" => "cli".into(),
                None => match path.get(1).map(|n| format!("{}::{n}", path[0])) {
                    Some(m) if modules.contains(&m) => m,
                    _ => path[0].clone(),
                },
            };
            if target != module {
                deps.insert(target);
            }
        }
    }
    graph
}

fn layer_of(module: &str) -> usize {
    let layer = module.split("::").next().unwrap();
    LAYERS
        .iter()
        .position(|l| *l == layer)
        .unwrap_or_else(|| panic!("{module} is in no layer; the layers are {LAYERS:?}"))
}

#[test]
fn every_import_points_down_the_layers_and_shows_in_the_use_block() {
    for (file, code) in library() {
        for line in code.lines().filter(|l| !l.trim_start().starts_with("use ")) {
            let line = line.trim_start();
            let inline = line
                .match_indices("crate::")
                .any(|(i, _)| !line[..i].ends_with('$') && !line[..i].ends_with("with = \""));
            let inline = inline && !line.starts_with("pub use ") && !line.contains("with = \"");
            assert!(
                !inline,
                "src/{file} names a module inline instead of in its use block: {line}"
            );
        }
    }
    let mut upward = Vec::new();
    for (module, deps) in import_graph() {
        for dep in deps.iter().filter(|d| layer_of(d) > layer_of(&module)) {
            upward.push(format!("{module} uses {dep}"));
        }
    }
    assert!(
        upward.is_empty(),
        "imports that point up a layer: {upward:?}"
    );
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    // A layer's root (its mod.rs) gathers its modules; it is left out.
    let graph: BTreeMap<String, BTreeSet<String>> = import_graph()
        .into_iter()
        .filter(|(m, _)| m.contains("::"))
        .map(|(m, d)| (m, d.into_iter().filter(|d| d.contains("::")).collect()))
        .collect();
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
    let cycles: Vec<&String> = graph.keys().filter(|m| reach(m).contains(*m)).collect();
    assert!(cycles.is_empty(), "modules on an import cycle: {cycles:?}");
    let task = reach("model::task");
    assert!(
        !task.contains("sys::runner") && !task.contains("model::checks"),
        "the task model depends on the runner or the checks: {task:?}"
    );
}

/// The rows of the markdown table under `heading` in docs/architecture.md: each row's cells.
fn doc_table(heading: &str) -> Vec<Vec<String>> {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/architecture.md"))
            .unwrap();
    let section = doc
        .split(&format!("\n## {heading}\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("docs/architecture.md has no section {heading}"));
    section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

/// The names in backticks in a cell, without a trailing `/`.
fn ticked(cell: &str) -> BTreeSet<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(|s| s.trim_end_matches('/').to_string())
        .collect()
}

#[test]
fn the_architecture_doc_says_what_the_imports_do() {
    let layers = doc_table("Layers");
    let names: Vec<String> = layers
        .iter()
        .map(|r| ticked(&r[0]).into_iter().next().unwrap())
        .collect();
    assert_eq!(
        names, LAYERS,
        "docs/architecture.md lists the layers, lowest first"
    );
    for (i, row) in layers.iter().enumerate() {
        let may: BTreeSet<String> = ticked(&row[2]);
        let below: BTreeSet<String> = LAYERS[..i].iter().map(|s| s.to_string()).collect();
        assert_eq!(
            may, below,
            "docs/architecture.md: the layer {} may use",
            LAYERS[i]
        );
    }
    let graph = import_graph();
    let mut documented = BTreeMap::new();
    for row in doc_table("Module map") {
        let module = ticked(&row[0])
            .into_iter()
            .next()
            .unwrap()
            .replace('/', "::");
        let calls: BTreeSet<String> = ticked(&row[2])
            .into_iter()
            .map(|c| c.replace('/', "::"))
            .collect();
        documented.insert(module, calls);
    }
    let mut wrong = Vec::new();
    for (module, deps) in &graph {
        let root = !module.contains("::");
        if module.starts_with("base") || module == "cli" || (root && deps.is_empty()) {
            continue;
        }
        // Every layer may use base/, and every module is handed the workspace.
        let real: BTreeSet<String> = (deps.iter())
            .filter(|d| !d.starts_with("base") && *d != "fs::workspace")
            .cloned()
            .collect();
        match documented.remove(module) {
            None => wrong.push(format!("{module} has no row")),
            Some(calls) if calls != real => wrong.push(format!(
                "{module} calls {:?}, the map says {:?}",
                real, calls
            )),
            Some(_) => {}
        }
    }
    for module in documented.keys() {
        wrong.push(format!("{module} has a row but no code"));
    }
    assert!(
        wrong.is_empty(),
        "docs/architecture.md's module map: {wrong:#?}"
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
