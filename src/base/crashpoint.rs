//! Named points inside a move where a crash test can kill the process: with
//! `COORD_CRASH_AT=<event>:<step>` in its environment (for example `asked:moved`), a coord process
//! sends itself SIGKILL when it reaches that step of a move recording that event. The steps are
//! `rewritten` (the source rewritten in place, not yet moved) and `moved` (the commit's rename
//! done, nothing published or recorded); a message has `message:written` (whole in tmp/, in no
//! inbox) and `message:delivered` (in the first inbox, not yet in the others). Unset, it costs one environment look-up per process.

use std::sync::OnceLock;

/// Kills this process with SIGKILL if `COORD_CRASH_AT` names this step of this move.
pub fn reached(event: &str, step: &str) {
    static AT: OnceLock<Option<String>> = OnceLock::new();
    let at = AT.get_or_init(|| std::env::var("COORD_CRASH_AT").ok());
    let Some(at) = at else {
        return;
    };
    if at.split_once(':') == Some((event, step)) {
        let _ =
            rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
    }
}
