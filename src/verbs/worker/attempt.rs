//! Running one claimed task: the trust check, the command under supervision, its checks, its
//! report, and the move that records the outcome.

use std::path::Path;
use std::time::Instant;

use serde_json::Value;
use tracing::{info, warn};

use super::{Wake, Worker};
use crate::base::error;
use crate::base::error::Result;
use crate::base::host;
use crate::fs::durable;
use crate::fs::wake::Woke;
use crate::model::checks;
use crate::model::report::{Attempt, Report};
use crate::policy::claim::ClaimedTask;
use crate::policy::gate;
use crate::policy::lease;
use crate::policy::outcome;
use crate::policy::trust;
use crate::state::events;
use crate::state::{self, Disposition, End, EndKind, layout, locks};
use crate::sys::reap;
use crate::sys::runner::{self, Job};
use crate::sys::supervise::{Ending, Supervision};

/// The largest result file a command may write, in bytes.
const MAX_RESULT_BYTES: u64 = 1 << 20;

impl Worker<'_> {
    /// Runs one claimed task to its end, then clears the mark of a run still being stopped
    /// ([`crate::policy::lease::mark_run`]): only once this attempt's command, its checks and its own
    /// end are over may the task, moved on by another process meanwhile, be claimed again. A
    /// mark is made under this worker's claims lock while the task is held here, so once this
    /// attempt's end has taken that lock, any mark is already there; one made later needs the
    /// task held here again, a new attempt.
    pub(super) fn run_task(&mut self, claimed: Box<ClaimedTask>) -> Result<()> {
        let id = claimed.task.spec.id.clone();
        let ran = self.attempt(claimed);
        if lease::clear_run(self.ws, &self.opts.id, &id) {
            gate::ring(self.ws);
        }
        ran
    }

    /// One attempt, in steps: the trust check, the command (or the hand-off to an agent), how
    /// it ended, the checks, the report, and the move that records it.
    fn attempt(&mut self, claimed: Box<ClaimedTask>) -> Result<()> {
        let spec = &claimed.task.spec;
        let id = spec.id.clone();
        info!(
            "TASK ASSIGNED {id} (attempt {}/{}): {}",
            claimed.attempt,
            spec.max_attempts(),
            spec.description
        );
        if self.set_aside_distrusted(&claimed)? {
            return Ok(());
        }
        let Some(command) = self.opts.exec.clone().or_else(|| spec.command.clone()) else {
            return match self.listening() {
                true => self.hand_off(claimed),
                false => self.leave_without_command(&claimed),
            };
        };
        let started = host::now();
        let clock = Instant::now();
        let log = layout::task_log_path(self.ws, &id, claimed.attempt);
        // A temp name of this process: if the worker dies, the leftovers sweep removes it.
        let result_file = self.ws.tmp().join(durable::unique_tmp_name("result"));
        let job = Job {
            command: &command,
            cwd: self.ws.project(),
            log: &log,
            env: self.task_env(&claimed, &result_file),
        };
        let ending = self.run_command(&claimed, &job)?;
        leftovers(&id, &log);
        let result = take_result(&result_file);
        let Some(reason) = self.failure_of(&claimed, &ending)? else {
            return Ok(());
        };
        let timeout = spec.timeout_secs.map(std::time::Duration::from_secs);
        let verifier = checks::Verifier::new(job.env.clone(), timeout, &log);
        let validation = checks::run(
            self.ws.project(),
            &spec.output_files,
            &claimed.task.acceptance(),
            reason.is_none().then_some(&verifier),
        );
        let reason = reason.or_else(|| checks::reason(&validation));
        let report = Report::of_attempt(Attempt {
            task: &claimed.task,
            worker: &self.opts.id,
            started,
            duration_ms: clock.elapsed().as_millis() as u64,
            exit_code: match &ending {
                Ending::Exited(status) => status.code(),
                _ => None,
            },
            reason: reason.clone(),
            validation,
            log: Some(log.display().to_string()),
            result,
            note: None,
        });
        self.record(&claimed, &report, reason)
    }

    /// Sets the task aside, unrun, when another user could have written its file; says whether
    /// it did.
    fn set_aside_distrusted(&mut self, claimed: &ClaimedTask) -> Result<bool> {
        let Some(distrust) = trust::problem(&claimed.path, self.ws.shared_group()) else {
            return Ok(false);
        };
        let id = &claimed.task.spec.id;
        let reason = format!(
            "not run: another user could have written this task file: {}",
            distrust.problem
        );
        warn!("{id}: {reason}");
        let lock = locks::claims(self.ws, &self.opts.id)?;
        state::set_aside(
            &lock,
            self.ws,
            &layout::file_name(id),
            &claimed.path,
            &reason,
        )?;
        self.summary.invalid += 1;
        Ok(true)
    }

    /// Leaves a task without a command in pending/, for a worker with --exec or an agent.
    fn leave_without_command(&mut self, claimed: &ClaimedTask) -> Result<()> {
        let reason = "no command, and the worker has no --exec";
        let d = self.end(claimed, EndKind::Released, reason, None)?;
        let id = claimed.task.spec.id.clone();
        warn!(
            "{id} has no command and this worker has no --exec: left in pending/ ({})",
            d.describe()
        );
        self.no_command.insert(id);
        Ok(())
    }

    /// The task's `COORD_*` variables, with its result file, and its question and answer.
    fn task_env(&self, claimed: &ClaimedTask, result_file: &Path) -> Vec<(&'static str, String)> {
        let id = &claimed.task.spec.id;
        let mut env = runner::task_env(self.ws, &self.opts.id, id, &claimed.path, claimed.attempt);
        env.push(("COORD_RESULT_FILE", result_file.display().to_string()));
        if let (Some(q), Some(a)) = (&claimed.task.coord.question, &claimed.task.coord.answer) {
            env.push(("COORD_QUESTION", q.text.clone()));
            env.push(("COORD_ANSWER", a.text.clone()));
        }
        env
    }

    /// Starts the command, records `started`, and supervises it to its end.
    fn run_command(&mut self, claimed: &ClaimedTask, job: &Job) -> Result<Ending> {
        let id = &claimed.task.spec.id;
        let child = match runner::spawn(job) {
            Ok(child) => child,
            Err(e) => return Ok(Ending::CannotStart(e.to_string())),
        };
        info!("running {id}: {} (log {})", job.command, job.log.display());
        let worker = Some(self.opts.id.as_str());
        events::one(
            self.ws,
            events::Kind::Started,
            id,
            worker,
            Some(claimed.attempt),
        );
        self.wait_child(child, claimed.task.spec.timeout_secs, &claimed.path)
    }

    /// Why the attempt failed, from how its command ended: `Some(None)` when the command
    /// succeeded, `Some(Some(reason))` when it failed; None when the attempt is already over
    /// (the task was taken away or asked a question, or the worker was stopped: released).
    fn failure_of(
        &mut self,
        claimed: &ClaimedTask,
        ending: &Ending,
    ) -> Result<Option<Option<String>>> {
        let id = &claimed.task.spec.id;
        Ok(Some(match ending {
            Ending::Cancelled => {
                match self.ws.waiting().join(layout::file_name(id)).exists() {
                    true => {
                        self.summary.asked += 1;
                        info!("{id} asked a question (waiting/); its command was stopped")
                    }
                    false => info!("{id} was cancelled while it ran; its command was stopped"),
                }
                let worker = Some(self.opts.id.as_str());
                events::one(
                    self.ws,
                    events::Kind::Stopped,
                    id,
                    worker,
                    Some(claimed.attempt),
                );
                return Ok(None);
            }
            Ending::Interrupted => {
                let reason = "the worker was stopped while running it";
                let d = self.end(claimed, EndKind::Released, reason, None)?;
                info!("released {id}: {}", d.describe());
                self.summary.interrupted = true;
                return Ok(None);
            }
            Ending::Exited(status) if status.success() => None,
            Ending::Exited(status) => Some(runner::describe(status)),
            Ending::TimedOut(secs) => Some(format!(
                "timeout: still running after {secs}s, process group killed"
            )),
            Ending::CannotStart(e) => Some(format!("cannot start the command: {e}")),
        }))
    }

    /// Records the attempt: completes the task (or submits it for review) when nothing went
    /// wrong, else fails it (retried while attempts remain); counts and logs the outcome.
    fn record(
        &mut self,
        claimed: &ClaimedTask,
        report: &Report,
        reason: Option<String>,
    ) -> Result<()> {
        let id = &claimed.task.spec.id;
        let ms = report.duration_ms;
        let disposition = match &reason {
            None => {
                let lock = locks::claims(self.ws, &self.opts.id)?;
                outcome::complete(lock, self.ws, &claimed.path, &claimed.task, report)?
            }
            Some(r) => self.end(claimed, EndKind::Failed { retry: true }, r, Some(report))?,
        };
        self.count(id, &disposition);
        let why = reason.map(|r| format!(": {r}")).unwrap_or_default();
        match disposition {
            Disposition::Completed => info!("completed {id} in {ms} ms"),
            Disposition::InReview => info!(
                "{id} passed its checks in {ms} ms; waiting for review in review/ (`coord approve {id}`)"
            ),
            Disposition::Requeued => info!(
                "failed {id} in {ms} ms{why}; back in pending/ for attempt {}",
                claimed.attempt + 1
            ),
            Disposition::DeadLettered => {
                warn!("failed {id} in {ms} ms{why}; out of attempts, moved to failed/")
            }
            other => warn!("{id} finished{why} but {}", other.describe()),
        }
        Ok(())
    }

    /// Ends the claim without completing it ([`outcome::end`]).
    fn end(
        &mut self,
        claimed: &ClaimedTask,
        kind: EndKind,
        reason: &str,
        report: Option<&Report>,
    ) -> Result<Disposition> {
        let lock = locks::claims(self.ws, &self.opts.id)?;
        let end = End {
            kind,
            reason,
            report,
            snooze_until: None,
        };
        outcome::end(lock, self.ws, &claimed.path, &claimed.task, end)
    }

    /// The worker's one thread that waits for each command to end and says so through the
    /// waker (started with the first command; one thread for the worker's life instead of one
    /// per task).
    fn reaper(&mut self) -> Result<std::sync::mpsc::Sender<std::process::Child>> {
        if let Some(reaper) = &self.reaper {
            return Ok(reaper.clone());
        }
        let (reaper, children) = std::sync::mpsc::channel::<std::process::Child>();
        let tx = self.waker.sender();
        std::thread::Builder::new()
            .name("coord-reaper".into())
            .spawn(move || {
                for child in children {
                    let _ = tx.send(Wake::Exited(reap::wait_child(child)));
                }
            })
            .map_err(|e| error::Error::io("start a thread in", self.ws.root(), e))?;
        self.reaper = Some(reaper.clone());
        Ok(reaper)
    }

    /// Waits for the command to exit while beating, and stops its group on a timeout, when the
    /// task is taken away, or on a second signal.
    fn wait_child(
        &mut self,
        child: std::process::Child,
        timeout_secs: Option<u64>,
        held: &Path,
    ) -> Result<Ending> {
        let pid = child.id();
        self.reaper()?.send(child).map_err(|_| {
            error::Error::io(
                "wait for",
                Path::new("/bin/sh"),
                std::io::Error::other("the reaper thread stopped"),
            )
        })?;
        let mut sup = Supervision::start(pid, timeout_secs);
        loop {
            self.heartbeat()?;
            let beat = Instant::now() + self.beat_every();
            let until = sup.deadline().map_or(beat, |d| d.min(beat));
            match self.waker.wait(Some(until)) {
                Woke::Message(Wake::Exited(status)) => {
                    let status = status
                        .map_err(|e| error::Error::io("wait for", Path::new("/bin/sh"), e))?;
                    return Ok(sup.ending(status));
                }
                Woke::Message(Wake::Signal(sig)) => {
                    if self.on_signal(sig, true) {
                        sup.interrupt();
                    }
                }
                Woke::Message(Wake::Held) | Woke::Rescan => {
                    if !held.exists() {
                        sup.cancel();
                    }
                }
                Woke::Message(other) => self.apply(other)?,
                Woke::Deadline => {
                    if !held.exists() {
                        sup.cancel();
                    }
                    sup.on_deadline();
                }
            }
        }
    }
}

/// Kills what the command left running when it ended (a background job, a `setsid` child): a
/// task's processes end with its attempt. Says so in the task's log and the worker's.
fn leftovers(id: &str, log: &Path) {
    let n = reap::kill_all();
    if n == 0 {
        return;
    }
    let line = format!("coord: killed {n} process(es) the command left running when it ended\n");
    if let Ok(mut file) = durable::open_append(log) {
        use std::io::Write;
        let _ = file.write_all(line.as_bytes());
    }
    warn!("{id}: {}", line.trim_end().trim_start_matches("coord: "));
}

/// Removes what the command left at its result path (a file, a FIFO, even a folder); what
/// cannot be removed is left to the leftovers sweep, and never stops the worker.
fn clear(path: &Path) {
    let gone = match std::fs::symlink_metadata(path) {
        Err(_) => Ok(()),
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
    };
    if let Err(e) = gone {
        warn!("cannot remove {}: {e}", path.display());
    }
}

/// Reads and removes the result file the command wrote, if it wrote one.
fn take_result(path: &Path) -> Option<Value> {
    match std::fs::symlink_metadata(path) {
        // The command wrote no result file (the common case): nothing to read or clear.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        _ => {
            let result = read_result(path);
            clear(path);
            result
        }
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
