//! Reading for people: status, figures, the task list, waiting for tasks, and task logs.

pub mod listing;
pub mod logfile;
pub mod stats;
pub mod status;
pub mod waiting;
