//! `coord list` (`ls`): every task with its state, holder, attempt, priority, age, and what
//! happened last or why it waits.

use std::io::Write;
use std::path::PathBuf;

use crate::base::exit::ExitCode;
use crate::state::StateKind;
use crate::views::listing::{self, Filter, Row};

use super::table::{ago, clip};
use crate::base::ids;

/// Arguments of `coord list`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  coord list                      every task
  coord ls --state pending,waiting
  coord ls --worker worker-A --json")]
pub struct Args {
    /// Only tasks in these states: pending, blocked, assigned, waiting, review, completed,
    /// failed.
    #[arg(long, value_delimiter = ',', value_parser = clap::builder::PossibleValuesParser::new(StateKind::ALL.iter().map(|k| k.as_str())))]
    state: Vec<String>,
    /// Only tasks this worker holds (or asked about).
    #[arg(long)]
    worker: Option<String>,
    /// Only tasks requiring this label.
    #[arg(long)]
    label: Option<String>,
    /// Print at most this many rows, then how many more there are (0: all).
    #[arg(long, short = 'n', default_value_t = 200)]
    limit: usize,
    /// Print one JSON object per line (every task, whatever --limit says).
    #[arg(long)]
    json: bool,
}

/// Lists the tasks.
pub fn run(root: Option<PathBuf>, args: Args) -> anyhow::Result<ExitCode> {
    let ws = super::open_workspace(root)?;
    if let Some(w) = &args.worker {
        ids::check_worker_id(w)?;
    }
    let filter = Filter {
        states: args.state,
        worker: args.worker,
        label: args.label,
    };
    // Past the limit, the rest is counted from the folders when the filter allows.
    let counted = match args.limit {
        _ if args.json => None,
        0 => None,
        _ => listing::count(&ws, &filter)?,
    };
    let mut out = anstream::stdout().lock();
    let mut shown = 0usize;
    let mut more = 0usize;
    let mut written = Ok(());
    if !args.json {
        written = writeln!(
            out,
            "{:<20} {:<9} {:<12} {:>5} {:>4} {:>4}  NOTE",
            "TASK", "STATE", "WORKER", "TRY", "PRI", "AGE"
        );
    }
    listing::each(&ws, &filter, |row| {
        if written.is_err() {
            return std::ops::ControlFlow::Break(());
        }
        if args.json {
            written = serde_json::to_writer(&mut out, &super::versioned(&row))
                .map_err(std::io::Error::other)
                .and_then(|()| writeln!(out));
            return std::ops::ControlFlow::Continue(());
        }
        if args.limit != 0 && shown >= args.limit {
            if counted.is_some() {
                return std::ops::ControlFlow::Break(());
            }
            more += 1;
        } else {
            shown += 1;
            written = writeln!(out, "{}", super::safe::shown(&text_row(&row)));
        }
        std::ops::ControlFlow::Continue(())
    })?;
    written?;
    if let Some(total) = counted
        && !args.json
    {
        more = total.saturating_sub(shown);
    }
    if more > 0 {
        writeln!(out, "… and {more} more (--limit 0 shows all)")?;
    }
    Ok(ExitCode::Success)
}

/// One row in 80 columns.
fn text_row(row: &Row) -> String {
    let note = match (&row.waits_for, &row.last_reason, row.progress) {
        (Some(w), _, _) => w.clone(),
        (None, _, Some(p)) => format!("{p}%"),
        (None, Some(r), None) => r.clone(),
        (None, None, None) => String::new(),
    };
    format!(
        "{:<20} {} {:<12} {:>5} {:>4} {:>4}  {}",
        clip(&row.task_id, 20),
        super::paint::state(row.state, 9),
        clip(row.worker_id.as_deref().unwrap_or("-"), 12),
        format!("{}/{}", row.attempt, row.max_attempts),
        row.priority,
        ago(row.queued_at),
        clip(&super::safe::plain(&note), 18)
    )
}
