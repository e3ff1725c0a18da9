//! Rate limiting: a budget of requests per key, with the IETF `RateLimit`
//! headers and `429 Too Many Requests`.
//!
//! Each key (by default the client's IP address) has a [`Quota`] of
//! `burst` requests that refills at `burst` per `period`. The arithmetic is
//! GCRA, the generic cell rate algorithm: a token bucket kept as one
//! timestamp per key (the "theoretical arrival time"), so a decision is a
//! compare and a store, and a key whose bucket is full again holds nothing
//! worth keeping.
//!
//! Over the limit, the answer is 429 with `Retry-After` (whole seconds,
//! rounded up) and, like every answer when headers are on (the default),
//! the fields of draft-ietf-httpapi-ratelimit-headers:
//!
//! ```text
//! RateLimit-Policy: "default";q=100;w=60
//! RateLimit: "default";r=0;t=12
//! ```
//!
//! (`q` requests per `w` seconds; `r` remaining, `t` seconds until the
//! budget is whole again.)
//!
//! **Client addresses behind proxies.** `X-Forwarded-For` and `Forwarded`
//! are read only when the connection comes from a trusted proxy
//! ([`RateLimit::trust_proxies`]); the client is then the right-most
//! address in the chain that is not itself a trusted proxy, so a client
//! cannot pick its own key by sending the header. Any other key can come
//! from [`RateLimit::key`].
//!
//! **Memory.** The built-in store ([`MemoryStore`]) is a sharded map of
//! 64-bit key hashes to 64-bit timestamps. When a shard reaches its share of
//! [`MemoryStore::max_keys`] it drops every key whose bucket is full (those
//! are indistinguishable from new keys); if every key is still active, the
//! new key is limited as if it had just spent its whole burst (fail
//! closed), so memory stays bounded under any number of distinct keys. The
//! cost per key is measured by `tests/rate_limit.rs` and written in the
//! README.
//!
//! **Several instances.** A [`RateStore`] decides; with the `redis` cargo
//! feature, `RedisStore` keeps the timestamps in Redis (one atomic script
//! per decision, Redis's own clock), so instances behind one load balancer
//! share one limit.
//!
//! # Examples
//!
//! ```
//! use httpserver::middleware::{Quota, RateLimit};
//! use std::time::Duration;
//!
//! let mut server = httpserver::Server::new(Default::default());
//! // 100 requests per second per client IP, bursts of up to 100.
//! server.use_middleware(RateLimit::new(Quota::per_second(100)));
//! // Per API key, 1000 an hour, behind a proxy on 10.0.0.0/8.
//! let mut api = httpserver::Router::new();
//! api.use_middleware(
//!     RateLimit::new(Quota::new(1000, Duration::from_secs(3600)))
//!         .trust_proxies(["10.0.0.0/8"])?
//!         .key(|req| req.header("x-api-key").map(str::to_owned)),
//! );
//! server.mount("/api", api);
//! # Ok::<(), httpserver::middleware::RateLimitError>(())
//! ```

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::header::{HeaderName, HeaderValue};
use http::StatusCode;

use super::{Middleware, Next};
use crate::{Request, Response};

#[cfg(feature = "redis")]
mod redis_store;
#[cfg(feature = "redis")]
pub use redis_store::RedisStore;

/// A budget: `burst` requests, refilled at `burst` per `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    burst: u32,
    period: Duration,
}

impl Quota {
    /// `burst` requests per `period` (both at least 1 / 1 µs).
    pub fn new(burst: u32, period: Duration) -> Quota {
        Quota {
            burst: burst.max(1),
            period: period.max(Duration::from_micros(1)),
        }
    }

    /// `n` requests per second.
    pub fn per_second(n: u32) -> Quota {
        Quota::new(n, Duration::from_secs(1))
    }

    /// `n` requests per minute.
    pub fn per_minute(n: u32) -> Quota {
        Quota::new(n, Duration::from_secs(60))
    }

    /// Requests a full bucket allows at once.
    pub fn burst(&self) -> u32 {
        self.burst
    }

    /// How long a bucket takes to refill.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Time between two requests at the sustained rate, in nanoseconds.
    fn interval_ns(&self) -> u64 {
        let ns = u64::try_from(self.period.as_nanos()).unwrap_or(u64::MAX);
        (ns / u64::from(self.burst)).max(1)
    }
}

impl std::str::FromStr for Quota {
    type Err = RateLimitError;

    /// `N/s`, `N/m`, `N/h`, `N/d` (also `N/sec`, `N/minute`, ...) or
    /// `N/30s`.
    ///
    /// ```
    /// use httpserver::middleware::Quota;
    /// use std::time::Duration;
    /// assert_eq!("100/s".parse::<Quota>()?, Quota::per_second(100));
    /// assert_eq!("5/10m".parse::<Quota>()?, Quota::new(5, Duration::from_secs(600)));
    /// assert!("fast".parse::<Quota>().is_err());
    /// # Ok::<(), httpserver::middleware::RateLimitError>(())
    /// ```
    fn from_str(s: &str) -> Result<Quota, RateLimitError> {
        let bad = || RateLimitError::InvalidQuota(s.to_string());
        let (n, per) = s.trim().split_once('/').ok_or_else(bad)?;
        let n: u32 = n.trim().parse().map_err(|_| bad())?;
        let per = per.trim();
        let digits = per.bytes().take_while(u8::is_ascii_digit).count();
        let count: u64 = if digits == 0 {
            1
        } else {
            per[..digits].parse().map_err(|_| bad())?
        };
        let unit = match &per[digits..] {
            "s" | "sec" | "second" => 1,
            "m" | "min" | "minute" => 60,
            "h" | "hour" => 3600,
            "d" | "day" => 86_400,
            _ => return Err(bad()),
        };
        if n == 0 || count == 0 {
            return Err(bad());
        }
        Ok(Quota::new(n, Duration::from_secs(count * unit)))
    }
}

/// A rate-limit setting that cannot work, found when it is made.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RateLimitError {
    /// Not `N/unit`.
    InvalidQuota(String),
    /// Not an IP address or CIDR block.
    InvalidProxy(String),
}

impl fmt::Display for RateLimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RateLimitError::InvalidQuota(q) => write!(
                f,
                "invalid rate limit {q:?}: expected N/s, N/m, N/h or N/d (like 100/s), N > 0"
            ),
            RateLimitError::InvalidProxy(p) => write!(
                f,
                "invalid trusted proxy {p:?}: expected an IP address or a CIDR block like 10.0.0.0/8"
            ),
        }
    }
}

impl std::error::Error for RateLimitError {}

/// One decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// May the request go ahead?
    pub allowed: bool,
    /// Requests still allowed right now.
    pub remaining: u32,
    /// Until the budget is whole again.
    pub reset: Duration,
    /// When denied: until one request will be allowed.
    pub retry_after: Duration,
}

/// Why a store could not decide.
#[derive(Debug)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

/// Keeps the per-key state and decides. [`MemoryStore`] is the built-in
/// one; implement this to share limits some other way.
pub trait RateStore: Send + Sync + 'static {
    /// Spends one request of `key`'s budget if it can.
    ///
    /// # Errors
    ///
    /// When the backend cannot be reached in time; the middleware then
    /// applies its failure policy.
    fn check(&self, key: &[u8], quota: &Quota) -> Result<Decision, StoreError>;
}

/// GCRA on a theoretical arrival time `tat` (ns): the new `tat` and the
/// decision, for a request at `now`.
fn gcra(tat: Option<u64>, now: u64, quota: &Quota) -> (Option<u64>, Decision) {
    let t = quota.interval_ns();
    let window = t.saturating_mul(u64::from(quota.burst));
    let base = tat.unwrap_or(now).max(now);
    let new_tat = base.saturating_add(t);
    let used = new_tat - now;
    if used > window {
        let decision = Decision {
            allowed: false,
            remaining: 0,
            reset: Duration::from_nanos(base - now),
            retry_after: Duration::from_nanos(used - window),
        };
        return (tat, decision);
    }
    let remaining = u32::try_from((window - used) / t).unwrap_or(u32::MAX);
    let decision = Decision {
        allowed: true,
        remaining,
        reset: Duration::from_nanos(used),
        retry_after: Duration::ZERO,
    };
    (Some(new_tat), decision)
}

/// Shards of the memory store (a power of two).
const SHARDS: usize = 64;
/// A full shard is swept at most this often (ns), so a flood of new keys
/// cannot make every request scan the shard.
const SWEEP_EVERY_NS: u64 = 100_000_000;

/// One shard: key hash to theoretical arrival time (ns since the store's
/// start).
#[derive(Default)]
struct Shard {
    map: HashMap<u64, u64>,
    last_sweep: Option<u64>,
}

/// The built-in store: a sharded map in this process. See the
/// [module docs](self) for how its memory is bounded.
pub struct MemoryStore {
    shards: Box<[Mutex<Shard>]>,
    hasher: RandomState,
    start: Instant,
    per_shard: usize,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("keys", &self.len())
            .field("max_keys", &(self.per_shard * SHARDS))
            .finish()
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new()
    }
}

impl MemoryStore {
    /// Default bound on the number of keys held.
    pub const DEFAULT_MAX_KEYS: usize = 1 << 20;

    /// A store holding at most [`Self::DEFAULT_MAX_KEYS`] keys.
    pub fn new() -> MemoryStore {
        MemoryStore::max_keys(Self::DEFAULT_MAX_KEYS)
    }

    /// A store holding at most `n` keys (rounded up to a multiple of 64).
    pub fn max_keys(n: usize) -> MemoryStore {
        MemoryStore {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            hasher: RandomState::new(),
            start: Instant::now(),
            per_shard: n.div_ceil(SHARDS).max(1),
        }
    }

    /// Keys held now (active buckets, and full ones not yet swept).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| super::lock(s).map.len()).sum()
    }

    /// Is nothing held?
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

impl RateStore for MemoryStore {
    fn check(&self, key: &[u8], quota: &Quota) -> Result<Decision, StoreError> {
        let hash = self.hasher.hash_one(key);
        let shard = &self.shards[(hash as usize) & (SHARDS - 1)];
        let now = self.now();
        let mut shard = super::lock(shard);
        let tat = shard.map.get(&hash).copied();
        if tat.is_none() && shard.map.len() >= self.per_shard {
            // Full buckets are the same as absent keys: forget them.
            let due = shard
                .last_sweep
                .is_none_or(|t| now.saturating_sub(t) >= SWEEP_EVERY_NS);
            if due {
                shard.map.retain(|_, tat| *tat > now);
                shard.last_sweep = Some(now);
            }
            if shard.map.len() >= self.per_shard {
                // Every held key is active: treat the newcomer as having
                // spent its burst rather than grow without bound.
                let spent =
                    now.saturating_add(quota.interval_ns().saturating_mul(u64::from(quota.burst)));
                return Ok(gcra(Some(spent), now, quota).1);
            }
        }
        let (new_tat, decision) = gcra(tat, now, quota);
        if let Some(t) = new_tat {
            shard.map.insert(hash, t);
        }
        Ok(decision)
    }
}

/// An address or CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cidr {
    net: IpAddr,
    bits: u8,
}

impl Cidr {
    fn parse(s: &str) -> Option<Cidr> {
        let (addr, bits) = match s.trim().split_once('/') {
            Some((a, b)) => (a, Some(b)),
            None => (s.trim(), None),
        };
        let net: IpAddr = addr.parse().ok()?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let bits = match bits {
            Some(b) => b.parse::<u8>().ok().filter(|b| *b <= max)?,
            None => max,
        };
        Some(Cidr { net, bits })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.bits)).unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.bits))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// IPv4-mapped IPv6 addresses as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// What to do when the store cannot decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnStoreError {
    /// Let the request through (logged; the default).
    Allow,
    /// Answer 503.
    Deny,
}

type KeyFn = dyn Fn(&Request) -> Option<String> + Send + Sync;

/// The rate-limit middleware: see the [module docs](self).
#[must_use]
pub struct RateLimit {
    quota: Quota,
    store: Arc<dyn RateStore>,
    key: Option<Arc<KeyFn>>,
    proxies: Vec<Cidr>,
    headers: bool,
    policy_name: String,
    on_error: OnStoreError,
    policy_value: HeaderValue,
    last_error_log: Mutex<Option<Instant>>,
}

impl fmt::Debug for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimit")
            .field("quota", &self.quota)
            .field("proxies", &self.proxies)
            .field("headers", &self.headers)
            .field("on_error", &self.on_error)
            .finish()
    }
}

impl RateLimit {
    /// `quota` per client IP in a [`MemoryStore`], headers on, policy name
    /// `default`, no trusted proxies, failures of the store let requests
    /// through.
    pub fn new(quota: Quota) -> RateLimit {
        let mut rl = RateLimit {
            quota,
            store: Arc::new(MemoryStore::new()),
            key: None,
            proxies: Vec::new(),
            headers: true,
            policy_name: "default".into(),
            on_error: OnStoreError::Allow,
            policy_value: HeaderValue::from_static(""),
            last_error_log: Mutex::new(None),
        };
        rl.policy_value = rl.make_policy_value();
        rl
    }

    /// Keeps the state in `store` (default a [`MemoryStore`]).
    pub fn store(mut self, store: impl RateStore) -> Self {
        self.store = Arc::new(store);
        self
    }

    /// Shares one store between several limiters.
    pub fn shared_store(mut self, store: Arc<dyn RateStore>) -> Self {
        self.store = store;
        self
    }

    /// Derives the key from the request; `None` exempts the request. The
    /// default is the client IP (see [`RateLimit::trust_proxies`]).
    pub fn key(mut self, f: impl Fn(&Request) -> Option<String> + Send + Sync + 'static) -> Self {
        self.key = Some(Arc::new(f));
        self
    }

    /// Proxies (addresses or CIDR blocks) whose `X-Forwarded-For` and
    /// `Forwarded` headers name the client (default none).
    ///
    /// # Errors
    ///
    /// [`RateLimitError::InvalidProxy`] for an entry that is neither.
    pub fn trust_proxies<I, S>(mut self, proxies: I) -> Result<Self, RateLimitError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for p in proxies {
            let p = p.as_ref();
            let c = Cidr::parse(p).ok_or_else(|| RateLimitError::InvalidProxy(p.to_string()))?;
            self.proxies.push(c);
        }
        Ok(self)
    }

    /// Whether allowed answers carry `RateLimit` and `RateLimit-Policy`
    /// too (default true; 429 answers always do).
    pub fn headers(mut self, on: bool) -> Self {
        self.headers = on;
        self
    }

    /// The policy's name in the headers (default `default`); a short token.
    pub fn policy_name(mut self, name: &str) -> Self {
        if !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            self.policy_name = name.to_string();
            self.policy_value = self.make_policy_value();
        }
        self
    }

    /// What to do when the store fails (default [`OnStoreError::Allow`]).
    pub fn on_store_error(mut self, policy: OnStoreError) -> Self {
        self.on_error = policy;
        self
    }

    fn make_policy_value(&self) -> HeaderValue {
        let w = self.quota.period.as_secs().max(1);
        HeaderValue::from_str(&format!(
            "\"{}\";q={};w={w}",
            self.policy_name, self.quota.burst
        ))
        .unwrap_or(HeaderValue::from_static("\"default\""))
    }

    /// The client address used as the default key.
    pub fn client_ip(&self, req: &Request) -> Option<IpAddr> {
        let peer = canonical(req.peer_addr()?.ip());
        if !self.proxies.iter().any(|c| c.contains(peer)) {
            return Some(peer);
        }
        // The chain, nearest hop last: Forwarded (RFC 7239) first, else
        // X-Forwarded-For.
        let mut chain: Vec<IpAddr> = Vec::new();
        for (name, value) in req.headers() {
            if name.eq_ignore_ascii_case("forwarded") {
                chain.extend(forwarded_for(value));
            }
        }
        if chain.is_empty() {
            for (name, value) in req.headers() {
                if name.eq_ignore_ascii_case("x-forwarded-for") {
                    let text = String::from_utf8_lossy(value);
                    chain.extend(text.split(',').filter_map(parse_node));
                }
            }
        }
        // Right to left, skipping our own proxies: the first other address
        // is the client as far as the trusted part of the chain knows.
        for ip in chain.iter().rev() {
            let ip = canonical(*ip);
            if !self.proxies.iter().any(|c| c.contains(ip)) {
                return Some(ip);
            }
        }
        // Every hop is a trusted proxy: the left-most is the client.
        chain.first().copied().map(canonical).or(Some(peer))
    }

    fn decide(&self, key: &[u8]) -> Result<Decision, StoreError> {
        self.store.check(key, &self.quota)
    }

    fn log_store_error(&self, e: &StoreError) {
        let mut last = super::lock(&self.last_error_log);
        let due = last.is_none_or(|t| t.elapsed() >= Duration::from_secs(5));
        if due {
            *last = Some(Instant::now());
            tracing::warn!(error = %e, policy = ?self.on_error, "rate limit store failed");
        }
    }

    fn set_headers(&self, res: &mut Response, d: &Decision) {
        let t = ceil_secs(d.reset);
        let value = format!("\"{}\";r={};t={t}", self.policy_name, d.remaining);
        let h = res.headers_mut();
        // The String's buffer becomes the value: no second copy.
        if let Ok(v) = HeaderValue::from_maybe_shared(bytes::Bytes::from(value.into_bytes())) {
            h.insert(HeaderName::from_static("ratelimit"), v);
        }
        h.insert(
            HeaderName::from_static("ratelimit-policy"),
            self.policy_value.clone(),
        );
    }
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// The `for=` addresses of a `Forwarded` value, in order.
fn forwarded_for(value: &[u8]) -> Vec<IpAddr> {
    let text = String::from_utf8_lossy(value);
    text.split(',')
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                if !k.trim().eq_ignore_ascii_case("for") {
                    return None;
                }
                parse_node(v.trim().trim_matches('"'))
            })
        })
        .collect()
}

/// An address from a forwarding header: `1.2.3.4`, `1.2.3.4:80`,
/// `[::1]`, `[::1]:80` or `::1`.
fn parse_node(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    if let Ok(ip) = s.parse() {
        return Some(ip);
    }
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    let (host, _port) = s.rsplit_once(':')?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

impl Middleware for RateLimit {
    fn handle(&self, req: &mut Request, next: Next<'_>) -> Response {
        let mut ip_key = [0u8; 16];
        let owned;
        let key: &[u8] = match &self.key {
            Some(f) => match f(req) {
                Some(k) => {
                    owned = k;
                    owned.as_bytes()
                }
                None => return next.run(req),
            },
            None => match self.client_ip(req) {
                Some(IpAddr::V4(v4)) => {
                    ip_key[..4].copy_from_slice(&v4.octets());
                    &ip_key[..4]
                }
                Some(IpAddr::V6(v6)) => {
                    ip_key = v6.octets();
                    &ip_key
                }
                None => return next.run(req),
            },
        };
        let decision = match self.decide(key) {
            Ok(d) => d,
            Err(e) => {
                self.log_store_error(&e);
                return match self.on_error {
                    OnStoreError::Allow => next.run(req),
                    OnStoreError::Deny => Response::new(StatusCode::SERVICE_UNAVAILABLE)
                        .with_header(http::header::RETRY_AFTER, "1")
                        .with_text("rate limit unavailable\n"),
                };
            }
        };
        if !decision.allowed {
            let mut res = Response::new(StatusCode::TOO_MANY_REQUESTS)
                .with_header(
                    http::header::RETRY_AFTER,
                    ceil_secs(decision.retry_after).max(1).to_string(),
                )
                .with_text("too many requests\n");
            self.set_headers(&mut res, &decision);
            return res;
        }
        let mut res = next.run(req);
        if self.headers {
            self.set_headers(&mut res, &decision);
        }
        res
    }
}

#[cfg(test)]
mod tests;
