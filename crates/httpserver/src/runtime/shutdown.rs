//! [`ShutdownHandle`] and signal handling.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::Shared;

/// Stops a running server gracefully from any thread: stop accepting, let
/// in-flight requests finish (their responses carry `Connection: close`),
/// close idle connections, and stop by `shutdown_timeout`.
///
/// # Examples
///
/// ```no_run
/// use httpserver::{Server, ServerConfig};
///
/// let server = Server::new(ServerConfig { port: 0, ..Default::default() });
/// let running = server.start()?;
/// let handle = running.shutdown_handle();
/// std::thread::spawn(move || {
///     std::thread::sleep(std::time::Duration::from_secs(1));
///     handle.shutdown();
/// });
/// running.wait(); // returns once drained
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ShutdownHandle {
    pub(crate) shared: Arc<Shared>,
}

impl ShutdownHandle {
    /// Begins a graceful shutdown (after `drain_delay`, if one is set).
    /// Calling it again does nothing.
    pub fn shutdown(&self) {
        self.shared.request_shutdown();
    }

    /// Is the server ready for traffic? False once shutdown has been asked
    /// for: a readiness probe should fail from then on.
    pub fn is_ready(&self) -> bool {
        self.shared.is_ready()
    }

    /// Has the server stopped?
    pub fn is_stopped(&self) -> bool {
        self.shared.state.load(Ordering::Acquire) == super::STOPPED
    }
}

/// Makes SIGTERM and SIGINT begin a graceful shutdown (the timer thread
/// polls the flag). A second signal while draining exits at once with
/// status 130, as impatient Ctrl-C users expect.
pub(crate) fn install_signal_handlers(shared: &Shared) -> std::io::Result<()> {
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        // Exit on a second signal, checked before the flag is set again.
        signal_hook::flag::register_conditional_shutdown(sig, 130, shared.signal_seen.clone())?;
        signal_hook::flag::register(sig, shared.signal_seen.clone())?;
        signal_hook::flag::register(sig, shared.signal.clone())?;
    }
    Ok(())
}
