//! [`ServerConfig`]: every limit, timeout and pool size of a server, and
//! its everyday middleware ([`MiddlewareConfig`]), with defaults, serde
//! support and validation that names the offending field.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::codec;

mod middleware;

pub use middleware::{
    CompressionConfig, CorsConfig, GuardConfig, LogConfig, MiddlewareConfig, RateLimitConfig,
    SecurityConfig,
};

/// Everything that configures a [`Server`](crate::Server).
///
/// A plain struct: build it with `..Default::default()`, or deserialize it
/// (unknown keys are rejected; durations are written `"30s"`, `"500ms"`,
/// `"2m"` or as a number of seconds).
///
/// # Examples
///
/// ```
/// use httpserver::ServerConfig;
/// use std::time::Duration;
///
/// let config = ServerConfig { port: 3000, head_timeout: Duration::from_secs(5), ..Default::default() };
/// assert!(config.validate().is_ok());
///
/// let bad = ServerConfig { max_workers: 0, ..Default::default() };
/// assert_eq!(bad.validate().unwrap_err().field(), "max_workers");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on: an IPv4 or IPv6 address. Default `127.0.0.1`;
    /// use `0.0.0.0` or `::` to accept connections from other hosts.
    pub host: String,
    /// TCP port; 0 picks a free one. Default 8080.
    pub port: u16,
    /// Listen backlog. Default 1024.
    pub backlog: u32,
    /// Set SO_REUSEPORT so several processes can share the port. Default off.
    pub reuse_port: bool,
    /// Worker threads always alive. Default: the number of CPUs.
    pub min_workers: usize,
    /// Most handlers running at once; the pool grows to this under load.
    /// Default 64.
    pub max_workers: usize,
    /// Pin each of the `min_workers` threads started with the server to one
    /// of the CPUs the process may run on, in turn (nginx's
    /// `worker_cpu_affinity auto`). Any worker still serves any connection,
    /// so a worker whose CPU is busy with something else strands nothing;
    /// threads added under load are not pinned. Measured with 1 MiB files:
    /// about 40 % less CPU per response (bench/STATIC.md). Default off.
    pub pin_workers: bool,
    /// How long a busy worker that finds no event waiting sleeps before it
    /// waits for one. Under load, requests keep arriving: those that come
    /// during the nap are taken together by one `epoll_wait`, where a worker
    /// blocked in `epoll_wait` would be woken again and again. Each wake-up
    /// is paid by the CPU that sends the data (the kernel wakes the worker
    /// from inside the client's write, or from the network interrupt), and
    /// on a virtual machine it is an exit to the hypervisor. A worker naps
    /// only after a pass whose events came without sleeping or several at
    /// once, so a lone client's requests never wait for a nap. The nap is
    /// slept in steps of at most 20 µs with a look for events after each,
    /// so a request that arrives during a longer one waits at most a step
    /// plus the timer's latency (some 20-40 µs on a VM), not the whole nap.
    /// See bench/README.md for what it saved there. 0 turns it off. At most
    /// 1 ms. Default 20 µs (`"20us"`): one step.
    #[serde(with = "duration")]
    pub wait_nap: Duration,
    /// An extra worker idle this long retires. Default 60 s.
    #[serde(with = "duration")]
    pub worker_idle_timeout: Duration,
    /// Requests waiting for a worker when all are busy; beyond this they are
    /// answered 503 with Retry-After. Default 256.
    pub queue_capacity: usize,
    /// Most open connections; one more is answered 503 and closed.
    /// Default 25 000 (the process's open-file limit is raised to fit when it can be).
    pub max_connections: usize,
    /// Requests served on one connection before it is closed; 0 means no
    /// limit. Default 0.
    pub max_requests_per_connection: usize,
    /// Time allowed to receive a whole request head, from its first byte
    /// (or from accept for a new connection). Over it: 408 and close.
    /// Default 30 s.
    #[serde(with = "duration")]
    pub head_timeout: Duration,
    /// Longest pause while receiving a request body. Over it: 408 and
    /// close. Default 30 s.
    #[serde(with = "duration")]
    pub body_timeout: Duration,
    /// How long an idle keep-alive connection is kept open. Default 30 s.
    #[serde(with = "duration")]
    pub keep_alive_timeout: Duration,
    /// Longest pause while the client is not reading a response. Over it:
    /// the connection is closed. Default 30 s.
    #[serde(with = "duration")]
    pub write_timeout: Duration,
    /// On shutdown, how long in-flight requests may take to finish.
    /// Default 30 s.
    #[serde(with = "duration")]
    pub shutdown_timeout: Duration,
    /// On shutdown, how long to keep accepting and serving as usual after
    /// readiness turns false, so load balancers stop sending first (a
    /// Kubernetes rollout wants a few seconds). Default 0.
    #[serde(with = "duration")]
    pub drain_delay: Duration,
    /// Longest request line. Over it: 414. Default 8 KiB.
    pub max_request_line: usize,
    /// Largest request head. Over it: 431. Default 64 KiB.
    pub max_head_size: usize,
    /// Most header fields. Over it: 431. Default 100.
    pub max_headers: usize,
    /// Largest request body. Over it: 413. Default 1 MiB.
    pub max_body_size: u64,
    /// The `Server` header value; `None` sends none. Default `httpserver`.
    pub server_header: Option<String>,
    /// Drain and stop on SIGTERM and SIGINT when running with
    /// [`Server::run`](crate::Server::run). Default on.
    pub handle_signals: bool,
    /// The everyday middleware (access log, request ids, CORS,
    /// compression, rate limit, security headers, auth, timeout), installed
    /// around the server's own; a TOML file sets them in tables such as
    /// `[middleware.cors]`. Default: all off.
    #[serde(skip_serializing_if = "MiddlewareConfig::is_default")]
    pub middleware: MiddlewareConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            host: "127.0.0.1".to_string(),
            port: 8080,
            backlog: 1024,
            reuse_port: false,
            min_workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            max_workers: 64,
            pin_workers: false,
            wait_nap: Duration::from_micros(20),
            worker_idle_timeout: Duration::from_secs(60),
            queue_capacity: 256,
            max_connections: 25_000,
            max_requests_per_connection: 0,
            head_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(30),
            keep_alive_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(30),
            drain_delay: Duration::ZERO,
            max_request_line: codec::DEFAULT_MAX_REQUEST_LINE,
            max_head_size: codec::DEFAULT_MAX_HEAD,
            max_headers: codec::DEFAULT_MAX_HEADERS,
            max_body_size: 1024 * 1024,
            server_header: Some("httpserver".to_string()),
            handle_signals: true,
            middleware: MiddlewareConfig::default(),
        }
    }
}

/// A configuration value that cannot work, naming the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    field: &'static str,
    message: String,
}

impl ConfigError {
    pub(crate) fn new(field: &'static str, message: String) -> ConfigError {
        ConfigError { field, message }
    }

    /// The field at fault, as spelled in [`ServerConfig`]
    /// (`max_workers`, `middleware.cors.origins`).
    pub fn field(&self) -> &'static str {
        self.field
    }

    /// What is wrong with its value.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid config field `{}`: {}", self.field, self.message)
    }
}

impl std::error::Error for ConfigError {}

impl ServerConfig {
    /// Checks that every value can work together.
    ///
    /// # Errors
    ///
    /// The first field whose value is out of range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let fail = |field, message: String| Err(ConfigError { field, message });
        if self.host.parse::<std::net::IpAddr>().is_err() {
            return fail(
                "host",
                format!("{:?} is not an IPv4 or IPv6 address", self.host),
            );
        }
        if self.max_workers == 0 {
            return fail("max_workers", "must be at least 1".into());
        }
        if self.min_workers > self.max_workers {
            return fail(
                "min_workers",
                format!(
                    "{} is more than max_workers ({})",
                    self.min_workers, self.max_workers
                ),
            );
        }
        if self.max_connections == 0 || self.max_connections > (1 << 24) {
            return fail("max_connections", "must be between 1 and 16777216".into());
        }
        for (field, value) in [
            ("head_timeout", self.head_timeout),
            ("body_timeout", self.body_timeout),
            ("keep_alive_timeout", self.keep_alive_timeout),
            ("write_timeout", self.write_timeout),
            ("worker_idle_timeout", self.worker_idle_timeout),
        ] {
            if value < Duration::from_millis(10) {
                return fail(field, format!("{value:?} is shorter than 10ms"));
            }
        }
        if self.wait_nap > Duration::from_millis(1) {
            return fail(
                "wait_nap",
                format!("{:?} is longer than 1ms", self.wait_nap),
            );
        }
        if self.max_request_line < 16 {
            return fail("max_request_line", "must be at least 16 bytes".into());
        }
        if self.max_head_size < self.max_request_line || self.max_head_size > (1 << 30) {
            return fail(
                "max_head_size",
                "must be at least max_request_line and at most 1 GiB".into(),
            );
        }
        if self.max_headers == 0 {
            return fail("max_headers", "must be at least 1".into());
        }
        if let Some(server) = &self.server_header {
            if http::HeaderValue::from_str(server).is_err() {
                return fail("server_header", "is not a valid header value".into());
            }
        }
        self.middleware.validate()
    }

    pub(crate) fn limits(&self) -> codec::Limits {
        codec::Limits {
            max_request_line: self.max_request_line,
            max_head: self.max_head_size,
            max_headers: self.max_headers,
        }
    }
}

/// Parses a duration written as in the configuration: `"30s"`, `"250ms"`,
/// `"2m"`, `"1h"` or a number of seconds.
///
/// # Errors
///
/// A message saying what was expected.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(httpserver::parse_duration("250ms"), Ok(Duration::from_millis(250)));
/// assert!(httpserver::parse_duration("soon").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    duration::parse(text)
}

/// Serde for durations as `"30s"`, `"250ms"`, `"2m"`, `"1h"` or seconds.
pub(crate) mod duration {
    use std::time::Duration;

    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    /// Parses `"30s"`, `"250ms"`, `"20us"`, `"2m"`, `"1h"` or `"30"` (seconds).
    pub(crate) fn parse(text: &str) -> Result<Duration, String> {
        let text = text.trim();
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (num, unit) = text.split_at(split);
        let n: u64 = num
            .parse()
            .map_err(|_| format!("{text:?} is not a duration like \"30s\" or \"500ms\""))?;
        match unit.trim() {
            "" | "s" => Ok(Duration::from_secs(n)),
            "us" | "µs" => Ok(Duration::from_micros(n)),
            "ms" => Ok(Duration::from_millis(n)),
            "m" => Ok(Duration::from_secs(n.saturating_mul(60))),
            "h" => Ok(Duration::from_secs(n.saturating_mul(3600))),
            other => Err(format!(
                "unknown unit {other:?} in {text:?} (use us, ms, s, m or h)"
            )),
        }
    }

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        if !d.subsec_nanos().is_multiple_of(1_000_000) {
            s.serialize_str(&format!("{}us", d.as_micros()))
        } else if d.subsec_millis() != 0 || d.as_secs() == 0 {
            s.serialize_str(&format!("{}ms", d.as_millis()))
        } else {
            s.serialize_str(&format!("{}s", d.as_secs()))
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Duration;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a duration such as \"30s\", \"500ms\" or a number of seconds")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
                Ok(Duration::from_secs(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
                u64::try_from(v)
                    .map(Duration::from_secs)
                    .map_err(|_| E::custom("a duration cannot be negative"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations() {
        assert_eq!(duration::parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(duration::parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(duration::parse("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(duration::parse("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(duration::parse("7"), Ok(Duration::from_secs(7)));
        assert_eq!(duration::parse("20us"), Ok(Duration::from_micros(20)));
        assert_eq!(duration::parse("20µs"), Ok(Duration::from_micros(20)));
        assert!(duration::parse("7 parsecs").is_err());
        assert!(duration::parse("-1s").is_err());
        assert!(duration::parse("").is_err());
    }

    #[test]
    fn round_trips_through_json_and_rejects_unknown_fields() {
        let config = ServerConfig {
            head_timeout: Duration::from_millis(1500),
            ..Default::default()
        };
        let text = serde_json::to_string(&config).expect("serializes");
        assert!(text.contains("\"head_timeout\":\"1500ms\""), "{text}");
        assert!(text.contains("\"wait_nap\":\"20us\""), "{text}");
        let back: ServerConfig = serde_json::from_str(&text).expect("deserializes");
        assert_eq!(back, config);
        let partial: ServerConfig =
            serde_json::from_str(r#"{"port": 9, "keep_alive_timeout": "5s"}"#).expect("ok");
        assert_eq!(
            (partial.port, partial.keep_alive_timeout),
            (9, Duration::from_secs(5))
        );
        let err = serde_json::from_str::<ServerConfig>(r#"{"prot": 9}"#).unwrap_err();
        assert!(err.to_string().contains("prot"), "{err}");
    }

    #[test]
    fn validation_names_the_field() {
        let cases = [
            (
                ServerConfig {
                    host: "localhost:80".into(),
                    ..Default::default()
                },
                "host",
            ),
            (
                ServerConfig {
                    min_workers: 9,
                    max_workers: 8,
                    ..Default::default()
                },
                "min_workers",
            ),
            (
                ServerConfig {
                    max_connections: 0,
                    ..Default::default()
                },
                "max_connections",
            ),
            (
                ServerConfig {
                    wait_nap: Duration::from_millis(2),
                    ..Default::default()
                },
                "wait_nap",
            ),
            (
                ServerConfig {
                    head_timeout: Duration::ZERO,
                    ..Default::default()
                },
                "head_timeout",
            ),
            (
                ServerConfig {
                    max_head_size: 10,
                    ..Default::default()
                },
                "max_head_size",
            ),
            (
                ServerConfig {
                    server_header: Some("a\nb".into()),
                    ..Default::default()
                },
                "server_header",
            ),
        ];
        for (config, field) in cases {
            let err = config.validate().unwrap_err();
            assert_eq!(err.field(), field);
            assert!(err.to_string().contains(field));
        }
        assert!(ServerConfig::default().validate().is_ok());
        assert!(ServerConfig {
            host: "::1".into(),
            ..Default::default()
        }
        .validate()
        .is_ok());
    }
}
