//! `coord complete TASK --worker ID`: finish a held task from any process, after its checks pass.

use std::path::PathBuf;

use coord::Error;
use coord::exit::ExitCode;
use coord::handoff::{self, Completion};

/// The largest `--result` file read, as for a worker's result file.
const MAX_RESULT_BYTES: u64 = 1 << 20;

/// Arguments of `coord complete`.
#[derive(Debug, clap::Args)]
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
            let bytes = coord::durable::read_limited(path, MAX_RESULT_BYTES)
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
    };
    match handoff::complete(&ws, &args.worker, &args.task, req) {
        Ok(report) => {
            if args.json {
                super::print_json(&report)?;
            } else {
                println!(
                    "completed {} (attempt {}); report {}",
                    report.task_id,
                    report.attempt,
                    coord::state::layout::report_path(&ws, &report.task_id).display()
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
                eprintln!("  failed: {f}");
            }
            eprintln!(
                "hint: the task is still yours: fix the work and run `coord complete {id} --worker {worker}` again, or give up with `coord fail {id} --worker {worker} --reason ...`"
            );
            Ok(ExitCode::ChecksFailed)
        }
        Err(e) => Err(e.into()),
    }
}
