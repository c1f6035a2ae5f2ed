//! The test modules and the helpers they share.

mod chaos;
mod concurrency;
mod crash;
mod cycle;
mod depends;
mod doctor;
mod errors;
mod handoff;
mod harnesses;
mod hooks;
mod hostile;
mod layout;
mod limits;
mod mcp;
mod operate;
mod processes;
mod queueing;
mod racing;
mod restart;
mod routing;
mod sharing;
mod status;
mod support;
mod watching;
mod worker;
