//! `coord stats`: counts, throughput, wait and run times, per-worker totals, and how often a
//! task succeeds on its first attempt.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::base::error::Result;
use crate::fs::durable;
use crate::fs::workspace::Workspace;
use crate::model::report::{self, Status};
use crate::model::task;
use crate::model::task::Outcome;
use crate::state::TaskState;
use crate::state::events::{self, Kind};
use crate::state::layout;
use crate::views::status;

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
    fn of(h: &Histogram) -> Spread {
        if h.count == 0 {
            return Spread::default();
        }
        let at = |q: f64| {
            let rank = ((h.count - 1) as f64 * q).round() as u64;
            let mut seen = 0;
            for (&bucket, &n) in &h.buckets {
                seen += n;
                if seen > rank {
                    return Histogram::value(bucket).min(h.max);
                }
            }
            h.max
        };
        Spread {
            count: h.count as usize,
            p50: at(0.5),
            p90: at(0.9),
            p99: at(0.99),
            max: h.max,
        }
    }
}

/// Durations counted in buckets 1/64 of a power of two wide (exact below 128 ms), so a
/// summary of a million tasks stays a few kilobytes and its percentiles are within 1.6%.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Histogram {
    count: u64,
    max: u64,
    buckets: BTreeMap<u32, u64>,
}

impl Histogram {
    fn add(&mut self, v: u64) {
        self.count += 1;
        self.max = self.max.max(v);
        *self.buckets.entry(Self::bucket(v)).or_default() += 1;
    }

    fn bucket(v: u64) -> u32 {
        if v < 128 {
            return v as u32;
        }
        let e = 63 - v.leading_zeros();
        128 + (e - 7) * 64 + ((v >> (e - 6)) & 63) as u32
    }

    /// The smallest duration of a bucket.
    fn value(bucket: u32) -> u64 {
        if bucket < 128 {
            return u64::from(bucket);
        }
        let (e, sub) = ((bucket - 128) / 64 + 7, u64::from((bucket - 128) % 64));
        (64 + sub) << (e - 6)
    }
}

/// One worker's totals over finished tasks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
    #[serde(skip_serializing, default)]
    scores: (f64, u64),
}

impl UsageTotals {
    fn add(&mut self, u: &report::Usage) {
        self.reports += 1;
        self.tokens_in += u.tokens_in.unwrap_or(0);
        self.tokens_out += u.tokens_out.unwrap_or(0);
        self.cost_usd += u.cost_usd.unwrap_or(0.0);
        if let Some(score) = u.context_efficiency_score {
            self.scores.0 += score;
            self.scores.1 += 1;
            self.mean_context_efficiency_score = Some(self.scores.0 / self.scores.1 as f64);
        }
    }
}

/// One finished task's usage, as its report gives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// What `coord stats` has summarised of the journal so far, kept in `stats.json`: each call
/// reads only the events after its cursor (and the files of the tasks they finished), and
/// saves the summary again. Derived data: without it, the next call reads the whole journal.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    version: u32,
    cursor: events::Cursor,
    /// First claim of each task claimed and not finished yet, in milliseconds since the epoch.
    first_claims: HashMap<String, i64>,
    workers: BTreeMap<String, WorkerTotals>,
    usage: UsageTotals,
    task_usage: Vec<TaskUsage>,
    waits: Histogram,
    runs: Histogram,
    completed: u64,
    automated: u64,
    first_try: u64,
    decided: u64,
    #[serde(default, with = "crate::base::time::ms_opt")]
    first_finish: Option<jiff::Timestamp>,
    #[serde(default, with = "crate::base::time::ms_opt")]
    last_finish: Option<jiff::Timestamp>,
}

const SUMMARY_VERSION: u32 = 1;

impl Summary {
    fn load(ws: &Workspace) -> Summary {
        durable::read_limited(&ws.root().join(SUMMARY_FILE), SUMMARY_MAX_BYTES)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Summary>(&bytes).ok())
            .filter(|s| s.version == SUMMARY_VERSION)
            .unwrap_or_default()
    }

    /// Saves the summary whole, replacing the last one; a read-only workspace keeps none.
    fn save(&self, ws: &Workspace) {
        let Ok(bytes) = serde_json::to_vec(self) else {
            return;
        };
        let durability = durable::Durability { fsync: false };
        if let Ok(tmp) = durable::write_tmp(&ws.tmp(), "stats", &bytes, durability)
            && durable::replace(&tmp, &ws.root().join(SUMMARY_FILE)).is_err()
        {
            let _ = durable::remove_if_exists(&tmp);
        }
    }

    /// Adds one finished task, read from its file and its report.
    fn finish(&mut self, ws: &Workspace, id: &str, done: bool) {
        let first_claim = self
            .first_claims
            .remove(id)
            .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok());
        let state = match done {
            true => TaskState::Completed,
            false => TaskState::Failed,
        };
        let path = layout::settled_path(ws, &state, id);
        let (Ok(task), Ok(rep)) = (
            task::read(&path),
            report::read(&layout::report_path(ws, id)),
        ) else {
            return;
        };
        if rep.status == Status::Cancelled {
            return;
        }
        let totals = self
            .workers
            .entry(rep.worker_id.clone())
            .or_insert_with(|| WorkerTotals {
                worker_id: rep.worker_id.clone(),
                ..WorkerTotals::default()
            });
        totals.run_ms += rep.duration_ms;
        if let Some(u) = &rep.usage {
            totals.usage.add(u);
            self.usage.add(u);
            self.task_usage.push(TaskUsage {
                task_id: id.to_string(),
                worker_id: rep.worker_id.clone(),
                usage: u.clone(),
            });
            if self.task_usage.len() > TASK_USAGE_KEPT {
                let over = self.task_usage.len() - TASK_USAGE_KEPT;
                self.task_usage.drain(..over);
            }
        }
        let human = task.coord.question.is_some()
            || rep.approved_by.is_some()
            || task.coord.history.iter().any(|h| {
                matches!(
                    h.outcome,
                    Outcome::Asked | Outcome::Rejected | Outcome::Retried
                )
            });
        let retried = task.coord.history.iter().any(|h| {
            matches!(
                h.outcome,
                Outcome::Failed | Outcome::Lost | Outcome::Rejected
            )
        });
        if done {
            self.completed += 1;
            totals.completed += 1;
            self.automated += u64::from(!human);
            self.first_try += u64::from(!retried);
            self.runs.add(rep.duration_ms);
            let at = rep.completed_at;
            self.first_finish = Some(self.first_finish.map_or(at, |f| f.min(at)));
            self.last_finish = Some(self.last_finish.map_or(at, |l| l.max(at)));
        } else {
            totals.failed += 1;
        }
        self.decided += 1;
        let claimed =
            first_claim.or_else(|| task.coord.history.is_empty().then_some(rep.started_at));
        if let (Some(q), Some(c)) = (task.coord.queued_at, claimed) {
            self.waits.add(ms_between(q, c));
        }
    }
}

/// How many finished tasks' usage the summary lists (the latest); the sums cover them all.
const TASK_USAGE_KEPT: usize = 10_000;

/// The summary's file in the workspace.
const SUMMARY_FILE: &str = "stats.json";

/// The largest summary read back (one beyond is rebuilt from the journal).
const SUMMARY_MAX_BYTES: u64 = 256 << 20;

/// The counts now, and every task finished in the journal's history: the summary kept from the
/// last call, brought up to date with the events since (each finished task's file and report
/// read once, when its event is first seen).
pub fn gather(ws: &Workspace) -> Result<Stats> {
    let st = status::gather(ws)?;
    let mut sum = Summary::load(ws);
    sum.version = SUMMARY_VERSION;
    let mut finished = Vec::new();
    if let Ok(cursor) = events::read_each(ws, sum.cursor, |e| match e.event {
        Kind::Claimed => {
            sum.first_claims
                .entry(e.task)
                .or_insert(e.at.as_millisecond());
        }
        Kind::Completed | Kind::Approved => finished.push((e.task, true)),
        Kind::Failed => finished.push((e.task, false)),
        _ => {}
    }) {
        sum.cursor = cursor;
    }
    // A task's file is read once it has finished; one that moved on since (retried, purged)
    // is read where it is now, or left out.
    for (id, done) in finished {
        sum.finish(ws, &id, done);
    }
    sum.save(ws);
    let mut stats = Stats {
        counts: st.counts,
        wait_ms: Spread::of(&sum.waits),
        run_ms: Spread::of(&sum.runs),
        first_attempt_success_rate: (sum.decided > 0)
            .then(|| sum.first_try as f64 / sum.decided as f64),
        automation_rate: (sum.completed > 0).then(|| sum.automated as f64 / sum.completed as f64),
        usage: sum.usage,
        task_usage: sum.task_usage,
        workers: sum.workers.into_values().collect(),
        ..Stats::default()
    };
    if let (Some(first), Some(last)) = (sum.first_finish, sum.last_finish) {
        let minutes = (ms_between(first, last) as f64 / 60_000.0).max(1.0 / 60.0);
        stats.throughput_per_min = sum.completed as f64 / minutes;
    }
    Ok(stats)
}
