//! [`Health`]: Kubernetes-style `/livez`, `/readyz` and `/healthz`.

use std::sync::Arc;

use http::StatusCode;
use serde_json::json;

use crate::{Handler, Request, Response, ServerState};

type Check = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// Liveness, readiness and named health checks.
///
/// - `livez`: 200 while the process serves at all.
/// - `readyz`: 200 when the server is ready (started, no shutdown asked
///   for) and every check passes; 503 otherwise. It turns 503 the moment
///   SIGTERM arrives, while `drain_delay` keeps the server serving.
/// - `healthz`: both, as JSON naming each check; 200 or 503.
///
/// # Examples
///
/// ```
/// use httpserver::handlers::Health;
/// use httpserver::{Server, ServerConfig};
///
/// let mut server = Server::new(ServerConfig::default());
/// let health = Health::new(server.state()).check("disk", || Ok(()));
/// server.get("/livez", health.livez());
/// server.get("/readyz", health.readyz());
/// server.get("/healthz", health.healthz());
/// ```
#[derive(Clone)]
pub struct Health {
    state: ServerState,
    checks: Arc<Vec<(String, Check)>>,
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Health")
            .field(
                "checks",
                &self.checks.iter().map(|c| &c.0).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Health {
    /// Health endpoints for the server whose state this is.
    pub fn new(state: ServerState) -> Health {
        Health {
            state,
            checks: Arc::new(Vec::new()),
        }
    }

    /// Adds a named check run by `readyz` and `healthz`: `Ok(())` when
    /// healthy, or a reason. Checks run on the probing request's worker;
    /// keep them quick. Endpoints taken earlier keep the checks they saw,
    /// so add every check first.
    #[must_use]
    pub fn check(
        mut self,
        name: &str,
        check: impl Fn() -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        let mut checks: Vec<(String, Check)> = self.checks.iter().cloned().collect();
        checks.push((name.to_string(), Arc::new(check)));
        self.checks = Arc::new(checks);
        self
    }

    /// The `/livez` handler.
    pub fn livez(&self) -> impl Handler {
        let state = self.state.clone();
        move |_: &Request| {
            if state.is_live() {
                probe(StatusCode::OK, "ok\n")
            } else {
                probe(StatusCode::SERVICE_UNAVAILABLE, "stopping\n")
            }
        }
    }

    /// The `/readyz` handler.
    pub fn readyz(&self) -> impl Handler {
        let this = self.clone();
        move |_: &Request| {
            if !this.state.is_ready() {
                return probe(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "not ready: shutting down\n",
                );
            }
            let failed: Vec<String> = this
                .run_checks()
                .into_iter()
                .filter_map(|(name, r)| r.err().map(|e| format!("{name}: {e}")))
                .collect();
            if failed.is_empty() {
                probe(StatusCode::OK, "ok\n")
            } else {
                let text = format!("not ready\n{}\n", failed.join("\n"));
                probe(StatusCode::SERVICE_UNAVAILABLE, &text)
            }
        }
    }

    /// The `/healthz` handler: a JSON report.
    pub fn healthz(&self) -> impl Handler {
        let this = self.clone();
        move |_: &Request| {
            let live = this.state.is_live();
            let ready = this.state.is_ready();
            let mut checks = serde_json::Map::new();
            let mut all_ok = live && ready;
            for (name, result) in this.run_checks() {
                all_ok &= result.is_ok();
                let entry = match result {
                    Ok(()) => json!({"status": "ok"}),
                    Err(e) => json!({"status": "fail", "error": e}),
                };
                checks.insert(name.to_string(), entry);
            }
            let status = if all_ok {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            let body = json!({
                "status": if all_ok { "ok" } else { "fail" },
                "live": live,
                "ready": ready,
                "checks": checks,
            });
            Response::new(status)
                .with_json(&body)
                .with_header(http::header::CACHE_CONTROL, "no-store")
        }
    }

    fn run_checks(&self) -> Vec<(&str, Result<(), String>)> {
        self.checks
            .iter()
            .map(|(name, check)| {
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check()))
                    .unwrap_or_else(|_| Err("check panicked".to_string()));
                (name.as_str(), result)
            })
            .collect()
    }
}

fn probe(status: StatusCode, text: &str) -> Response {
    Response::new(status)
        .with_text(text)
        .with_header(http::header::CACHE_CONTROL, "no-store")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Server, ServerConfig};

    fn call(h: &impl Handler) -> (u16, String) {
        let req = Request::from_http(http::Request::get("/").body(Vec::new()).unwrap()).unwrap();
        let res = h.call(&req);
        (
            res.status().as_u16(),
            String::from_utf8_lossy(res.body_bytes().unwrap_or_default()).into_owned(),
        )
    }

    #[test]
    fn probes_follow_the_server_and_the_checks() {
        let server = Server::new(ServerConfig {
            port: 0,
            handle_signals: false,
            ..Default::default()
        });
        let flag = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let f = flag.clone();
        let health = Health::new(server.state()).check("db", move || {
            if f.load(std::sync::atomic::Ordering::Relaxed) {
                Ok(())
            } else {
                Err("connection refused".into())
            }
        });
        // Before start: not live, not ready.
        assert_eq!(call(&health.livez()).0, 503);
        assert_eq!(call(&health.readyz()).0, 503);
        let running = server.start().unwrap();
        assert_eq!(call(&health.livez()), (200, "ok\n".into()));
        assert_eq!(call(&health.readyz()).0, 200);
        let (status, body) = call(&health.healthz());
        assert_eq!(status, 200);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["checks"]["db"]["status"], "ok");
        flag.store(false, std::sync::atomic::Ordering::Relaxed);
        let (status, body) = call(&health.readyz());
        assert_eq!(status, 503);
        assert!(body.contains("db: connection refused"));
        let (status, body) = call(&health.healthz());
        assert_eq!(status, 503);
        assert!(body.contains("connection refused"));
        assert_eq!(call(&health.livez()).0, 200);
        running.shutdown();
        assert_eq!(call(&health.livez()).0, 503);
    }
}
