//! `coord events [--follow] [--json]`: the journal of state changes.

use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc;

use coord::events;
use coord::exit::ExitCode;

/// Arguments of `coord events`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Keep printing events as they are recorded, woken by file-system events, until interrupted.
    #[arg(long, short)]
    follow: bool,
    /// Print each event as a JSON line (as the journal holds it).
    #[arg(long)]
    json: bool,
}

/// Prints the journal, then (with --follow) each new event.
pub fn run(root: Option<PathBuf>, args: Args) -> anyhow::Result<ExitCode> {
    let ws = super::open_workspace(root)?;
    let journal = events::path(&ws);
    let (tx, rx) = mpsc::channel();
    let watcher = match args.follow {
        true => {
            let target = journal.clone();
            Some(coord::watch::watch_any(
                &[(ws.root(), false)],
                move |paths| {
                    if paths.is_empty() || paths.contains(&target) {
                        let _ = tx.send(());
                    }
                },
            )?)
        }
        false => None,
    };
    let mut offset = 0;
    loop {
        let (batch, end) =
            events::read_from(&ws, offset).map_err(|e| coord::Error::io("read", &journal, e))?;
        offset = end;
        let mut out = std::io::stdout().lock();
        for e in batch {
            if args.json {
                writeln!(out, "{}", serde_json::to_string(&e)?)?;
            } else {
                writeln!(
                    out,
                    "{}  {:<10} {:<24} {:<16} {}",
                    e.at,
                    e.event,
                    e.task,
                    e.worker.as_deref().unwrap_or("-"),
                    e.attempt
                        .map(|a| format!("attempt {a}"))
                        .unwrap_or_default()
                )?;
            }
        }
        out.flush()?;
        drop(out);
        if watcher.is_none() || !super::next_change(&ws, &rx) {
            return Ok(ExitCode::Success);
        }
    }
}
