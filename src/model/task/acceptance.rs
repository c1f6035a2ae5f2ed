//! A task's `acceptance` object: what its deliverables must satisfy. The checks themselves run
//! in [`crate::model::checks`].

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

    /// The commands, in order.
    pub fn commands(&self) -> Vec<&str> {
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
