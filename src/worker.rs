//! The worker loop: claim the next task, run it, record the outcome, claim again at once; wait on
//! file-system events when there is nothing to claim.

use std::collections::HashSet;
use std::io;
use std::path::Path;
use std::process::ExitStatus;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;
use tracing::{info, info_span, warn};

use crate::checks;
use crate::claim::{self, Claimed, ClaimedTask, PendingIndex};
use crate::durable;
use crate::error::Result;
use crate::finish::{self, Disposition};
use crate::handoff::Assignment;
use crate::host;
use crate::lease::{self, Registration};
use crate::recover;
use crate::report::Report;
use crate::runner::{self, Job};
use crate::signals;
use crate::task::TaskFile;
use crate::watch::{self, Change};
use crate::workspace::Workspace;

/// How often a worker renews its record while alive.
const HEARTBEAT: Duration = Duration::from_secs(10);

/// How often a worker rescans when file-system events cannot be had and no --poll was given.
const FALLBACK_POLL: Duration = Duration::from_secs(2);

/// How long a timed-out command gets between SIGTERM and SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(5);

/// The largest result file a command may write, in bytes.
const MAX_RESULT_BYTES: u64 = 1 << 20;

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The worker id.
    pub id: String,
    /// Wait for new work instead of exiting when the queue is empty.
    pub watch: bool,
    /// A command run for every task (`sh -c`), instead of each task's own `command`.
    pub exec: Option<String>,
    /// How often to rescan pending/ in case a file-system event was missed.
    pub rescan: Duration,
    /// Exit after this many claims have ended (completed, failed or retried).
    pub max_tasks: Option<usize>,
    /// Use no file-system events: rescan pending/ at this interval (for network file systems).
    pub poll: Option<Duration>,
    /// The labels this worker has: it claims only tasks whose `requires` it has.
    pub labels: Vec<String>,
}

/// How long a worker without --watch waits, before exiting, for a task whose retry (or
/// `notBefore`) time is near.
pub const DRAIN_WAIT: Duration = Duration::from_secs(300);

/// What a worker did, printed when it exits.
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// The worker id.
    pub worker_id: String,
    /// Tasks completed.
    pub completed: usize,
    /// Attempts that failed and went back to pending/.
    pub retried: usize,
    /// Tasks dead-lettered to failed/.
    pub failed: usize,
    /// Files in pending/ that were not valid tasks, set aside.
    pub invalid: usize,
    /// Tasks of dead workers returned to pending/.
    pub recovered: usize,
    /// Tasks left in pending/ because they have no command and this worker has no --exec.
    pub skipped_no_command: usize,
    /// The worker was stopped by a second signal while a task ran; that task went back to pending/.
    pub interrupted: bool,
}

enum Wake {
    Change(Change),
    Held,
    Signal(i32),
    Exited(io::Result<ExitStatus>),
}

struct Worker<'a> {
    ws: &'a Workspace,
    opts: &'a Options,
    reg: Registration,
    rx: Receiver<Wake>,
    tx: Sender<Wake>,
    index: PendingIndex,
    signals: u32,
    no_command: HashSet<String>,
    summary: Summary,
    last_touch: Instant,
    last_rescan: Instant,
    polling: Option<Duration>,
    gate: crate::gate::Gate,
}

/// Runs a worker until the queue is drained (or, with `watch`, until a signal), and returns
/// what it did.
pub fn run(ws: &Workspace, opts: &Options) -> Result<Summary> {
    let (tx, rx) = mpsc::channel();
    let sig_tx = tx.clone();
    signals::forward(move |s| {
        let _ = sig_tx.send(Wake::Signal(s));
    })
    .map_err(|e| crate::error::Error::io("handle signals in", ws.root(), e))?;
    let mode = if opts.exec.is_some() {
        "exec"
    } else {
        "task-command"
    };
    // Commands run in the project directory: being there already lets them start without a
    // directory change.
    std::env::set_current_dir(ws.project())
        .map_err(|e| crate::error::Error::io("enter", ws.project(), e))?;
    let reg = lease::register(ws, &opts.id, mode, opts.watch)?;
    let span = info_span!("worker", id = %opts.id);
    let _entered = span.enter();
    info!(
        "registered: pid {} on {}, workspace {}, {}",
        host::pid(),
        host::hostname(),
        ws.root().display(),
        match &opts.exec {
            Some(cmd) => format!("running `{cmd}` for every task"),
            None => "running each task's own command".to_string(),
        }
    );
    let mut worker = Worker {
        ws,
        opts,
        reg,
        rx,
        tx,
        index: PendingIndex::new(ws),
        signals: 0,
        no_command: HashSet::new(),
        summary: Summary {
            worker_id: opts.id.clone(),
            ..Summary::default()
        },
        last_touch: Instant::now(),
        last_rescan: Instant::now(),
        polling: opts.poll,
        gate: crate::gate::Gate::new(&opts.id, &opts.labels),
    };
    let result = worker.main_loop();
    let Worker { reg, summary, .. } = worker;
    if crate::store::count_files(&ws.assigned(&opts.id))? > 0 {
        // An agent still holds a task this listener handed out: from now on its lease decides.
        reg.hand_over()?;
    } else {
        reg.stop()?;
    }
    info!(
        "shutdown: {} completed, {} retried, {} failed, {} invalid",
        summary.completed, summary.retried, summary.failed, summary.invalid
    );
    result.map(|()| summary)
}

impl Worker<'_> {
    fn main_loop(&mut self) -> Result<()> {
        crate::trust::check_workspace(self.ws, &self.opts.id)?;
        self.recover_dead()?;
        let mut watchers = Vec::new();
        let mut _departures = None;
        if self.polling.is_none()
            && let Some(every) = crate::fsinfo::poll_interval(self.ws.root())
        {
            self.polling = Some(every);
            match crate::fsinfo::kind(self.ws.root()).filter(|k| k.shared) {
                Some(fs) => warn!(
                    "the workspace is on a {} file system, which other hosts may share: their changes raise no events here, so this worker also rescans every {}s (set it with --poll); {}",
                    fs.name,
                    every.as_secs_f32(),
                    crate::fsinfo::CACHE_ADVICE
                ),
                None => info!(
                    "COORD_POLL_SECS is set: rescanning every {}s besides events",
                    every.as_secs_f32()
                ),
            }
        }
        // With --poll the user asked for no events at all; otherwise events do the work where
        // they come (changes made on this host), and a rescan covers the rest.
        let events = self.opts.poll.is_none();
        if self.opts.watch && events {
            let tx = self.tx.clone();
            let pending = watch::arrivals(&self.ws.pending(), move |c| {
                let _ = tx.send(Wake::Change(c));
            });
            match pending {
                Ok(p) => watchers.push(p),
                Err(e) => {
                    let every = self.opts.rescan.min(FALLBACK_POLL);
                    warn!(
                        "{e}; {}; rescanning every {}s instead",
                        e.hint().unwrap_or_default(),
                        every.as_secs_f32()
                    );
                    self.polling = Some(self.polling.map_or(every, |p| p.min(every)));
                }
            }
        }
        if events {
            // The worker's own claims folder: a listener sees `coord complete`, `fail` or
            // `release` end a handed-out task from another process, and any worker sees
            // `coord cancel` take away the task it runs.
            // Only departures matter, so the worker's own claims wake nothing.
            let tx = self.tx.clone();
            match watch::departures(&self.ws.assigned(&self.opts.id), move || {
                let _ = tx.send(Wake::Held);
            }) {
                Ok(w) => _departures = Some(w),
                Err(e) => warn!(
                    "{e}; a cancelled task is noticed within {}s",
                    HEARTBEAT.as_secs()
                ),
            }
        }
        if let Some(every) = self.polling {
            info!("rescanning pending/ every {}s", every.as_secs_f32());
            self.reg.set_poll(Some(every.as_secs_f64()))?;
        }
        // Scan once after the watcher is in place, so nothing queued before it is missed.
        self.index.refresh()?;
        let mut fresh_listing = true;
        let mut idle_logged = false;
        loop {
            // A busy worker is never idle long enough for a timeout: beat here too, so another
            // host never takes its lease for expired.
            self.heartbeat()?;
            self.drain_wakes()?;
            if self.signals > 0 {
                return Ok(());
            }
            let done = self.summary.completed + self.summary.failed + self.summary.retried;
            if self.opts.max_tasks.is_some_and(|max| done >= max) {
                info!("stopping: reached --max-tasks {done}");
                return Ok(());
            }
            match self.claim()? {
                Some(Claimed::Task(task)) => {
                    idle_logged = false;
                    fresh_listing = false;
                    self.run_task(task)?;
                }
                Some(Claimed::Invalid { name, reason }) => {
                    warn!("set aside pending/{name}: not a valid task: {reason}");
                    self.summary.invalid += 1;
                }
                None if !fresh_listing => {
                    self.index.refresh()?;
                    self.gate.forget_missing();
                    fresh_listing = true;
                }
                None if !self.opts.watch => match self.due_soon() {
                    Some(wait) => {
                        info!(
                            "waiting {:.1}s for a task whose retry time is near",
                            wait.as_secs_f32()
                        );
                        if let Ok(wake) = self.rx.recv_timeout(wait) {
                            self.apply(wake)?;
                        }
                        fresh_listing = false;
                    }
                    None => return Ok(()),
                },
                None => {
                    if !idle_logged {
                        info!("waiting for work");
                        idle_logged = true;
                    }
                    match self.rx.recv_timeout(self.idle_wait()) {
                        Ok(wake) => {
                            // A name leaving pending/ brings no work; anything else may.
                            if !matches!(wake, Wake::Change(Change::Removed(_))) {
                                fresh_listing = false;
                            }
                            self.apply(wake)?;
                        }
                        Err(RecvTimeoutError::Timeout) => {
                            self.heartbeat()?;
                            if self.due_soon().is_some_and(|w| w.is_zero()) {
                                fresh_listing = false;
                            }
                            if self.polling.is_some()
                                || self.last_rescan.elapsed() >= self.opts.rescan
                            {
                                self.recover_dead()?;
                                self.index.refresh()?;
                                self.last_rescan = Instant::now();
                            }
                        }
                        Err(RecvTimeoutError::Disconnected) => return Ok(()),
                    }
                }
            }
        }
    }

    /// How long to sleep when there is nothing to do: until the next rescan when polling, else
    /// until the next heartbeat or safety rescan, and never past a skipped task's due time.
    fn idle_wait(&self) -> Duration {
        let wait = self
            .polling
            .unwrap_or(self.opts.rescan)
            .min(self.beat_every());
        self.due_soon().map_or(wait, |due| due.min(wait))
    }

    /// How long until the earliest task skipped for its retry or `notBefore` time is due, if
    /// that is within [`DRAIN_WAIT`].
    fn due_soon(&self) -> Option<Duration> {
        let due = self.gate.next_due()?;
        let left = jiff::Timestamp::now().duration_until(due);
        let left = Duration::try_from(left).unwrap_or(Duration::ZERO);
        (left <= DRAIN_WAIT).then_some(left + Duration::from_millis(1))
    }

    /// A watching worker without --exec: tasks without a command are handed to an agent.
    fn listening(&self) -> bool {
        self.opts.watch && self.opts.exec.is_none()
    }

    fn claim(&mut self) -> Result<Option<Claimed>> {
        if crate::gate::paused(self.ws) {
            return Ok(None);
        }
        loop {
            self.gate.start_pass();
            let needs_command = self.opts.exec.is_none() && !self.listening();
            let (ws, gate, no_command) = (self.ws, &mut self.gate, &mut self.no_command);
            let mut filter =
                |path: &Path| gate.admits(ws, path) && (!needs_command || wants(path, no_command));
            let claimed =
                claim::claim_next(self.ws, &self.opts.id, &mut self.index, Some(&mut filter))?;
            self.summary.skipped_no_command = self.no_command.len();
            if let Some(Claimed::Task(task)) = &claimed
                && let Some((other, file)) =
                    crate::gate::confirm_files(self.ws, &self.opts.id, task)?
            {
                info!(
                    "{} touches {file}, which {} holds: left in pending/",
                    task.task.spec.id,
                    other.display()
                );
                continue;
            }
            return Ok(claimed);
        }
    }

    fn drain_wakes(&mut self) -> Result<()> {
        while let Ok(wake) = self.rx.try_recv() {
            self.apply(wake)?;
        }
        Ok(())
    }

    fn apply(&mut self, wake: Wake) -> Result<()> {
        match wake {
            Wake::Change(Change::Added(name)) => self.index.insert(&name),
            Wake::Change(Change::Removed(_)) => {}
            Wake::Change(Change::Rescan) => self.index.refresh()?,
            Wake::Signal(sig) => self.on_signal(sig, None),
            Wake::Exited(_) | Wake::Held => {}
        }
        Ok(())
    }

    fn on_signal(&mut self, sig: i32, running: Option<u32>) {
        self.signals += 1;
        match (self.signals, running) {
            (1, Some(_)) => {
                info!("signal {sig}: stopping after the running task; send it again to stop now")
            }
            (1, None) => info!("signal {sig}: stopping"),
            (_, Some(pid)) => {
                info!("signal {sig} again: killing the running task and handing it back");
                runner::signal_group(pid, libc::SIGKILL);
            }
            (_, None) => {}
        }
    }

    /// How often the worker beats: every 10 s, and at least four times per worker lease so that
    /// no other host takes a live worker for gone.
    fn beat_every(&self) -> Duration {
        HEARTBEAT.min(self.ws.worker_lease() / 4)
    }

    fn heartbeat(&mut self) -> Result<()> {
        if self.last_touch.elapsed() >= self.beat_every() {
            self.reg.touch()?;
            self.last_touch = Instant::now();
        }
        Ok(())
    }

    /// Returns the tasks of this worker's earlier process, and of every gone worker, to pending/.
    fn recover_dead(&mut self) -> Result<()> {
        let own = finish::recover_worker(
            self.ws,
            &self.opts.id,
            &format!(
                "worker {} restarted: its previous process stopped while holding the task",
                self.opts.id
            ),
        )?;
        let id = self.opts.id.clone();
        self.log_recovered(&id, own);
        let stuck = crate::depends::settle_stuck(self.ws, &self.opts.id)?;
        for d in stuck.unblocked {
            info!("unblocked {d}: the tasks it depends on had finished");
        }
        let published = finish::settle_orphans(self.ws)?;
        if published > 0 {
            info!(
                "published {published} report(s) that a dead worker had written but not yet published"
            );
        }
        for r in recover::recover(self.ws, Some(&self.opts.id))? {
            self.summary.recovered += 1;
            info!(
                "recovered {} from {}: {}; {}",
                r.task,
                r.worker,
                r.reason,
                describe_disposition(&r.disposition)
            );
        }
        Ok(())
    }

    fn log_recovered(&mut self, worker: &str, moved: Vec<(String, Disposition)>) {
        for (id, disposition) in moved {
            self.summary.recovered += 1;
            info!(
                "recovered {id} from {worker}: {}",
                describe_disposition(&disposition)
            );
        }
    }

    fn run_task(&mut self, claimed: Box<ClaimedTask>) -> Result<()> {
        let ws = self.ws;
        let spec = &claimed.task.spec;
        let id = spec.id.clone();
        info!(
            "TASK ASSIGNED {id} (attempt {}/{}): {}",
            claimed.attempt,
            spec.max_attempts(),
            spec.description
        );
        if let Some(distrust) = crate::trust::problem(&claimed.path, ws.shared_group()) {
            let reason = format!(
                "not run: another user could have written this task file: {}",
                distrust.problem
            );
            warn!("{id}: {reason}");
            finish::quarantine(
                ws,
                &self.opts.id,
                &format!("{id}.json"),
                &claimed.path,
                &reason,
            )?;
            self.summary.invalid += 1;
            return Ok(());
        }
        let command = match self.opts.exec.clone().or_else(|| spec.command.clone()) {
            Some(c) => c,
            None if self.listening() => return self.hand_off(claimed),
            None => {
                let d = finish::release(
                    ws,
                    &self.opts.id,
                    &claimed.path,
                    "no command, and the worker has no --exec",
                )?;
                warn!(
                    "{id} has no command and this worker has no --exec: left in pending/ ({})",
                    describe_disposition(&d)
                );
                self.no_command.insert(id);
                return Ok(());
            }
        };
        let started = host::now();
        let clock = Instant::now();
        let log = finish::task_log_path(ws, &id, claimed.attempt);
        let result_file = ws.tmp().join(format!(
            "result.{id}.{}.{}.{}.json",
            claimed.attempt,
            host::hostname(),
            host::pid()
        ));
        durable::remove_if_exists(&result_file)?;
        let job = Job {
            command: &command,
            cwd: ws.project(),
            log: &log,
            env: vec![
                ("COORD_TASK_ID", id.clone()),
                ("COORD_TASK_FILE", claimed.path.display().to_string()),
                ("COORD_WORKER_ID", self.opts.id.clone()),
                ("COORD_ROOT", ws.root().display().to_string()),
                ("COORD_PROJECT_DIR", ws.project().display().to_string()),
                ("COORD_ATTEMPT", claimed.attempt.to_string()),
                ("COORD_RESULT_FILE", result_file.display().to_string()),
            ],
        };
        let ending = match runner::spawn(&job) {
            Ok(child) => {
                info!("running {id}: {command} (log {})", log.display());
                crate::events::one(
                    ws,
                    "started",
                    &id,
                    Some(&self.opts.id),
                    Some(claimed.attempt),
                );
                self.wait_child(child, spec.timeout_secs, &claimed.path)?
            }
            Err(e) => Ending::CannotStart(e.to_string()),
        };
        let finished = host::now();
        let result = read_result(&result_file);
        durable::remove_if_exists(&result_file)?;
        if matches!(ending, Ending::Cancelled) {
            info!("{id} was cancelled while it ran; its command was stopped");
            return Ok(());
        }
        if matches!(ending, Ending::Interrupted) {
            let d = finish::release(
                ws,
                &self.opts.id,
                &claimed.path,
                "the worker was stopped while running it",
            )?;
            info!("released {id}: {}", describe_disposition(&d));
            self.summary.interrupted = true;
            return Ok(());
        }
        let spec = &claimed.task.spec;
        let exited_ok = matches!(&ending, Ending::Exited(status) if status.success());
        let validation = checks::run(
            ws.project(),
            &spec.output_files,
            &claimed.task.acceptance(),
            exited_ok,
        );
        let (deliverables, missing) = checks::deliverables(&validation, &spec.output_files);
        let reason = match &ending {
            Ending::Exited(_) if exited_ok => checks::reason(&validation),
            Ending::Exited(status) => Some(runner::describe(status)),
            Ending::TimedOut(secs) => Some(format!(
                "timeout: still running after {secs}s, process group killed"
            )),
            Ending::CannotStart(e) => Some(format!("cannot start the command: {e}")),
            Ending::Interrupted | Ending::Cancelled => unreachable!("handled above"),
        };
        let exit_code = match &ending {
            Ending::Exited(status) => status.code(),
            _ => None,
        };
        let report = Report {
            task_id: id.clone(),
            worker_id: self.opts.id.clone(),
            status: if reason.is_none() {
                "completed"
            } else {
                "failed"
            }
            .into(),
            attempt: claimed.attempt,
            started_at: host::rfc3339(started),
            completed_at: host::rfc3339(finished),
            duration_ms: clock.elapsed().as_millis() as u64,
            exit_code,
            reason: reason.clone(),
            deliverables,
            missing,
            log: Some(log.display().to_string()),
            result,
            validation,
            note: None,
        };
        let ms = report.duration_ms;
        let disposition = match &reason {
            None => finish::complete(ws, &claimed.path, &report)?,
            Some(_) => finish::fail(ws, &claimed.path, &report, true)?,
        };
        let why = reason.map(|r| format!(": {r}")).unwrap_or_default();
        match disposition {
            Disposition::Completed => {
                self.summary.completed += 1;
                info!("completed {id} in {ms} ms");
            }
            Disposition::Requeued => {
                self.summary.retried += 1;
                info!(
                    "failed {id} in {ms} ms{why}; back in pending/ for attempt {}",
                    claimed.attempt + 1
                );
            }
            Disposition::DeadLettered => {
                self.summary.failed += 1;
                warn!("failed {id} in {ms} ms{why}; out of attempts, moved to failed/");
            }
            other => warn!("{id} finished{why} but {}", describe_disposition(&other)),
        }
        Ok(())
    }

    /// Prints a task without a command as one JSON line for an agent, keeps the claim alive,
    /// and returns when another process has completed, failed or released it.
    fn hand_off(&mut self, claimed: Box<ClaimedTask>) -> Result<()> {
        let ws = self.ws;
        let id = claimed.task.spec.id.clone();
        let assignment = Assignment::new(
            ws,
            &self.opts.id,
            claimed.task.clone(),
            claimed.path.clone(),
            false,
        );
        {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let line = assignment.to_json().to_string();
            // A closed stdout only means nobody reads the line; the claim stands either way.
            let _ = writeln!(out, "{line}").and_then(|()| out.flush());
        }
        info!(
            "handed {id} to an agent: waiting for `{}` (or fail/release) from any process",
            assignment.complete_command()
        );
        while claimed.path.exists() {
            self.heartbeat()?;
            match self.rx.recv_timeout(self.idle_wait()) {
                Ok(Wake::Signal(sig)) => {
                    self.signals += 1;
                    info!(
                        "signal {sig}: stopping; {id} stays with {} for `coord complete`, under a lease of {}s from now",
                        self.opts.id, assignment.lease_secs
                    );
                    return Ok(());
                }
                Ok(other) => self.apply(other)?,
                Err(RecvTimeoutError::Timeout) => self.heartbeat()?,
                Err(RecvTimeoutError::Disconnected) => unreachable!("the worker holds a sender"),
            }
        }
        let file = format!("{id}.json");
        if ws.completed().join(&file).exists() {
            self.summary.completed += 1;
            info!("completed {id} (by `coord complete`)");
        } else if ws.failed().join(&file).exists() {
            self.summary.failed += 1;
            warn!("failed {id} (by `coord fail`); moved to failed/");
        } else {
            self.summary.retried += 1;
            info!("{id} went back to pending/ (failed with attempts left, or released)");
        }
        Ok(())
    }

    fn wait_child(
        &mut self,
        child: std::process::Child,
        timeout_secs: Option<u64>,
        held: &Path,
    ) -> Result<Ending> {
        let pid = child.id();
        let tx = self.tx.clone();
        let mut child = child;
        std::thread::Builder::new()
            .name("coord-child".into())
            .spawn(move || {
                let _ = tx.send(Wake::Exited(child.wait()));
            })
            .map_err(|e| crate::error::Error::io("start a thread in", self.ws.root(), e))?;
        let mut deadline = timeout_secs.map(|s| Instant::now() + Duration::from_secs(s));
        let mut timed_out = false;
        let mut interrupted = false;
        let mut cancelled = false;
        let taken_away = |deadline: &mut Option<Instant>, cancelled: &mut bool| {
            if !*cancelled && !held.exists() {
                warn!("the task was taken away (cancelled): stopping its process group");
                runner::signal_group(pid, libc::SIGTERM);
                *cancelled = true;
                *deadline = Some(Instant::now() + KILL_GRACE);
            }
        };
        loop {
            self.heartbeat()?;
            let beat = self.beat_every();
            let wait = deadline
                .map(|d| d.saturating_duration_since(Instant::now()))
                .unwrap_or(beat)
                .min(self.polling.unwrap_or(beat).min(beat));
            match self.rx.recv_timeout(wait) {
                Ok(Wake::Exited(status)) => {
                    let status = status.map_err(|e| {
                        crate::error::Error::io("wait for", Path::new("/bin/sh"), e)
                    })?;
                    return Ok(if cancelled {
                        Ending::Cancelled
                    } else if interrupted {
                        Ending::Interrupted
                    } else if timed_out {
                        Ending::TimedOut(timeout_secs.unwrap_or(0))
                    } else {
                        Ending::Exited(status)
                    });
                }
                Ok(Wake::Signal(sig)) => {
                    self.on_signal(sig, Some(pid));
                    interrupted = self.signals > 1;
                }
                Ok(Wake::Held) => taken_away(&mut deadline, &mut cancelled),
                Ok(other) => self.apply(other)?,
                Err(RecvTimeoutError::Timeout) => {
                    self.heartbeat()?;
                    taken_away(&mut deadline, &mut cancelled);
                    match deadline {
                        Some(d) if Instant::now() >= d && (cancelled || timed_out) => {
                            runner::signal_group(pid, libc::SIGKILL);
                            deadline = None;
                        }
                        Some(d) if Instant::now() >= d && !timed_out => {
                            warn!(
                                "timeout after {}s: stopping the task's process group",
                                timeout_secs.unwrap_or(0)
                            );
                            runner::signal_group(pid, libc::SIGTERM);
                            timed_out = true;
                            deadline = Some(Instant::now() + KILL_GRACE);
                        }
                        Some(d) if Instant::now() >= d => {
                            runner::signal_group(pid, libc::SIGKILL);
                            deadline = None;
                        }
                        _ => {}
                    }
                }
                Err(RecvTimeoutError::Disconnected) => unreachable!("the worker holds a sender"),
            }
        }
    }
}

enum Ending {
    Exited(ExitStatus),
    TimedOut(u64),
    CannotStart(String),
    Interrupted,
    Cancelled,
}

/// Whether a worker without --exec wants a pending file: not if the task has no command.
fn wants(path: &Path, no_command: &mut HashSet<String>) -> bool {
    let Ok(bytes) = durable::read_limited(path, crate::task::MAX_TASK_BYTES) else {
        return true;
    };
    match TaskFile::parse(&bytes) {
        Ok(t) if t.spec.command.is_none() => {
            if no_command.insert(t.spec.id.clone()) {
                warn!(
                    "{} has no command and this worker has no --exec: leaving it in pending/ for `coord next` or a worker with --exec",
                    t.spec.id
                );
            }
            false
        }
        _ => true,
    }
}

fn read_result(path: &Path) -> Option<Value> {
    let bytes = durable::read_limited(path, MAX_RESULT_BYTES).ok()?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(v @ Value::Object(_)) => Some(v),
        Ok(_) => {
            warn!("{} is not a JSON object; ignored", path.display());
            None
        }
        Err(e) => {
            warn!("{} is not valid JSON ({e}); ignored", path.display());
            None
        }
    }
}

fn describe_disposition(d: &Disposition) -> &'static str {
    match d {
        Disposition::Completed => "completed",
        Disposition::Requeued => "back in pending/ for another attempt",
        Disposition::DeadLettered => "out of attempts, moved to failed/",
        Disposition::Released => "back in pending/, no attempt used",
        Disposition::Fenced => {
            "it was no longer held by this worker (recovered by another process); nothing recorded"
        }
        Disposition::AlreadyCompleted => {
            "another copy had already completed; this copy was dropped"
        }
    }
}
