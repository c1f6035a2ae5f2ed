//! Files and folders: durable primitives (no-replace renames, folders opened without following
//! links), file-system facts, watching and waking, the doorbell, and the workspace's layout on disk.

pub mod doorbell;
pub mod durable;
pub mod fsinfo;
pub mod wake;
pub mod watch;
pub mod workspace;
