//! Acceptance checks on a task's deliverables, run before a task may complete.
//!
//! A task may carry `"acceptance"`: `minWords`, `maxWords` and `contains` apply to every output
//! file; `files` overrides them per file; `verify` is a shell command (or a list) that must exit 0.
//! Output files must always exist and be non-empty.

use std::path::Path;
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The checks for every output file, or for one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FileChecks {
    /// The file must hold at least this many words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_words: Option<u64>,
    /// The file must hold at most this many words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_words: Option<u64>,
    /// Each string must appear in the file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contains: Vec<String>,
}

/// A task's `acceptance` object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Acceptance {
    /// Checks for every output file.
    #[serde(flatten)]
    pub all: FileChecks,
    /// Checks for named output files, replacing the general ones for that file.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub files: std::collections::BTreeMap<String, FileChecks>,
    /// Commands run in the project directory with `sh -c`; each must exit 0.
    #[serde(default, skip_serializing_if = "Verify::is_empty")]
    pub verify: Verify,
}

/// One verify command or several.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Verify {
    /// No command.
    #[default]
    None,
    /// One command.
    One(String),
    /// Several commands, run in order.
    Many(Vec<String>),
}

impl Verify {
    /// Whether there is no command.
    pub fn is_empty(&self) -> bool {
        match self {
            Verify::None => true,
            Verify::One(_) => false,
            Verify::Many(v) => v.is_empty(),
        }
    }

    fn commands(&self) -> Vec<&str> {
        match self {
            Verify::None => Vec::new(),
            Verify::One(c) => vec![c.as_str()],
            Verify::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// Reads a task's `acceptance` value; the error says what is wrong with it.
pub fn parse(value: Option<&Value>) -> Result<Acceptance, String> {
    match value {
        None | Some(Value::Null) => Ok(Acceptance::default()),
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| format!("`acceptance`: {e}")),
    }
}

/// The outcome of one check, as the report's `validation` list holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// What was checked ("exists", "minWords", "maxWords", "contains", "verify").
    pub check: String,
    /// The output file, for a file check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Whether it passed.
    pub passed: bool,
    /// What was found, in words.
    pub detail: String,
}

/// Runs every check for `output_files` in `project` and returns each outcome; `verify` commands
/// run only when `with_verify` is set.
pub fn run(
    project: &Path,
    output_files: &[String],
    acceptance: &Acceptance,
    with_verify: bool,
) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    for file in output_files {
        let path = project.join(file);
        let text = match std::fs::read(&path) {
            Ok(bytes) if !bytes.is_empty() => String::from_utf8_lossy(&bytes).into_owned(),
            Ok(_) => {
                outcomes.push(fail("exists", file, "the file is empty".into()));
                continue;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                outcomes.push(fail("exists", file, "the file does not exist".into()));
                continue;
            }
            Err(e) => {
                outcomes.push(fail("exists", file, format!("cannot read it: {e}")));
                continue;
            }
        };
        outcomes.push(pass("exists", file, format!("{} bytes", text.len())));
        let checks = acceptance.files.get(file).unwrap_or(&acceptance.all);
        let words = text.split_whitespace().count() as u64;
        if let Some(min) = checks.min_words {
            let ok = words >= min;
            outcomes.push(outcome(
                ok,
                "minWords",
                file,
                format!("{words} words, at least {min} required"),
            ));
        }
        if let Some(max) = checks.max_words {
            let ok = words <= max;
            outcomes.push(outcome(
                ok,
                "maxWords",
                file,
                format!("{words} words, at most {max} allowed"),
            ));
        }
        for needle in &checks.contains {
            let ok = text.contains(needle.as_str());
            let detail = if ok {
                format!("contains {needle:?}")
            } else {
                format!("does not contain {needle:?}")
            };
            outcomes.push(outcome(ok, "contains", file, detail));
        }
    }
    if with_verify {
        for cmd in acceptance.verify.commands() {
            outcomes.push(verify(project, cmd));
        }
    }
    outcomes
}

/// Splits the output files into those that exist non-empty (deliverables) and the rest (missing).
pub fn deliverables(outcomes: &[Outcome], output_files: &[String]) -> (Vec<String>, Vec<String>) {
    output_files.iter().cloned().partition(|f| {
        outcomes
            .iter()
            .any(|o| o.check == "exists" && o.passed && o.file.as_deref() == Some(f.as_str()))
    })
}

/// Why the checks failed, in one line, or None when they all passed.
pub fn reason(outcomes: &[Outcome]) -> Option<String> {
    let missing: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.check == "exists" && !o.passed)
        .filter_map(|o| o.file.as_deref())
        .collect();
    let others: Vec<String> = failures(outcomes)
        .into_iter()
        .zip(outcomes.iter().filter(|o| !o.passed))
        .filter(|(_, o)| o.check != "exists")
        .map(|(line, _)| line)
        .collect();
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!(
            "missing or empty output files: {}",
            missing.join(", ")
        ));
    }
    if !others.is_empty() {
        parts.push(format!("checks failed: {}", others.join("; ")));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

fn verify(project: &Path, cmd: &str) -> Outcome {
    let output = Command::new("/bin/sh")
        .arg("-c")
        .arg(cmd)
        .current_dir(project)
        .stdin(Stdio::null())
        .output();
    let (passed, detail) = match output {
        Ok(out) if out.status.success() => (true, format!("`{cmd}` exited 0")),
        Ok(out) => {
            let tail: String = String::from_utf8_lossy(&out.stderr)
                .lines()
                .rev()
                .take(5)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join(" | ");
            let how = crate::runner::describe(&out.status);
            if tail.is_empty() {
                (false, format!("`{cmd}` failed with {how}"))
            } else {
                (false, format!("`{cmd}` failed with {how}: {tail}"))
            }
        }
        Err(e) => (false, format!("`{cmd}` could not start: {e}")),
    };
    Outcome {
        check: "verify".into(),
        file: None,
        passed,
        detail,
    }
}

fn outcome(passed: bool, check: &str, file: &str, detail: String) -> Outcome {
    Outcome {
        check: check.into(),
        file: Some(file.into()),
        passed,
        detail,
    }
}

fn pass(check: &str, file: &str, detail: String) -> Outcome {
    outcome(true, check, file, detail)
}

fn fail(check: &str, file: &str, detail: String) -> Outcome {
    outcome(false, check, file, detail)
}

/// One line per failed check, for messages.
pub fn failures(outcomes: &[Outcome]) -> Vec<String> {
    outcomes
        .iter()
        .filter(|o| !o.passed)
        .map(|o| match &o.file {
            Some(f) => format!("{} {}: {}", f, o.check, o.detail),
            None => format!("{}: {}", o.check, o.detail),
        })
        .collect()
}
