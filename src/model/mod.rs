//! What a task is: its spec, coord's state beside it, acceptance checks on its deliverables,
//! and the report of an attempt. No file in here decides where a task lives.

pub mod checks;
pub mod report;
pub mod task;
