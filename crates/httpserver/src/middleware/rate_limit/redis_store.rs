//! A [`RateStore`] in Redis, so several instances enforce one limit.
//!
//! Each decision is one `EVALSHA` of a small Lua script that runs the same
//! GCRA step as the memory store, atomically, on Redis's own clock (`TIME`),
//! so instances need no synchronised clocks. A key lives only while its
//! bucket is not full (`PX` expiry), so Redis holds nothing for idle
//! clients.
//!
//! Every call is bounded: connecting, writing and reading each time out
//! after [`RedisStore::timeout`] (default 100 ms). After a failure the store
//! reports errors at once for [`RedisStore::retry_after`] (default 500 ms)
//! instead of making every request wait for a dead server; the middleware
//! then applies its [`OnStoreError`](super::OnStoreError) policy. A worker
//! is never held longer than one timeout.
//!
//! ```no_run
//! use httpserver::middleware::{OnStoreError, Quota, RateLimit, RedisStore};
//!
//! let store = RedisStore::new("redis://127.0.0.1:6379/")?;
//! let mut server = httpserver::Server::new(Default::default());
//! server.use_middleware(
//!     RateLimit::new(Quota::per_second(100))
//!         .store(store)
//!         .on_store_error(OnStoreError::Allow),
//! );
//! # Ok::<(), httpserver::middleware::StoreError>(())
//! ```

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{Decision, Quota, RateStore, StoreError};
use crate::middleware::lock;

/// GCRA in microseconds; KEYS[1] the bucket, ARGV[1] the interval,
/// ARGV[2] the burst window. Returns {allowed, remaining, reset µs,
/// retry-after µs}.
const SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new_tat = tat + interval
local used = new_tat - now
if used > window then
  return {0, 0, tat - now, used - window}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.floor(used / 1000) + 1)
return {1, math.floor((window - used) / interval), used, 0}
";

/// Idle connections kept for reuse.
const POOL_MAX: usize = 64;

/// The Redis store: see the [module docs](self).
pub struct RedisStore {
    client: redis::Client,
    script: redis::Script,
    pool: Mutex<Vec<redis::Connection>>,
    prefix: Vec<u8>,
    timeout: Duration,
    retry_after: Duration,
    down_until: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("timeout", &self.timeout)
            .field("retry_after", &self.retry_after)
            .finish()
    }
}

impl RedisStore {
    /// A store for the server at `url` (`redis://host:port/db`); nothing is
    /// connected until the first request.
    ///
    /// # Errors
    ///
    /// If the URL is not a Redis URL.
    pub fn new(url: &str) -> Result<RedisStore, StoreError> {
        let client = redis::Client::open(url)
            .map_err(|e| StoreError(format!("invalid Redis URL {url:?}: {e}")))?;
        Ok(RedisStore {
            client,
            script: redis::Script::new(SCRIPT),
            pool: Mutex::new(Vec::new()),
            prefix: b"httpserver:rl:".to_vec(),
            timeout: Duration::from_millis(100),
            retry_after: Duration::from_millis(500),
            down_until: Mutex::new(None),
        })
    }

    /// Bound on connecting and on each reply (default 100 ms).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// After a failure, how long to answer errors at once before trying
    /// Redis again (default 500 ms).
    #[must_use]
    pub fn retry_after(mut self, pause: Duration) -> Self {
        self.retry_after = pause;
        self
    }

    /// Prefix of every key written (default `httpserver:rl:`).
    #[must_use]
    pub fn key_prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.as_bytes().to_vec();
        self
    }

    fn connection(&self) -> Result<redis::Connection, StoreError> {
        if let Some(c) = lock(&self.pool).pop() {
            return Ok(c);
        }
        let con = self
            .client
            .get_connection_with_timeout(self.timeout)
            .map_err(|e| StoreError(format!("Redis connect: {e}")))?;
        con.set_read_timeout(Some(self.timeout))
            .and_then(|()| con.set_write_timeout(Some(self.timeout)))
            .map_err(|e| StoreError(format!("Redis timeouts: {e}")))?;
        Ok(con)
    }

    fn mark_down(&self) {
        *lock(&self.down_until) = Some(Instant::now() + self.retry_after);
    }
}

impl RateStore for RedisStore {
    fn check(&self, key: &[u8], quota: &Quota) -> Result<Decision, StoreError> {
        if lock(&self.down_until).is_some_and(|t| Instant::now() < t) {
            return Err(StoreError("Redis unavailable (retrying shortly)".into()));
        }
        let mut con = match self.connection() {
            Ok(c) => c,
            Err(e) => {
                self.mark_down();
                return Err(e);
            }
        };
        let interval = (quota.interval_ns() / 1000).max(1);
        let window = interval.saturating_mul(u64::from(quota.burst()));
        let mut full_key = self.prefix.clone();
        full_key.extend_from_slice(key);
        let reply: Result<Vec<i64>, _> = self
            .script
            .key(full_key)
            .arg(interval)
            .arg(window)
            .invoke(&mut con);
        match reply {
            Ok(v) if v.len() == 4 => {
                let mut pool = lock(&self.pool);
                if pool.len() < POOL_MAX {
                    pool.push(con);
                }
                let micros = |i: usize| Duration::from_micros(u64::try_from(v[i]).unwrap_or(0));
                Ok(Decision {
                    allowed: v[0] == 1,
                    remaining: u32::try_from(v[1]).unwrap_or(0),
                    reset: micros(2),
                    retry_after: micros(3),
                })
            }
            Ok(v) => Err(StoreError(format!("unexpected Redis reply {v:?}"))),
            Err(e) => {
                self.mark_down();
                Err(StoreError(format!("Redis: {e}")))
            }
        }
    }
}
