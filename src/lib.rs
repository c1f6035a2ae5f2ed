//! coord: a durable task queue in a directory.
//!
//! Tasks are files; each state is a folder; every state change is one atomic rename or link of a
//! complete file. Workers claim with a rename, run, record the outcome, and wait on file-system
//! events for more. See docs/protocol.md for the protocol and its crash argument.

#[macro_use]
mod names;

pub mod checks;
pub mod claim;
pub mod crashpoint;
pub mod depends;
pub mod doctor;
pub mod doorbell;
pub mod durable;
pub mod error;
pub mod events;
pub mod exit;
pub mod fsinfo;
pub mod gate;
pub mod handoff;
pub mod hook;
pub mod host;
pub mod ids;
pub mod keeper;
pub mod lease;
pub mod listing;
pub mod logfile;
pub mod logging;
pub mod messages;
pub mod operate;
pub mod questions;
pub mod queue;
pub mod reap;
pub mod recover;
pub mod report;
pub mod review;
pub mod runner;
pub mod signals;
pub mod state;
pub mod stats;
pub mod status;
pub mod store;
pub mod supervise;
pub mod task;
pub mod time;
pub mod trust;
pub mod waiting;
pub mod wake;
pub mod watch;
pub mod worker;
pub mod workspace;

pub use error::{Error, Result};
pub use workspace::Workspace;
