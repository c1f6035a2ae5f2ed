//! The one way to wait: a waker yields a message (a file-system event, a signal, a child's
//! exit), "rescan due" or "deadline", whichever comes first.
//!
//! Events are hints, never the truth: a woken caller looks at the folders again. A rescan
//! interval covers what events cannot see: changes made by other hosts on a network file
//! system, events lost to an overflow, or no events at all when the watch could not start.

use std::path::Path;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use crate::base::error::Result;
use crate::fs::doorbell;
use crate::fs::fsinfo;
use crate::fs::watch::{self, Change};
use crate::fs::workspace::Workspace;

/// How often a waiter rescans when its file-system events cannot be had.
pub const FALLBACK_RESCAN: Duration = Duration::from_secs(1);

/// What woke a waiter.
#[derive(Debug, PartialEq, Eq)]
pub enum Woke<M> {
    /// A message: an event from a watch, or whatever else was sent.
    Message(M),
    /// The rescan interval passed: look at the folders again.
    Rescan,
    /// The deadline passed.
    Deadline,
}

/// A source of wake-ups: a channel fed by watches (and anything else holding a sender), a
/// rescan interval, and the watches it keeps alive.
pub struct Waker<M> {
    tx: Sender<M>,
    rx: Receiver<M>,
    rescan: Option<Duration>,
    next_rescan: Option<Instant>,
    watches: Vec<Box<dyn std::any::Any + Send>>,
}

impl<M> std::fmt::Debug for Waker<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waker")
            .field("rescan", &self.rescan)
            .field("watches", &self.watches.len())
            .finish()
    }
}

impl<M: Send + 'static> Waker<M> {
    /// A waker with no watch yet, rescanning at `rescan` (never when None).
    pub fn new(rescan: Option<Duration>) -> Waker<M> {
        let (tx, rx) = mpsc::channel();
        Waker {
            tx,
            rx,
            rescan,
            next_rescan: rescan.map(|r| Instant::now() + r),
            watches: Vec::new(),
        }
    }

    /// A sender whose messages wake this waker.
    pub fn sender(&self) -> Sender<M> {
        self.tx.clone()
    }

    /// Keeps a watch alive as long as the waker.
    pub fn keep(&mut self, watch: impl std::any::Any + Send) {
        self.watches.push(Box::new(watch));
    }

    /// Sets the rescan interval, or rescans at it when it is shorter than the current one.
    pub fn rescan_at_most(&mut self, every: Duration) {
        let every = self.rescan.map_or(every, |r| r.min(every));
        self.rescan = Some(every);
        self.next_rescan = Some(Instant::now() + every);
    }

    /// Also wakes on each ring of the doorbell (other hosts' changes, which raise no event
    /// here); for waiters on a network file system, or that rescan for another reason.
    pub fn listen_for_doorbell(&mut self, ws: &Workspace, on_ring: impl Fn() + Send + 'static) {
        match doorbell::listen(ws, on_ring) {
            Ok(listener) => self.keep(listener),
            Err(e) => tracing::warn!("cannot listen for the doorbell: {e}; rescanning instead"),
        }
    }

    /// A message already waiting, without blocking.
    pub fn try_next(&mut self) -> Option<M> {
        self.rx.try_recv().ok()
    }

    /// Blocks until a message comes, the rescan is due, or `deadline` passes.
    pub fn wait(&mut self, deadline: Option<Instant>) -> Woke<M> {
        let until = match (deadline, self.next_rescan) {
            (Some(d), Some(r)) => Some(d.min(r)),
            (d, r) => d.or(r),
        };
        let got = match until {
            Some(until) => self
                .rx
                .recv_timeout(until.saturating_duration_since(Instant::now())),
            None => self.rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match got {
            Ok(m) => Woke::Message(m),
            Err(_) => {
                let now = Instant::now();
                match self.next_rescan {
                    Some(r) if now >= r && deadline.is_none_or(|d| r <= d) => {
                        self.next_rescan = self.rescan.map(|every| now + every);
                        Woke::Rescan
                    }
                    _ => Woke::Deadline,
                }
            }
        }
    }
}

impl<M: Send + 'static> Waker<M> {
    /// A waker for new names in `ws`'s pending/ (inotify arrivals, mapped by `map`), rescanning
    /// where events cannot see everything: on a network file system at its interval, and every
    /// second when the watch cannot start.
    pub fn for_arrivals(ws: &Workspace, map: fn(Change) -> M) -> Result<Waker<M>> {
        let mut waker = Waker::new(fsinfo::poll_interval(ws.root()));
        let tx = waker.sender();
        match watch::arrivals(&ws.pending(), move |c| {
            let _ = tx.send(map(c));
        }) {
            Ok(w) => waker.keep(w),
            Err(e) => {
                tracing::warn!("{e}; rescanning every second instead");
                waker.rescan_at_most(FALLBACK_RESCAN);
            }
        }
        if waker.rescan.is_some() {
            let tx = waker.sender();
            waker.listen_for_doorbell(ws, move || {
                let _ = tx.send(map(Change::Rescan));
            });
        }
        Ok(waker)
    }
}

impl Waker<()> {
    /// A waker for any change in `dirs` (each with its subfolders when its flag is set), for
    /// views that redraw or follow files; rescans as [`Waker::for_arrivals`] does.
    pub fn for_views(ws: &Workspace, dirs: &[(&Path, bool)]) -> Waker<()> {
        Waker::for_views_of(ws, dirs, |_| true)
    }

    /// As [`Waker::for_views`], woken only by events whose paths `wanted` accepts (an event
    /// with no paths means events were lost, and always wakes).
    pub fn for_views_of(
        ws: &Workspace,
        dirs: &[(&Path, bool)],
        wanted: impl Fn(&[std::path::PathBuf]) -> bool + Send + 'static,
    ) -> Waker<()> {
        let mut waker = Waker::new(fsinfo::poll_interval(ws.root()));
        let tx = waker.sender();
        match watch::watch_any(dirs, move |paths| {
            if paths.is_empty() || wanted(&paths) {
                let _ = tx.send(());
            }
        }) {
            Ok(w) => waker.keep(w),
            Err(e) => {
                tracing::warn!("{e}; looking once a second instead");
                waker.rescan_at_most(FALLBACK_RESCAN);
            }
        }
        if waker.rescan.is_some() {
            let tx = waker.sender();
            waker.listen_for_doorbell(ws, move || {
                let _ = tx.send(());
            });
        }
        waker
    }

    /// Waits for the next change (or rescan), then takes every change already queued behind it,
    /// so a burst costs one look. False when `deadline` passed first.
    pub fn next_change(&mut self, deadline: Option<Instant>) -> bool {
        let woke = !matches!(self.wait(deadline), Woke::Deadline);
        while self.try_next().is_some() {}
        woke
    }
}
