//! [`ServerState`]: what health checks and metrics read about a server,
//! available before it starts.

use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock, Weak};

use super::Shared;

/// A read-only view of a server's state: readiness and load figures.
///
/// Get one from [`Server::state`](crate::Server::state) before the server
/// starts (handlers are registered before then); it begins to report once
/// the server runs. It holds no strong reference, so it never keeps a
/// stopped server alive.
///
/// # Examples
///
/// ```
/// use httpserver::{Server, ServerConfig};
///
/// let server = Server::new(ServerConfig { port: 0, ..Default::default() });
/// let state = server.state();
/// assert!(!state.is_ready()); // not started yet
/// let running = server.start()?;
/// assert!(state.is_ready());
/// assert_eq!(state.stats().open_connections, 0);
/// running.shutdown();
/// assert!(!state.is_ready());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct ServerState {
    shared: Arc<OnceLock<Weak<Shared>>>,
}

/// Load figures of a running server, read at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Client connections open.
    pub open_connections: usize,
    /// Requests waiting for a worker.
    pub queued: usize,
    /// Workers running a handler.
    pub busy_workers: usize,
    /// Worker threads alive.
    pub workers: usize,
}

impl ServerState {
    pub(crate) fn attach(&self, shared: &Arc<Shared>) {
        let _ = self.shared.set(Arc::downgrade(shared));
    }

    fn get(&self) -> Option<Arc<Shared>> {
        self.shared.get().and_then(Weak::upgrade)
    }

    /// Started, not told to stop, and not draining: a load balancer may
    /// send traffic. Turns false at once when shutdown is asked for, even
    /// while the `drain_delay` keeps the server serving.
    pub fn is_ready(&self) -> bool {
        self.get().is_some_and(|s| s.is_ready())
    }

    /// Started and not yet stopped.
    pub fn is_live(&self) -> bool {
        self.get()
            .is_some_and(|s| s.state.load(Ordering::Acquire) != super::STOPPED)
    }

    /// Current load figures (all zero before start and after stop).
    pub fn stats(&self) -> Stats {
        let Some(s) = self.get() else {
            return Stats::default();
        };
        Stats {
            open_connections: s.slab.open(),
            queued: s.pool.queued(),
            busy_workers: s.pool.busy(),
            workers: s.pool.threads.load(Ordering::Relaxed),
        }
    }
}
