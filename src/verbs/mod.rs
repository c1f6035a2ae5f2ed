//! What users do: queue, run a worker (and its keeper), hand a task to an agent and take it
//! back, hooks, operator verbs, the doctor, questions, review and messages.

pub mod doctor;
pub mod handoff;
pub mod hook;
pub mod keeper;
pub mod messages;
pub mod operate;
pub mod questions;
pub mod queue;
pub mod review;
pub mod worker;
