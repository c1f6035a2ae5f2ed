//! `coord worker --id ID`: claim, run and record tasks until the queue is empty (or forever with
//! --watch).

use std::path::PathBuf;
use std::time::Duration;

use crate::base::exit::ExitCode;
use crate::base::ids;
use crate::base::time;
use crate::policy::gate;
use crate::verbs::handoff;
use crate::{policy::lease, sys::logging, verbs::keeper, verbs::worker};

/// Arguments of `coord worker`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  coord worker --id ci --exec 'make -C \"$COORD_PROJECT_DIR\" check'
  coord worker --id w1 --watch &               run each task's own command
  coord worker --id gpu --labels gpu --watch   also take tasks requiring gpu")]
pub struct Args {
    /// The worker id (1-64 of letters, digits, '.', '_', '-'); one live process per id.
    #[arg(long, env = "COORD_WORKER_ID")]
    id: String,
    /// Keep running when the queue is empty, woken by file-system events.
    #[arg(long)]
    watch: bool,
    /// Run this shell command for every task instead of the task's own `command`.
    #[arg(long, value_name = "CMD")]
    exec: Option<String>,
    /// Seconds between safety rescans of pending/ while idle (events do the real work).
    #[arg(long, value_name = "SECS", default_value_t = 15, value_parser = time::parse_secs)]
    rescan: u64,
    /// Use no file-system events: rescan pending/ every SECS seconds (decimals allowed), as a
    /// network file system needs.
    #[arg(long, value_name = "SECS")]
    poll: Option<f64>,
    /// This worker's labels (comma-separated): it claims only tasks whose `requires` it has.
    #[arg(long, value_name = "LABELS", value_delimiter = ',')]
    labels: Vec<String>,
    /// Exit after N tasks have been run (completed, failed or retried).
    #[arg(long, value_name = "N")]
    max_tasks: Option<usize>,
    /// Log only to logs/<ID>.log, not to stderr.
    #[arg(long, short)]
    quiet: bool,
    /// Print the closing summary as JSON.
    #[arg(long)]
    json: bool,
    /// The pid of this worker's keeper (set by the keeper when it starts the worker).
    #[arg(
        long = "kept-by",
        hide = true,
        value_name = "PID",
        requires = "life_fd"
    )]
    kept_by: Option<u32>,
    /// The inherited descriptor holding the life lock (set by the keeper).
    #[arg(long = "life-fd", hide = true, value_name = "FD", requires = "kept_by")]
    life_fd: Option<i32>,
}

/// Runs the worker loop and prints what it did.
pub fn run(root: Option<PathBuf>, args: Args) -> anyhow::Result<ExitCode> {
    let ws = super::open_workspace(root)?;
    ids::check_worker_id(&args.id)?;
    let (life, unkept) = match (args.kept_by, args.life_fd) {
        (Some(keeper), Some(fd)) => (keeper::join(&ws, &args.id, keeper, fd)?, None),
        _ => {
            // This process becomes the worker's keeper and returns only if it cannot be one.
            let (life, why) = keeper::keep(lease::take_life_lock(&ws, &args.id)?);
            (life, Some(why))
        }
    };
    logging::init_worker(&ws, &args.id, args.quiet)?;
    if gate::paused(&ws) {
        if !args.watch {
            eprintln!(
                "warning: the workspace is paused: {} claims nothing; `coord resume` lets workers \
                 claim again",
                args.id
            );
            return Ok(ExitCode::Paused);
        }
        eprintln!(
            "warning: the workspace is paused: {} waits for `coord resume` before it claims",
            args.id
        );
    }
    if let Some(why) = unkept {
        tracing::warn!(
            "running without a keeper ({why}): if this worker is killed, its task's processes \
             live on until a recovery on this host kills them"
        );
    }
    let opts = worker::Options {
        id: args.id,
        watch: args.watch,
        exec: args.exec,
        rescan: Duration::from_secs(args.rescan.max(1)),
        max_tasks: args.max_tasks,
        poll: args
            .poll
            .map(|secs| Duration::from_secs_f64(secs.clamp(0.01, 3600.0))),
        labels: args.labels,
    };
    let mut print_assignment = |a: &handoff::Assignment| {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let line = super::assignment::to_json(a).to_string();
        // A closed stdout only means nobody reads the line; the claim stands either way.
        let _ = writeln!(out, "{line}").and_then(|()| out.flush());
    };
    let summary = worker::run(&ws, &opts, life, &mut print_assignment)?;
    // A listener's stdout is a stream of task lines for an agent; its summary goes to stderr.
    let listening = opts.watch && opts.exec.is_none();
    if args.json {
        match listening {
            true => eprintln!("{}", super::versioned(&summary)),
            false => super::print_json(&summary)?,
        }
    } else {
        let line = summary_line(&summary);
        match listening {
            true => say_err!("{line}"),
            false => say!("{line}"),
        }
    }
    if summary.interrupted {
        return Ok(ExitCode::Interrupted);
    }
    if !opts.watch && !summary.dead_lettered.is_empty() {
        eprintln!(
            "error: {} task(s) ran out of attempts and are in failed/: {} (see `coord show ID`; \
             `coord retry ID` sends one back)",
            summary.dead_lettered.len(),
            summary.dead_lettered.join(", ")
        );
        return Ok(ExitCode::NotAllCompleted);
    }
    Ok(ExitCode::Success)
}

/// The closing summary in one line for people.
fn summary_line(summary: &worker::Summary) -> String {
    let mut line = format!(
        "{}: {} completed, {} retried, {} failed, {} invalid, {} recovered",
        summary.worker_id,
        summary.completed,
        summary.retried,
        summary.failed,
        summary.invalid,
        summary.recovered
    );
    if summary.in_review > 0 {
        line.push_str(&format!(", {} waiting for review", summary.in_review));
    }
    if summary.asked > 0 {
        line.push_str(&format!(", {} waiting for an answer", summary.asked));
    }
    if summary.skipped_no_command > 0 {
        line.push_str(&format!(
            ", {} left in pending/ (no command; use --exec or `coord next`)",
            summary.skipped_no_command
        ));
    }
    line
}
