//! Turning SIGINT and SIGTERM into messages: blocked in every thread, received by one thread.

use std::io;

/// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread (and threads it starts afterwards).
///
/// Call this before any other thread is started, then [`forward`].
pub fn block() -> io::Result<libc::sigset_t> {
    // SAFETY: the set is initialised by sigemptyset before use; pthread_sigmask only reads it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGHUP);
        let rc = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        Ok(set)
    }
}

/// Starts a thread that waits for the blocked signals and calls `on_signal` with each.
pub fn forward(set: libc::sigset_t, on_signal: impl Fn(i32) + Send + 'static) -> io::Result<()> {
    std::thread::Builder::new()
        .name("coord-signals".into())
        .spawn(move || {
            loop {
                let mut sig: libc::c_int = 0;
                // SAFETY: `set` is a valid signal set and `sig` a valid out-pointer.
                let rc = unsafe { libc::sigwait(&set, &mut sig) };
                if rc == 0 {
                    on_signal(sig);
                }
            }
        })?;
    Ok(())
}
