//! `coord add [OPTIONS] [--] CMD [ARGS...]`: queue one command task without writing JSON.

use std::path::PathBuf;

use crate::base::exit::ExitCode;
use crate::verbs::queue;
use serde_json::{Map, Value, json};

/// Arguments of `coord add`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  coord add -- make test
  coord add --id lint --priority 5 -- cargo clippy
  coord add --after lint --output report.txt -- sh -c 'cargo test > report.txt'
  coord add 'make -C docs && make -C site'      (one word: run by sh -c as written)")]
pub struct Args {
    /// The task id (default: generated).
    #[arg(long)]
    id: Option<String>,
    /// What it is (default: the command).
    #[arg(long, short)]
    description: Option<String>,
    /// Higher is claimed first (default 0).
    #[arg(long, short, allow_negative_numbers = true)]
    priority: Option<i32>,
    /// A task that must complete first (repeatable).
    #[arg(long = "after", value_name = "ID")]
    after: Vec<String>,
    /// A label a worker needs to claim it (repeatable).
    #[arg(long = "label", value_name = "LABEL")]
    labels: Vec<String>,
    /// A file it must produce, relative to the project (repeatable).
    #[arg(long = "output", value_name = "PATH")]
    outputs: Vec<String>,
    /// A file it edits (repeatable).
    #[arg(long = "target", value_name = "PATH")]
    targets: Vec<String>,
    /// A file it only reads (repeatable).
    #[arg(long = "read", value_name = "PATH")]
    reads: Vec<String>,
    /// Attempts before it is dead-lettered (default 3).
    #[arg(long, value_name = "N")]
    max_attempts: Option<u32>,
    /// Kill it after this many seconds.
    #[arg(long, value_name = "SECS")]
    timeout: Option<u64>,
    /// Wait for `coord approve` once it succeeds.
    #[arg(long)]
    review: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// The command and its arguments (one argument: a shell command run as written).
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CMD"
    )]
    command: Vec<String>,
}

/// Builds the task and queues it like `coord queue`.
pub fn run(root: Option<PathBuf>, args: Args) -> anyhow::Result<ExitCode> {
    let ws = super::open_workspace(root)?;
    let command = match args.command.as_slice() {
        [one] => one.clone(),
        words => words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" "),
    };
    let mut t = Map::new();
    if let Some(id) = args.id {
        t.insert("id".into(), id.into());
    }
    t.insert(
        "description".into(),
        args.description.unwrap_or_else(|| command.clone()).into(),
    );
    t.insert("command".into(), command.into());
    let lists = [
        ("dependsOn", args.after),
        ("requires", args.labels),
        ("outputFiles", args.outputs),
        ("targetFiles", args.targets),
        ("readFiles", args.reads),
    ];
    for (key, list) in lists {
        if !list.is_empty() {
            t.insert(key.into(), json!(list));
        }
    }
    if let Some(p) = args.priority {
        t.insert("priority".into(), p.into());
    }
    if let Some(n) = args.max_attempts {
        t.insert("maxAttempts".into(), n.into());
    }
    if let Some(s) = args.timeout {
        t.insert("timeoutSecs".into(), s.into());
    }
    if args.review {
        t.insert("review".into(), true.into());
    }
    let input = Value::Object(t).to_string();
    super::queue::publish(&ws, args.json, |progress, each| {
        queue::enqueue_input(&ws, &input, progress, each)
    })
}

/// A word as `sh` reads it back unchanged: bare when it is plain, else in single quotes.
fn quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_./:=+,@%-".contains(c);
    match !word.is_empty() && word.chars().all(plain) {
        true => word.to_string(),
        false => format!("'{}'", word.replace('\'', r"'\''")),
    }
}
