//! `coord stats`: counts, throughput, wait and run times, per-worker totals, and how often a
//! task succeeds on its first attempt.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::error::Result;
use crate::events::{self, Kind};
use crate::report::{self, Status};
use crate::status;
use crate::store;
use crate::task::Outcome;
use crate::workspace::Workspace;

/// Percentiles of a set of durations, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Spread {
    /// How many durations.
    pub count: usize,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Largest.
    pub max: u64,
}

impl Spread {
    fn of(mut values: Vec<u64>) -> Spread {
        if values.is_empty() {
            return Spread::default();
        }
        values.sort_unstable();
        let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
        Spread {
            count: values.len(),
            p50: at(0.5),
            p90: at(0.9),
            p99: at(0.99),
            max: *values.last().expect("not empty"),
        }
    }
}

/// One worker's totals over finished tasks.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerTotals {
    /// The worker.
    pub worker_id: String,
    /// Tasks it completed.
    pub completed: usize,
    /// Tasks it dead-lettered.
    pub failed: usize,
    /// Time its finished tasks ran, in milliseconds.
    pub run_ms: u64,
    /// What its agents said the work cost (reports that carry usage).
    pub usage: UsageTotals,
}

/// Sums of the usage reports carry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageTotals {
    /// Reports that carry any figure.
    pub reports: usize,
    /// Tokens read.
    pub tokens_in: u64,
    /// Tokens written.
    pub tokens_out: u64,
    /// Cost in US dollars.
    pub cost_usd: f64,
    /// The mean context-efficiency score of the reports that give one.
    pub mean_context_efficiency_score: Option<f64>,
    #[serde(skip)]
    scores: Vec<f64>,
}

impl UsageTotals {
    fn add(&mut self, u: &report::Usage) {
        self.reports += 1;
        self.tokens_in += u.tokens_in.unwrap_or(0);
        self.tokens_out += u.tokens_out.unwrap_or(0);
        self.cost_usd += u.cost_usd.unwrap_or(0.0);
        if let Some(score) = u.context_efficiency_score {
            self.scores.push(score);
            self.mean_context_efficiency_score =
                Some(self.scores.iter().sum::<f64>() / self.scores.len() as f64);
        }
    }
}

/// One finished task's usage, as its report gives it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskUsage {
    /// The task.
    pub task_id: String,
    /// The worker that finished it.
    pub worker_id: String,
    /// Its figures.
    #[serde(flatten)]
    pub usage: report::Usage,
}

/// The workspace's statistics.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Tasks per state, as `status` counts them.
    pub counts: status::Counts,
    /// Completed tasks per minute between the first and the last completion.
    pub throughput_per_min: f64,
    /// From queued to first claimed, in milliseconds.
    pub wait_ms: Spread,
    /// From the start of the final attempt to its end, in milliseconds.
    pub run_ms: Spread,
    /// Per worker, by id.
    pub workers: Vec<WorkerTotals>,
    /// Completed on the first attempt, among tasks that completed or were dead-lettered.
    pub first_attempt_success_rate: Option<f64>,
    /// Among completed tasks, the share finished with no human action: no question asked, no
    /// rejection, no operator retry, no review approval.
    pub automation_rate: Option<f64>,
    /// The usage all reports carry, summed.
    pub usage: UsageTotals,
    /// Each finished task whose report carries usage.
    pub task_usage: Vec<TaskUsage>,
}

fn ms_between(a: jiff::Timestamp, b: jiff::Timestamp) -> u64 {
    a.duration_until(b).as_millis().max(0) as u64
}

/// Reads every finished task, its report and the events journal.
pub fn gather(ws: &Workspace) -> Result<Stats> {
    let st = status::gather(ws)?;
    let mut stats = Stats {
        counts: st.counts,
        ..Stats::default()
    };
    let mut workers: BTreeMap<String, WorkerTotals> = BTreeMap::new();
    let mut completed = 0usize;
    let mut automated = 0usize;
    let mut first_claim: HashMap<String, jiff::Timestamp> = HashMap::new();
    let _ = events::read_each(ws, events::Cursor::default(), |e| {
        if e.event == Kind::Claimed {
            first_claim.entry(e.task).or_insert(e.at);
        }
    });
    let mut waits = Vec::new();
    let mut runs = Vec::new();
    let mut finished_at = Vec::new();
    let (mut first_try, mut decided) = (0usize, 0usize);
    for (dir, done) in [(ws.completed(), true), (ws.failed(), false)] {
        for name in store::list_files(&dir)? {
            let Some(id) = name.strip_suffix(".json") else {
                continue;
            };
            let Ok(task) = crate::task::read(&dir.join(&name)) else {
                continue;
            };
            let Ok(rep) = report::read(&crate::state::layout::report_path(ws, id)) else {
                continue;
            };
            if rep.status == Status::Cancelled {
                continue;
            }
            let totals = workers
                .entry(rep.worker_id.clone())
                .or_insert_with(|| WorkerTotals {
                    worker_id: rep.worker_id.clone(),
                    ..WorkerTotals::default()
                });
            totals.run_ms += rep.duration_ms;
            if let Some(u) = &rep.usage {
                totals.usage.add(u);
                stats.usage.add(u);
                stats.task_usage.push(TaskUsage {
                    task_id: id.to_string(),
                    worker_id: rep.worker_id.clone(),
                    usage: u.clone(),
                });
            }
            let human = task.coord.question.is_some()
                || rep.approved_by.is_some()
                || task.coord.history.iter().any(|h| {
                    matches!(
                        h.outcome,
                        Outcome::Asked | Outcome::Rejected | Outcome::Retried
                    )
                });
            if done && !human {
                automated += 1;
            }
            if done {
                completed += 1;
                totals.completed += 1;
                runs.push(rep.duration_ms);
                finished_at.push(rep.completed_at);
            } else {
                totals.failed += 1;
            }
            decided += 1;
            let retried = task.coord.history.iter().any(|h| {
                matches!(
                    h.outcome,
                    Outcome::Failed | Outcome::Lost | Outcome::Rejected
                )
            });
            if done && !retried {
                first_try += 1;
            }
            let claimed = first_claim
                .get(id)
                .copied()
                .or_else(|| task.coord.history.is_empty().then_some(rep.started_at));
            if let (Some(q), Some(c)) = (task.coord.queued_at, claimed) {
                waits.push(ms_between(q, c));
            }
        }
    }
    stats.wait_ms = Spread::of(waits);
    stats.run_ms = Spread::of(runs);
    if let (Some(first), Some(last)) = (finished_at.iter().min(), finished_at.iter().max()) {
        let minutes = (ms_between(*first, *last) as f64 / 60_000.0).max(1.0 / 60.0);
        stats.throughput_per_min = completed as f64 / minutes;
    }
    stats.first_attempt_success_rate = (decided > 0).then(|| first_try as f64 / decided as f64);
    stats.automation_rate = (completed > 0).then(|| automated as f64 / completed as f64);
    stats.workers = workers.into_values().collect();
    Ok(stats)
}
