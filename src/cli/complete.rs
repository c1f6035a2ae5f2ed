//! `coord complete TASK --worker ID`: finish a held task from any process, after its checks pass.

use std::path::PathBuf;

use crate::Error;
use crate::base::exit::ExitCode;
use crate::fs::durable;
use crate::model::report::Usage;
use crate::state::layout;
use crate::verbs::handoff::{self, Completion};

/// The largest `--result` file read, as for a worker's result file.
const MAX_RESULT_BYTES: u64 = 1 << 20;

/// Arguments of `coord complete`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  coord complete task-001 --worker agent-1 --token 1-1
  coord complete task-001 --worker agent-1 --result result.json --tokens-in 1200")]
pub struct Args {
    /// The task id.
    task: String,
    /// The worker id that holds it (or COORD_WORKER_ID).
    #[arg(long, env = "COORD_WORKER_ID")]
    worker: String,
    /// The claim token `coord next` printed; a token of an earlier claim is refused.
    #[arg(long)]
    token: Option<String>,
    /// A JSON file holding an object for the report's `result`.
    #[arg(long, value_name = "FILE")]
    result: Option<PathBuf>,
    /// A note kept in the report.
    #[arg(long)]
    note: Option<String>,
    /// Tokens the model read for this task (also read from the result's `tokensIn`).
    #[arg(long, value_name = "N")]
    tokens_in: Option<u64>,
    /// Tokens the model wrote (also `tokensOut`).
    #[arg(long, value_name = "N")]
    tokens_out: Option<u64>,
    /// What the task cost, in US dollars (also `costUsd`).
    #[arg(long, value_name = "USD", value_parser = non_negative)]
    cost_usd: Option<f64>,
    /// How well the context was used, 0 to 100, as the agent judges (also
    /// `contextEfficiencyScore`).
    #[arg(long, value_name = "SCORE", value_parser = score)]
    context_efficiency: Option<f64>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Completes the task and prints where its report is.
pub fn run(root: Option<PathBuf>, args: Args) -> anyhow::Result<ExitCode> {
    let ws = super::open_workspace(root)?;
    let result = match &args.result {
        None => None,
        Some(path) => {
            let bytes = durable::read_limited(path, MAX_RESULT_BYTES)
                .map_err(|e| Error::io("read", path, e))?;
            match serde_json::from_slice::<serde_json::Value>(&bytes) {
                Ok(v @ serde_json::Value::Object(_)) => Some(v),
                Ok(_) => {
                    return Err(Error::Invalid(format!(
                        "{} must hold a JSON object",
                        path.display()
                    ))
                    .into());
                }
                Err(e) => {
                    return Err(Error::Invalid(format!(
                        "{} is not valid JSON: {e}",
                        path.display()
                    ))
                    .into());
                }
            }
        }
    };
    let req = Completion {
        token: args.token,
        result,
        note: args.note,
        usage: Usage {
            tokens_in: args.tokens_in,
            tokens_out: args.tokens_out,
            cost_usd: args.cost_usd,
            context_efficiency_score: args.context_efficiency,
        },
    };
    match handoff::complete(&ws, &args.worker, &args.task, req) {
        Ok(done) => {
            let report = &done.report;
            if args.json {
                super::print_json(report)?;
            } else if done.in_review {
                say!(
                    "{} passed its checks (attempt {}); it waits for review: `coord approve {}` completes it",
                    report.task_id,
                    report.attempt,
                    report.task_id
                );
            } else {
                say!(
                    "completed {} (attempt {}); report {}",
                    report.task_id,
                    report.attempt,
                    layout::report_path(&ws, &report.task_id).display()
                );
            }
            Ok(ExitCode::Success)
        }
        Err(Error::ChecksFailed {
            id,
            worker,
            failures,
        }) => {
            eprintln!(
                "error: {id} was not completed: {} of its checks failed",
                failures.len()
            );
            for f in &failures {
                say_err!("  failed: {f}");
            }
            eprintln!(
                "hint: the task is still yours: fix the work and run `coord complete {id} --worker {worker}` again, or give up with `coord fail {id} --worker {worker} --reason ...`"
            );
            Ok(ExitCode::ChecksFailed)
        }
        Err(e) => Err(e.into()),
    }
}

/// A number of dollars: finite and not negative.
fn non_negative(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(n) if n.is_finite() && n >= 0.0 => Ok(n),
        _ => Err(format!(
            "{text:?} is not an amount: give a number such as 0.42"
        )),
    }
}

/// A score from 0 to 100.
fn score(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(n) if (0.0..=100.0).contains(&n) => Ok(n),
        _ => Err(format!(
            "{text:?} is not a score: give a number from 0 to 100"
        )),
    }
}
