//! Acceptance checks on a task's deliverables, run before a task may complete.
//!
//! A task may carry `"acceptance"`: `minWords`, `maxWords` and `contains` apply to every output
//! file; `files` overrides them per file; `verify` is a shell command (or a list) that must exit 0.
//! Output files must always exist and be non-empty.

use std::path::Path;
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::task::Acceptance;

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
