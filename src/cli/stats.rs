//! `coord stats [--json]`: how the work went.

use std::path::PathBuf;

use coord::exit::ExitCode;
use coord::stats;

/// Arguments of `coord stats`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Prints counts, throughput, wait and run times, per-worker totals and the first-attempt rate.
pub fn run(root: Option<PathBuf>, args: Args) -> anyhow::Result<ExitCode> {
    let ws = super::open_workspace(root)?;
    let s = stats::gather(&ws)?;
    if args.json {
        super::print_json(&s)?;
        return Ok(ExitCode::Success);
    }
    println!(
        "pending {}   blocked {}   assigned {}   completed {}   failed {}   cancelled {}",
        s.pending, s.blocked, s.assigned, s.completed, s.failed, s.cancelled
    );
    println!("throughput     {:.1} completed/min", s.throughput_per_min);
    let spread = |name: &str, x: &stats::Spread| {
        println!(
            "{name:<14} p50 {} ms   p90 {} ms   p99 {} ms   max {} ms   ({} tasks)",
            x.p50, x.p90, x.p99, x.max, x.count
        )
    };
    spread("wait (queued)", &s.wait_ms);
    spread("run", &s.run_ms);
    match s.first_attempt_success_rate {
        Some(rate) => println!(
            "first attempt  {:.1}% of finished tasks completed without a retry",
            rate * 100.0
        ),
        None => println!("first attempt  no finished task yet"),
    }
    if !s.workers.is_empty() {
        println!("\nWORKER            COMPLETED  FAILED  RUN TIME");
        for (w, t) in &s.workers {
            println!(
                "{w:<16}  {:>9}  {:>6}  {:.1}s",
                t.completed,
                t.failed,
                t.run_ms as f64 / 1000.0
            );
        }
    }
    Ok(ExitCode::Success)
}
