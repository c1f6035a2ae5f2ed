//! Decisions: which task a worker may claim and the one claim pipeline, dependencies, leases
//! and the one liveness judgement, recovery of gone workers, and the trust rule for commands.

pub mod claim;
pub mod depends;
pub mod gate;
pub mod lease;
pub mod outcome;
pub mod recover;
pub mod trust;
