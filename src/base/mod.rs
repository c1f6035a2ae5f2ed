//! The foundation every layer may use: typed errors and exit codes, timestamps, ids checked
//! before any path is built, name tables, host identity, and the crash points tests aim at.

#[macro_use]
mod names;

pub mod crashpoint;
pub mod error;
pub mod exit;
pub mod host;
pub mod ids;
pub mod time;
