//! `coord events [--follow] [--json]`: the journal of state changes.

use std::io::Write;
use std::path::PathBuf;

use crate::Error;
use crate::base::exit::ExitCode;
use crate::base::host;
use crate::base::time;
use crate::fs::wake::Waker;
use crate::state::events;

/// Arguments of `coord events`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  coord events -n 20
  coord events --task task-001
  coord events --since 1h --follow --json")]
pub struct Args {
    /// Keep printing events as they are recorded, woken by file-system events, until interrupted.
    #[arg(long, short)]
    follow: bool,
    /// Print each event as a JSON line (as the journal holds it).
    #[arg(long)]
    json: bool,
    /// Only this task's events.
    #[arg(long)]
    task: Option<String>,
    /// Only events of the last DURATION (90s, 30m, 12h, 7d) or since an RFC 3339 time.
    #[arg(long, value_name = "DURATION|TIME", value_parser = parse_since)]
    since: Option<jiff::Timestamp>,
    /// Only the last N events (before --follow goes on with new ones).
    #[arg(short = 'n', long = "last", value_name = "N")]
    last: Option<usize>,
}

/// `--since`: a duration back from now, or a time.
fn parse_since(text: &str) -> Result<jiff::Timestamp, String> {
    if let Ok(at) = text.parse::<jiff::Timestamp>() {
        return Ok(at);
    }
    let back = time::parse_duration(text).map_err(|e| match e {
        time::DurationError::TooLong(_) => e.to_string(),
        _ => format!("{text:?} is neither a duration (30m, 12h, 7d) nor an RFC 3339 time"),
    })?;
    Ok(host::now() - back)
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
    let wanted = |e: &events::Event| {
        args.task.as_ref().is_none_or(|t| *t == e.task) && args.since.is_none_or(|s| e.at >= s)
    };
    let mut offset = events::Cursor::default();
    let mut first = true;
    loop {
        let mut out = std::io::stdout().lock();
        let mut written = Ok(());
        // The first read keeps only the last N when -n is given (a ring of N, flat memory).
        let mut last: std::collections::VecDeque<events::Event> = Default::default();
        let keep = args.last.filter(|_| first);
        offset = events::read_each(&ws, offset, |e| {
            if !wanted(&e) || written.is_err() {
                return;
            }
            match keep {
                Some(n) => {
                    if last.len() == n {
                        last.pop_front();
                    }
                    if n > 0 {
                        last.push_back(e);
                    }
                }
                None => written = print(&mut out, &e, args.json),
            }
        })
        .map_err(|e| Error::io("read", &journal, e))?;
        for e in &last {
            if written.is_ok() {
                written = print(&mut out, e, args.json);
            }
        }
        first = false;
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
        writeln!(out, "{}", super::versioned(e))?;
    } else {
        // 80 columns: the time to the second in UTC (the journal keeps milliseconds), long ids
        // cut with an ellipsis.
        let at = time::format(e.at);
        writeln!(
            out,
            "{} {:<10} {:<26} {:<14} {}",
            at.get(5..19).unwrap_or(&at).replace('T', " "),
            e.event.as_str(),
            super::table::clip(&e.task, 26),
            super::table::clip(e.worker.as_deref().unwrap_or("-"), 14),
            e.attempt.map(|a| format!("#{a}")).unwrap_or_default()
        )?;
    }
    Ok(())
}
