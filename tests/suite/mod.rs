//! The test modules and the helpers they share.

mod concurrency;
mod cycle;
mod errors;
mod queueing;
mod status;
mod support;
mod worker;
