//! Acceptance checks on a task's deliverables, run before a task may complete.
//!
//! A task may carry `"acceptance"`: `minWords`, `maxWords` and `contains` apply to every output
//! file; `files` overrides them per file; `verify` is a shell command (or a list) that must exit 0.
//! Output files must always exist and be non-empty.
//!
//! Output files are read as a stream ([`scan`]): only regular files inside the project, never
//! through a link that leads out of it, never blocking on a FIFO. Verify commands run like task
//! commands ([`verify`]): in their own process group, with the task's variables, under its
//! timeout, and their group is killed when they end.

mod scan;
mod verify;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::model::task::Acceptance;

pub use verify::Verifier;

/// What a check looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Check {
    /// The output file exists and is not empty.
    Exists,
    /// It holds at least so many words.
    MinWords,
    /// It holds at most so many words.
    MaxWords,
    /// It contains a string.
    Contains,
    /// A verify command exits 0.
    Verify,
}

names!(Check {
    Exists => "exists",
    MinWords => "minWords",
    MaxWords => "maxWords",
    Contains => "contains",
    Verify => "verify",
});

/// The outcome of one check, as the report's `validation` list holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// What was checked.
    pub check: Check,
    /// The output file, for a file check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Whether it passed.
    pub passed: bool,
    /// What was found, in words.
    pub detail: String,
}

/// Runs every check for `output_files` in `project` and returns each outcome; `verify`
/// commands run only when a verifier is given.
pub fn run(
    project: &Path,
    output_files: &[String],
    acceptance: &Acceptance,
    verifier: Option<&Verifier<'_>>,
) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    for file in output_files {
        let checks = acceptance.files.get(file).unwrap_or(&acceptance.all);
        let needles: Vec<&str> = checks.contains.iter().map(String::as_str).collect();
        let found = match scan::scan(project, file, &needles) {
            Ok(found) if found.bytes > 0 => found,
            Ok(_) => {
                outcomes.push(fail(Check::Exists, file, "the file is empty".into()));
                continue;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                outcomes.push(fail(Check::Exists, file, "the file does not exist".into()));
                continue;
            }
            Err(e) => {
                outcomes.push(fail(Check::Exists, file, format!("cannot read it: {e}")));
                continue;
            }
        };
        outcomes.push(pass(Check::Exists, file, format!("{} bytes", found.bytes)));
        let words = found.words;
        if let Some(min) = checks.min_words {
            let ok = words >= min;
            outcomes.push(outcome(
                ok,
                Check::MinWords,
                file,
                format!("{words} words, at least {min} required"),
            ));
        }
        if let Some(max) = checks.max_words {
            let ok = words <= max;
            outcomes.push(outcome(
                ok,
                Check::MaxWords,
                file,
                format!("{words} words, at most {max} allowed"),
            ));
        }
        for (needle, ok) in needles.iter().zip(found.contains) {
            let detail = if ok {
                format!("contains {needle:?}")
            } else {
                format!("does not contain {needle:?}")
            };
            outcomes.push(outcome(ok, Check::Contains, file, detail));
        }
    }
    if let Some(v) = verifier {
        for cmd in acceptance.verify.commands() {
            let (passed, detail) = v.run(project, cmd);
            outcomes.push(Outcome {
                check: Check::Verify,
                file: None,
                passed,
                detail,
            });
        }
    }
    outcomes
}

/// Splits the output files into those that exist non-empty (deliverables) and the rest (missing).
pub fn deliverables(outcomes: &[Outcome], output_files: &[String]) -> (Vec<String>, Vec<String>) {
    output_files.iter().cloned().partition(|f| {
        outcomes
            .iter()
            .any(|o| o.check == Check::Exists && o.passed && o.file.as_deref() == Some(f.as_str()))
    })
}

/// Why the checks failed, in one line, or None when they all passed.
pub fn reason(outcomes: &[Outcome]) -> Option<String> {
    let missing: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.check == Check::Exists && !o.passed)
        .filter_map(|o| o.file.as_deref())
        .collect();
    let others: Vec<String> = failures(outcomes)
        .into_iter()
        .zip(outcomes.iter().filter(|o| !o.passed))
        .filter(|(_, o)| o.check != Check::Exists)
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

fn outcome(passed: bool, check: Check, file: &str, detail: String) -> Outcome {
    Outcome {
        check,
        file: Some(file.into()),
        passed,
        detail,
    }
}

fn pass(check: Check, file: &str, detail: String) -> Outcome {
    outcome(true, check, file, detail)
}

fn fail(check: Check, file: &str, detail: String) -> Outcome {
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
