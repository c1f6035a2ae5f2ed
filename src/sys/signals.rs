//! Turning SIGINT, SIGTERM and SIGHUP into messages: signal-hook's handler wakes a thread, which
//! hands each signal on.
//!
//! No signal is blocked, so commands a worker starts get the default signal state.

use std::io;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// Installs handlers for SIGINT, SIGTERM and SIGHUP and starts a thread that calls `on_signal`
/// with each signal received. Call once per process.
pub fn forward(on_signal: impl Fn(i32) + Send + 'static) -> io::Result<()> {
    let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::Builder::new()
        .name("coord-signals".into())
        .spawn(move || {
            for sig in signals.forever() {
                on_signal(sig);
            }
        })?;
    Ok(())
}
