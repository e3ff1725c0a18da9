//! [`Metrics`]: request counters, a latency histogram and the runtime's
//! load, in the Prometheus text exposition format (version 0.0.4).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use http::{Method, StatusCode};

use crate::middleware::{Middleware, Next};
use crate::{Handler, Request, Response, ServerState};

/// Methods counted by name; the rest count as `OTHER`.
const METHODS: [&str; 8] = [
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER",
];
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];
/// Histogram bucket bounds in seconds (Prometheus client defaults, plus
/// finer ones at the low end where most requests fall).
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Records every request that passes through it and renders what it saw,
/// with the server's load, at a `/metrics` endpoint.
///
/// Use it as server-wide middleware (outermost, so it sees 404s and the
/// answers of other middleware) and mount its [`endpoint`](Metrics::endpoint).
/// The latency measured runs from the arrival of the request's head
/// ([`Request::received_at`]) until the response is produced (so reading
/// the body counts), not until it is written to the client. Answers
/// the connection layer gives itself (400 for a malformed request, 408,
/// 503 when the queue is full) never reach middleware and are not counted.
///
/// Series: `httpserver_requests_total{method,status}` (status class),
/// `httpserver_request_duration_seconds` (histogram),
/// `httpserver_response_body_bytes_total`, `httpserver_open_connections`,
/// `httpserver_queued_requests`, `httpserver_workers_busy`,
/// `httpserver_workers_idle`.
///
/// # Examples
///
/// ```
/// use httpserver::handlers::Metrics;
/// use httpserver::{Server, ServerConfig};
///
/// let mut server = Server::new(ServerConfig::default());
/// let metrics = Metrics::new(server.state());
/// server.use_middleware(metrics.clone());
/// server.get("/metrics", metrics.endpoint());
/// ```
#[derive(Clone, Debug)]
pub struct Metrics {
    registry: Arc<Registry>,
    state: ServerState,
}

/// The counters, in shards: each thread adds to its own shard, so workers
/// on different cores never write to the same cache line (a shared counter
/// costs every request a cache-line transfer between cores). Rendering
/// sums the shards.
#[derive(Debug)]
struct Registry {
    shards: Box<[Shard]>,
}

/// Shards: threads beyond this many share them (still correct, as the
/// counters are atomic).
const SHARDS: usize = 16;

/// One thread's share of the counters, on cache lines of its own.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Shard {
    requests: [[AtomicU64; 5]; 8],
    /// Cumulative counts are computed at render time; each slot counts
    /// requests that fell in that bucket only (the last is +Inf).
    buckets: [AtomicU64; BUCKETS.len() + 1],
    duration_micros: AtomicU64,
    body_bytes: AtomicU64,
}

impl Registry {
    /// The calling thread's shard (threads are dealt shards in turn).
    fn shard(&self) -> &Shard {
        use std::sync::atomic::AtomicUsize;
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        thread_local! {
            static MINE: usize = NEXT.fetch_add(1, Ordering::Relaxed);
        }
        let i = MINE.try_with(|i| *i).unwrap_or(0);
        &self.shards[i % self.shards.len()]
    }

    /// `f` of every shard, summed.
    fn sum(&self, f: impl Fn(&Shard) -> &AtomicU64) -> u64 {
        self.shards
            .iter()
            .map(|s| f(s).load(Ordering::Relaxed))
            .fold(0, u64::wrapping_add)
    }
}

impl Metrics {
    /// A registry reporting the load of the server whose state this is.
    pub fn new(state: ServerState) -> Metrics {
        Metrics {
            registry: Arc::new(Registry {
                shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            }),
            state,
        }
    }

    /// Counts one request.
    fn record(&self, method: &Method, status: StatusCode, seconds: f64, body: Option<u64>) {
        let r = self.registry.shard();
        let m = METHODS
            .iter()
            .position(|&name| name == method.as_str())
            .unwrap_or(METHODS.len() - 1);
        let class = usize::from(status.as_u16() / 100).clamp(1, 5) - 1;
        r.requests[m][class].fetch_add(1, Ordering::Relaxed);
        let bucket = BUCKETS
            .iter()
            .position(|&le| seconds <= le)
            .unwrap_or(BUCKETS.len());
        r.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        r.duration_micros
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
        if let Some(n) = body {
            r.body_bytes.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let r = &self.registry;
        let mut out = String::with_capacity(4096);
        out.push_str(
            "# HELP httpserver_requests_total Requests answered, by method and status class.\n",
        );
        out.push_str("# TYPE httpserver_requests_total counter\n");
        for (m, method) in METHODS.iter().enumerate() {
            for (c, class) in CLASSES.iter().enumerate() {
                // Every series from the start, so that rate() sees the
                // first requests of each.
                let n = r.sum(|s| &s.requests[m][c]);
                let _ = writeln!(
                    out,
                    "httpserver_requests_total{{method=\"{method}\",status=\"{class}\"}} {n}"
                );
            }
        }
        out.push_str("# HELP httpserver_request_duration_seconds Time to produce a response.\n");
        out.push_str("# TYPE httpserver_request_duration_seconds histogram\n");
        let mut cumulative = 0;
        for (i, le) in BUCKETS.iter().enumerate() {
            cumulative += r.sum(|s| &s.buckets[i]);
            let _ = writeln!(
                out,
                "httpserver_request_duration_seconds_bucket{{le=\"{le}\"}} {cumulative}"
            );
        }
        cumulative += r.sum(|s| &s.buckets[BUCKETS.len()]);
        let _ = writeln!(
            out,
            "httpserver_request_duration_seconds_bucket{{le=\"+Inf\"}} {cumulative}"
        );
        let sum = r.sum(|s| &s.duration_micros) as f64 / 1e6;
        let _ = writeln!(out, "httpserver_request_duration_seconds_sum {sum}");
        let _ = writeln!(
            out,
            "httpserver_request_duration_seconds_count {cumulative}"
        );
        let stats = self.state.stats();
        let gauges = [
            (
                "httpserver_response_body_bytes_total",
                "counter",
                "Response body bytes handed to the connection (declared lengths; streamed bodies of unknown length are not counted).",
                r.sum(|s| &s.body_bytes),
            ),
            (
                "httpserver_open_connections",
                "gauge",
                "Client connections open.",
                stats.open_connections as u64,
            ),
            (
                "httpserver_queued_requests",
                "gauge",
                "Requests waiting for a worker.",
                stats.queued as u64,
            ),
            (
                "httpserver_workers_busy",
                "gauge",
                "Workers running a handler.",
                stats.busy_workers as u64,
            ),
            (
                "httpserver_workers_idle",
                "gauge",
                "Workers waiting for work.",
                stats.workers.saturating_sub(stats.busy_workers) as u64,
            ),
        ];
        for (name, kind, help, value) in gauges {
            let _ = write!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
            );
        }
        out
    }

    /// The `/metrics` handler.
    pub fn endpoint(&self) -> impl Handler {
        let this = self.clone();
        move |_: &Request| {
            Response::new(StatusCode::OK)
                .with_owned_body(
                    "text/plain; version=0.0.4; charset=utf-8",
                    this.render().into_bytes(),
                )
                .with_header(http::header::CACHE_CONTROL, "no-store")
        }
    }
}

impl Middleware for Metrics {
    fn handle(&self, req: &mut Request, next: Next<'_>) -> Response {
        // From when the head began to arrive (stamped by the runtime, so no
        // clock read here), else from now.
        let start = req.received_at().unwrap_or_else(Instant::now);
        let method = req.method().clone();
        let res = next.run(req);
        let body = if method == Method::HEAD {
            Some(0)
        } else {
            res.body().len()
        };
        self.record(&method, res.status(), start.elapsed().as_secs_f64(), body);
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_from_many_threads_add_up() {
        let m = Metrics::new(ServerState::default());
        // More threads than shards: some share one.
        let threads: Vec<_> = (0..SHARDS + 5)
            .map(|_| {
                let m = m.clone();
                std::thread::spawn(move || {
                    for _ in 0..100 {
                        m.record(&Method::GET, StatusCode::OK, 0.0001, Some(2));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let n = (SHARDS + 5) * 100;
        let text = m.render();
        assert!(text.contains(&format!(
            "httpserver_requests_total{{method=\"GET\",status=\"2xx\"}} {n}\n"
        )));
        assert!(text.contains(&format!("httpserver_request_duration_seconds_count {n}\n")));
        assert!(text.contains(&format!("httpserver_response_body_bytes_total {}\n", 2 * n)));
    }

    #[test]
    fn renders_counts_histogram_and_gauges() {
        let m = Metrics::new(ServerState::default());
        m.record(&Method::GET, StatusCode::OK, 0.0002, Some(10));
        m.record(&Method::GET, StatusCode::NOT_FOUND, 0.003, Some(5));
        m.record(
            &Method::from_bytes(b"PURGE").unwrap(),
            StatusCode::OK,
            20.0,
            None,
        );
        let text = m.render();
        assert!(text.contains("httpserver_requests_total{method=\"GET\",status=\"2xx\"} 1\n"));
        assert!(text.contains("httpserver_requests_total{method=\"GET\",status=\"4xx\"} 1\n"));
        assert!(text.contains("httpserver_requests_total{method=\"OTHER\",status=\"2xx\"} 1\n"));
        // Series not yet seen are there at zero.
        assert!(text.contains("httpserver_requests_total{method=\"POST\",status=\"5xx\"} 0\n"));
        assert!(text.contains("httpserver_request_duration_seconds_bucket{le=\"0.0005\"} 1\n"));
        assert!(text.contains("httpserver_request_duration_seconds_bucket{le=\"0.005\"} 2\n"));
        assert!(text.contains("httpserver_request_duration_seconds_bucket{le=\"10\"} 2\n"));
        assert!(text.contains("httpserver_request_duration_seconds_bucket{le=\"+Inf\"} 3\n"));
        assert!(text.contains("httpserver_request_duration_seconds_count 3\n"));
        assert!(text.contains("httpserver_response_body_bytes_total 15\n"));
        assert!(text.contains("httpserver_open_connections 0\n"));
        // Every sample line is `name{labels} value` or `name value`.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (_, value) = line.rsplit_once(' ').unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }
}
