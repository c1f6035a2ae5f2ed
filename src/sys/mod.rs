//! Processes: starting a command in its own group, supervising it (TERM, grace, KILL), reaping
//! its descendants, forwarding signals, and the worker's log.

pub mod logging;
pub mod reap;
pub mod runner;
pub mod signals;
pub mod supervise;
