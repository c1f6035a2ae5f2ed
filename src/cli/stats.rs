//! `coord stats [--json]`: how the work went.

use std::path::PathBuf;

use crate::base::exit::ExitCode;
use crate::model::report;
use crate::views::stats;

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
    let c = &s.counts;
    say!(
        "pending {}   blocked {}   assigned {}   waiting {}   review {}",
        c.pending,
        c.blocked,
        c.assigned,
        c.waiting,
        c.review
    );
    say!(
        "completed {}   failed {}   cancelled {}",
        c.completed,
        c.failed,
        c.cancelled
    );
    say!("throughput     {:.1} completed/min", s.throughput_per_min);
    let spread = |name: &str, x: &stats::Spread| -> std::io::Result<()> {
        say!(
            "{name:<14} p50 {} ms   p90 {} ms   p99 {} ms   max {} ms   ({} tasks)",
            x.p50,
            x.p90,
            x.p99,
            x.max,
            x.count
        );
        Ok(())
    };
    spread("wait (queued)", &s.wait_ms)?;
    spread("run", &s.run_ms)?;
    match s.first_attempt_success_rate {
        Some(rate) => say!(
            "first attempt  {:.1}% of finished tasks completed without a retry",
            rate * 100.0
        ),
        None => say!("first attempt  no finished task yet"),
    }
    if let Some(rate) = s.automation_rate {
        say!(
            "automation     {:.1}% of completed tasks needed no human action",
            rate * 100.0
        );
    }
    if s.usage.reports > 0 {
        say!("usage          {}", totals_text(&s.usage));
    }
    if !s.workers.is_empty() {
        say!("\nWORKER            COMPLETED  FAILED  RUN TIME");
        for t in &s.workers {
            say!(
                "{:<16}  {:>9}  {:>6}  {:.1}s",
                super::table::clip(&t.worker_id, 16),
                t.completed,
                t.failed,
                t.run_ms as f64 / 1000.0
            );
        }
        for t in s.workers.iter().filter(|t| t.usage.reports > 0) {
            say!(
                "{:<16}  usage: {}",
                super::table::clip(&t.worker_id, 16),
                totals_text(&t.usage)
            );
        }
    }
    Ok(ExitCode::Success)
}

/// Summed usage in one line.
fn totals_text(u: &stats::UsageTotals) -> String {
    let mut out = format!(
        "{} tokens in, {} out, ${:.2} over {} report(s)",
        u.tokens_in, u.tokens_out, u.cost_usd, u.reports
    );
    if let Some(score) = u.mean_context_efficiency_score {
        out.push_str(&format!(", context efficiency {score:.0}/100"));
    }
    out
}

/// One report's usage in one line.
pub fn usage_text(u: &report::Usage) -> String {
    let mut parts = Vec::new();
    if let Some(n) = u.tokens_in {
        parts.push(format!("{n} tokens in"));
    }
    if let Some(n) = u.tokens_out {
        parts.push(format!("{n} tokens out"));
    }
    if let Some(c) = u.cost_usd {
        parts.push(format!("${c:.2}"));
    }
    if let Some(s) = u.context_efficiency_score {
        parts.push(format!("context efficiency {s:.0}/100"));
    }
    parts.join(", ")
}
