//! `coord events [--follow] [--json]`: the journal of state changes.

use std::io::Write;
use std::path::PathBuf;

use coord::events;
use coord::exit::ExitCode;
use coord::wake::Waker;

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
    let mut waker = args.follow.then(|| {
        let target = journal.clone();
        Waker::for_views_of(&ws, &[(ws.root(), false)], move |paths| {
            paths.contains(&target)
        })
    });
    let mut offset = 0;
    loop {
        let mut out = std::io::stdout().lock();
        let mut written = Ok(());
        offset = events::read_each(&ws, offset, |e| {
            if written.is_ok() {
                written = print(&mut out, &e, args.json);
            }
        })
        .map_err(|e| coord::Error::io("read", &journal, e))?;
        written?;
        out.flush()?;
        drop(out);
        match waker.as_mut() {
            Some(w) => w.next_change(None),
            None => return Ok(ExitCode::Success),
        };
    }
}

/// Prints one event: its JSON line, or a line for people.
fn print(out: &mut impl Write, e: &events::Event, json: bool) -> anyhow::Result<()> {
    if json {
        writeln!(out, "{}", serde_json::to_string(e)?)?;
    } else {
        writeln!(
            out,
            "{}  {:<10} {:<24} {:<16} {}",
            coord::time::format(e.at),
            e.event.as_str(),
            e.task,
            e.worker.as_deref().unwrap_or("-"),
            e.attempt
                .map(|a| format!("attempt {a}"))
                .unwrap_or_default()
        )?;
    }
    Ok(())
}
