//! A listener (`coord worker --watch` without `--exec`) hands a task without a command to an
//! agent, keeps the claim alive, and waits for another process to finish it.

use tracing::{info, warn};

use super::{Wake, Worker};
use crate::base::error::Result;
use crate::fs::wake::Woke;
use crate::policy::claim::ClaimedTask;
use crate::state::TaskState;
use crate::state::store;
use crate::verbs::handoff::Assignment;

impl Worker<'_> {
    /// Gives the task to the caller's hand-off callback and returns when another process has
    /// completed, failed or released it, or when a signal stops the worker.
    pub(super) fn hand_off(&mut self, claimed: Box<ClaimedTask>) -> Result<()> {
        let ws = self.ws;
        let id = claimed.task.spec.id.clone();
        let assignment = Assignment::new(
            ws,
            &self.opts.id,
            claimed.task.clone(),
            claimed.path.clone(),
            false,
        );
        (self.on_hand_off)(&assignment);
        info!(
            "handed {id} to an agent: waiting for `{}` (or fail/release) from any process",
            assignment.complete_command()
        );
        while claimed.path.exists() {
            self.heartbeat()?;
            match self.waker.wait(Some(self.idle_deadline())) {
                Woke::Message(Wake::Signal(sig)) => {
                    self.signals += 1;
                    info!(
                        "signal {sig}: stopping; {id} stays with {} for `coord complete`, under a lease of {}s from now",
                        self.opts.id, assignment.lease_secs
                    );
                    return Ok(());
                }
                Woke::Message(other) => self.apply(other)?,
                Woke::Rescan | Woke::Deadline => self.heartbeat()?,
            }
        }
        match store::locate(ws, &id)?.map(|(state, _)| state) {
            Some(TaskState::Completed) => {
                self.summary.completed += 1;
                info!("completed {id} (by `coord complete`)");
            }
            Some(TaskState::Failed) => {
                self.summary.failed += 1;
                warn!("failed {id} (by `coord fail`); moved to failed/");
            }
            Some(TaskState::Review) => {
                self.summary.in_review += 1;
                info!("{id} passed its checks; waiting for review in review/");
            }
            Some(TaskState::Waiting) => {
                self.summary.asked += 1;
                info!("{id} asked a question; waiting for its answer in waiting/");
            }
            _ => {
                self.summary.retried += 1;
                info!("{id} went back to pending/ (failed with attempts left, or released)");
            }
        }
        Ok(())
    }
}
