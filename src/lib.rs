//! coord: a durable task queue in a directory.
//!
//! Tasks are files; each state is a folder; every state change is one atomic rename or link of a
//! complete file. Workers claim with a rename, run, record the outcome, and wait on file-system
//! events for more. See docs/protocol.md for the protocol and its crash argument, and
//! docs/architecture.md for the layers below, each of which uses only the ones above it in
//! this list.

#[macro_use]
pub mod base;
pub mod cli;
pub mod fs;
pub mod model;
pub mod policy;
pub mod state;
pub mod sys;
pub mod verbs;
pub mod views;

pub use base::error::{Error, Result};
pub use fs::workspace::Workspace;
