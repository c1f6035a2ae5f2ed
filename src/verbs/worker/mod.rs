//! The worker loop: claim the next task, run it, record the outcome, claim again at once; wait
//! on file-system events when there is nothing to claim.
//!
//! Running one task and building its report is [`attempt`]; handing a task without a command to
//! an agent is [`listen`]; supervising the command is [`crate::sys::supervise`]; taking back the tasks
//! of gone workers is [`crate::policy::recover`].

mod attempt;
mod listen;

use std::collections::HashSet;
use std::io;
use std::path::Path;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use serde::Serialize;
use tracing::{info, info_span, warn};

use crate::base::error;
use crate::base::error::Result;
use crate::base::host;
use crate::fs::durable;
use crate::fs::fsinfo;
use crate::fs::wake::{Waker, Woke};
use crate::fs::watch::{self, Change};
use crate::fs::workspace::Workspace;
use crate::model::task;
use crate::model::task::TaskFile;
use crate::policy::claim::{self, Claimed, ClaimedTask, Claimer};
use crate::policy::lease::{self, Mode, Registration};
use crate::policy::recover;
use crate::policy::trust;
use crate::state::Disposition;
use crate::state::store;
use crate::sys::reap;
use crate::sys::signals;
use crate::verbs::handoff::Assignment;

/// How often a worker renews its record while alive.
const HEARTBEAT: Duration = Duration::from_secs(10);

/// How often a worker rescans when file-system events cannot be had and no --poll was given.
const FALLBACK_POLL: Duration = Duration::from_secs(2);

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
    /// Tasks whose checks passed and that wait for review in review/.
    pub in_review: usize,
    /// Tasks whose holder asked a question: they wait in waiting/ for an answer.
    pub asked: usize,
    /// Attempts that failed or were released, and went back to pending/.
    pub retried: usize,
    /// Tasks dead-lettered to failed/.
    pub failed: usize,
    /// The ids of the tasks dead-lettered in this run.
    pub dead_lettered: Vec<String>,
    /// Files in pending/ that were not valid tasks, set aside.
    pub invalid: usize,
    /// Tasks of dead workers returned to pending/.
    pub recovered: usize,
    /// Tasks left in pending/ because they have no command and this worker has no --exec.
    pub skipped_no_command: usize,
    /// The worker was stopped by a second signal while a task ran; that task went back to pending/.
    pub interrupted: bool,
}

impl Summary {
    /// How many claims this worker has seen to an end of any kind (what `--max-tasks` counts).
    pub fn tasks_run(&self) -> usize {
        self.completed + self.in_review + self.asked + self.retried + self.failed
    }
}

/// What wakes a worker.
enum Wake {
    Change(Change),
    Held,
    Signal(i32),
    Exited(io::Result<ExitStatus>),
}

/// Called with each task a listener hands to an agent; the caller prints it.
pub type OnHandOff<'a> = &'a mut dyn FnMut(&Assignment);

struct Worker<'a> {
    ws: &'a Workspace,
    opts: &'a Options,
    reg: Registration,
    waker: Waker<Wake>,
    claimer: Claimer,
    signals: u32,
    no_command: HashSet<String>,
    summary: Summary,
    last_touch: Instant,
    polling: Option<Duration>,
    on_hand_off: OnHandOff<'a>,
    /// Hands each command to the thread that waits for it (see `Worker::reaper`).
    reaper: Option<std::sync::mpsc::Sender<std::process::Child>>,
}

/// Runs a worker until the queue is drained (or, with `watch`, until a signal), and returns
/// what it did. A listener (`watch` without `exec`) gives each task without a command to
/// `on_hand_off` and waits for another process to finish it.
pub fn run(
    ws: &Workspace,
    opts: &Options,
    life: lease::LifeLock,
    on_hand_off: OnHandOff<'_>,
) -> Result<Summary> {
    // Whatever a task's command leaves running becomes this process's child, to be killed.
    reap::adopt_orphans();
    let waker: Waker<Wake> = Waker::new(None);
    let sig_tx = waker.sender();
    signals::forward(move |s| {
        let _ = sig_tx.send(Wake::Signal(s));
    })
    .map_err(|e| error::Error::io("handle signals in", ws.root(), e))?;
    let mode = match opts.exec {
        Some(_) => Mode::Exec,
        None => Mode::TaskCommand,
    };
    // Commands run in the project directory: being there already lets them start without a
    // directory change.
    std::env::set_current_dir(ws.project())
        .map_err(|e| error::Error::io("enter", ws.project(), e))?;
    let reg = lease::register(ws, &opts.id, life, mode, opts.watch)?;
    let span = info_span!("worker", id = %opts.id);
    let _entered = span.enter();
    info!(
        "registered: pid {} on {}, workspace {}, {}",
        host::public_pid(),
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
        waker,
        claimer: Claimer::new(ws, &opts.id, &opts.labels),
        signals: 0,
        no_command: HashSet::new(),
        summary: Summary {
            worker_id: opts.id.clone(),
            ..Summary::default()
        },
        last_touch: Instant::now(),
        polling: opts.poll,
        reaper: None,
        on_hand_off,
    };
    let result = worker.main_loop();
    let Worker { reg, summary, .. } = worker;
    if store::count_files(&ws.assigned(&opts.id))? > 0 {
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
        trust::check_workspace(self.ws, &self.opts.id)?;
        self.recover_dead()?;
        self.start_watching()?;
        self.take_over_kept()?;
        if self.signals > 0 {
            return Ok(());
        }
        // Scan once after the watcher is in place, so nothing queued before it is missed.
        self.claimer.refresh()?;
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
            let done = self.summary.tasks_run();
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
                    self.claimer.refresh()?;
                    self.claimer.forget_missing();
                    fresh_listing = true;
                }
                None if !self.opts.watch => match self.due_soon() {
                    Some(wait) => {
                        info!(
                            "waiting {:.1}s for a task whose retry time is near",
                            wait.as_secs_f32()
                        );
                        if let Woke::Message(wake) = self.waker.wait(Some(Instant::now() + wait)) {
                            self.apply(wake)?;
                        }
                        fresh_listing = false;
                    }
                    None => {
                        self.say_what_stays();
                        return Ok(());
                    }
                },
                None => {
                    if !idle_logged {
                        info!("waiting for work");
                        idle_logged = true;
                    }
                    match self.waker.wait(Some(self.idle_deadline())) {
                        Woke::Message(wake) => {
                            // A name leaving pending/ brings no work; anything else may.
                            if !matches!(wake, Wake::Change(Change::Removed(_))) {
                                fresh_listing = false;
                            }
                            self.apply(wake)?;
                        }
                        Woke::Rescan => {
                            self.heartbeat()?;
                            self.recover_dead()?;
                            self.claimer.refresh()?;
                        }
                        Woke::Deadline => {
                            self.heartbeat()?;
                            // A task skipped for its retry or notBefore time may be due: the
                            // deadline and the due time are read off two clocks, so look again
                            // whenever one was waited for (the skipped name left the index).
                            if self.due_soon().is_some() {
                                fresh_listing = false;
                            }
                        }
                    }
                }
            }
        }
    }

    /// Sets up the waker: events on pending/ (with --watch) and on the worker's own claims
    /// folder, and the rescan interval (a network file system, --poll, or no events).
    fn start_watching(&mut self) -> Result<()> {
        if self.polling.is_none()
            && let Some(every) = fsinfo::poll_interval(self.ws.root())
        {
            self.polling = Some(every);
            match fsinfo::kind(self.ws.root()).filter(|k| k.shared) {
                Some(fs) => warn!(
                    "the workspace is on a {} file system, which other hosts may share: their changes raise no events here, so this worker also rescans every {}s (set it with --poll); {}",
                    fs.name,
                    every.as_secs_f32(),
                    fsinfo::CACHE_ADVICE
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
            let tx = self.waker.sender();
            match watch::arrivals(&self.ws.pending(), move |c| {
                let _ = tx.send(Wake::Change(c));
            }) {
                Ok(w) => self.waker.keep(w),
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
            // `coord cancel` take away the task it runs. Only departures matter, so the
            // worker's own claims wake nothing.
            let tx = self.waker.sender();
            match watch::departures(&self.ws.assigned(&self.opts.id), move || {
                let _ = tx.send(Wake::Held);
            }) {
                Ok(w) => self.waker.keep(w),
                Err(e) => warn!(
                    "{e}; a cancelled task is noticed within {}s",
                    HEARTBEAT.as_secs()
                ),
            }
        }
        if self.opts.watch && self.polling.is_some() {
            // Other hosts' changes raise no event: their rings of the doorbell wake the worker.
            let tx = self.waker.sender();
            self.waker.listen_for_doorbell(self.ws, move || {
                let _ = tx.send(Wake::Change(Change::Rescan));
            });
        }
        if let Some(every) = self.polling {
            info!("rescanning pending/ every {}s", every.as_secs_f32());
            self.reg.set_poll(Some(every.as_secs_f64()))?;
        }
        self.waker
            .rescan_at_most(self.polling.unwrap_or(self.opts.rescan));
        Ok(())
    }

    /// When to wake up with nothing to do: the next heartbeat, and never past a skipped task's
    /// due time (rescans come from the waker).
    fn idle_deadline(&self) -> Instant {
        let wait = self.beat_every();
        let wait = self.due_soon().map_or(wait, |due| due.min(wait));
        Instant::now() + wait
    }

    /// How long until the earliest task skipped for its retry or `notBefore` time is due, if
    /// that is within [`DRAIN_WAIT`].
    fn due_soon(&self) -> Option<Duration> {
        let left = self.claimer.due_in()?;
        (left <= DRAIN_WAIT).then_some(left + Duration::from_millis(1))
    }

    /// A watching worker without --exec: tasks without a command are handed to an agent.
    fn listening(&self) -> bool {
        self.opts.watch && self.opts.exec.is_none()
    }

    fn claim(&mut self) -> Result<Option<Claimed>> {
        let needs_command = self.opts.exec.is_none() && !self.listening();
        let no_command = &mut self.no_command;
        let mut wants = |path: &Path| !needs_command || wants(path, no_command);
        let claimed = self.claimer.next(self.ws, Some(&mut wants))?;
        self.summary.skipped_no_command = self.no_command.len();
        Ok(claimed)
    }

    fn drain_wakes(&mut self) -> Result<()> {
        while let Some(wake) = self.waker.try_next() {
            self.apply(wake)?;
        }
        Ok(())
    }

    fn apply(&mut self, wake: Wake) -> Result<()> {
        match wake {
            Wake::Change(Change::Added(name)) => self.claimer.insert(&name),
            Wake::Change(Change::Removed(_)) => {}
            Wake::Change(Change::Rescan) => self.claimer.refresh()?,
            Wake::Signal(sig) => {
                self.on_signal(sig, false);
            }
            Wake::Exited(_) | Wake::Held => {}
        }
        Ok(())
    }

    /// Counts a stop signal; true when it asks to stop now (the second one).
    fn on_signal(&mut self, sig: i32, running: bool) -> bool {
        self.signals += 1;
        match (self.signals, running) {
            (1, true) => {
                info!("signal {sig}: stopping after the running task; send it again to stop now")
            }
            (1, false) => info!("signal {sig}: stopping"),
            (_, true) => info!("signal {sig} again: killing the running task and handing it back"),
            (_, false) => {}
        }
        self.signals > 1 && running
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

    /// Hands on, again, each task this worker's agent held within its lease when this listener
    /// started (its earlier process stopped while the agent worked), and waits for each to end
    /// as any handed-off task: the agent keeps its claim and its token.
    fn take_over_kept(&mut self) -> Result<()> {
        for name in self.reg.kept().to_vec() {
            let path = self.ws.assigned(&self.opts.id).join(&name);
            let Ok(task) = task::read(&path) else {
                continue;
            };
            info!(
                "{} is held by this worker's agent from before this process started: handing it on again",
                task.spec.id
            );
            let attempt = task.attempt();
            self.hand_off(Box::new(ClaimedTask {
                task,
                path,
                attempt,
            }))?;
            if self.signals > 0 {
                break;
            }
        }
        Ok(())
    }

    /// Returns the tasks of this worker's earlier process, and of every gone worker, to pending/.
    fn recover_dead(&mut self) -> Result<()> {
        let kept = self.reg.kept().to_vec();
        let own = recover::recover_worker(
            self.ws,
            &self.opts.id,
            &format!(
                "worker {} restarted: its previous process stopped while holding the task",
                self.opts.id
            ),
            &kept,
        )?;
        for (id, disposition) in own {
            self.summary.recovered += 1;
            info!(
                "recovered {id} from {}: {}",
                self.opts.id,
                disposition.describe()
            );
        }
        let sweep = recover::sweep(self.ws, Some(&self.opts.id), &self.opts.id)?;
        for d in sweep.unblocked {
            info!("unblocked {d}: the tasks it depends on had finished");
        }
        for d in sweep.failed_dependents {
            warn!("failed {d}: a task it depends on had failed");
        }
        if sweep.reports_published > 0 {
            info!(
                "published {} report(s) that a dead worker had written but not yet published",
                sweep.reports_published
            );
        }
        for r in sweep.recovered {
            self.summary.recovered += 1;
            info!(
                "recovered {} from {}: {}; {}",
                r.task,
                r.worker,
                r.reason,
                r.disposition.describe()
            );
        }
        Ok(())
    }

    /// Counts how a claim ended, for the summary.
    /// Before a drain ends: logs the pending tasks this worker leaves behind, and why each is
    /// not claimed (the first few), so a batch that exits with work left says what held it.
    fn say_what_stays(&self) {
        let left = store::count_pending(self.ws).unwrap_or(0);
        let runs = self.opts.exec.is_some();
        let reasons: Vec<String> = claim::left_behind(self.ws, &self.opts.labels, 5, false)
            .unwrap_or_default()
            .into_iter()
            .map(|(id, waits)| {
                let why = match waits {
                    Some(claim::Waits::Labels(l)) => format!("requires label {l}"),
                    Some(claim::Waits::For(w)) => w,
                    None if !runs => "has no command".to_string(),
                    None => "claimed by another worker meanwhile".to_string(),
                };
                format!("{id} ({why})")
            })
            .collect();
        if left > 0 {
            info!(
                "exiting with {left} task(s) still pending that this worker cannot take now: {}{}",
                reasons.join(", "),
                if left > reasons.len() { ", ..." } else { "" }
            );
        }
    }

    fn count(&mut self, id: &str, disposition: &Disposition) {
        match disposition {
            Disposition::Completed => self.summary.completed += 1,
            Disposition::InReview => self.summary.in_review += 1,
            Disposition::Requeued => self.summary.retried += 1,
            Disposition::DeadLettered => {
                self.summary.failed += 1;
                self.summary.dead_lettered.push(id.to_string());
            }
            _ => {}
        }
    }
}

/// Whether a worker without --exec wants a pending file: not if the task has no command.
fn wants(path: &Path, no_command: &mut HashSet<String>) -> bool {
    let Ok(bytes) = durable::read_limited(path, task::MAX_TASK_FILE_BYTES) else {
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
