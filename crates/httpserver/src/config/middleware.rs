//! The everyday middleware as plain, serde-ready settings: see
//! [`MiddlewareConfig`].

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ConfigError;
use crate::middleware::{
    AllowOrigin, BasicAuth, BearerAuth, Compression, Cors, CorsError, FrameOptions, LogFormat,
    Logging, Middleware, OnStoreError, Quota, RateLimit, RequestIdLayer, SecurityHeaders, Timeout,
};

/// The everyday middleware as plain, serde-ready settings: the part of
/// [`ServerConfig`](super::ServerConfig) a configuration file or the
/// command line fills in.
///
/// Every part is off by default in the library (the command turns the
/// access log, request ids and compression on). A part that is on is built
/// into its middleware by its `build` method, which is also how
/// [`validate`](Self::validate) checks it; a value that cannot work is a
/// [`ConfigError`] naming the field (`middleware.cors.origins`).
///
/// A [`Server`](crate::Server) whose config has any part on installs those
/// layers itself when it starts (and in [`Server::into_app`](crate::Server::into_app)),
/// outermost, in this order: access log, request id, security headers,
/// CORS, rate limit, auth, compression, request timeout; middleware added
/// with `use_middleware` runs inside them, so a metrics layer of your own
/// does not see the 401s and 429s they answer. For another order, leave
/// this config at its default and add the layers each part's `build`
/// method makes with `use_middleware`, as the command does.
///
/// # Examples
///
/// ```
/// use httpserver::ServerConfig;
///
/// let config: ServerConfig = toml::from_str(r#"
///     port = 8080
///     [middleware.cors]
///     origins = "https://app.example.com"
///     [middleware.rate_limit]
///     limit = "100/s"
/// "#)?;
/// assert!(config.validate().is_ok());
/// assert_eq!(config.middleware.layers()?.len(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MiddlewareConfig {
    /// Access log and request ids.
    pub log: LogConfig,
    /// Cross-origin requests.
    pub cors: CorsConfig,
    /// Response compression.
    pub compression: CompressionConfig,
    /// Requests per client.
    pub rate_limit: RateLimitConfig,
    /// Security headers.
    pub security: SecurityConfig,
    /// Request deadline and credentials.
    pub guards: GuardConfig,
}

fn error(field: &'static str, message: impl std::fmt::Display) -> ConfigError {
    ConfigError::new(field, message.to_string())
}

/// A comma-separated list, trimmed, without empty items.
fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

impl MiddlewareConfig {
    /// Whether every part is off (as by default).
    pub fn is_default(&self) -> bool {
        *self == MiddlewareConfig::default()
    }

    /// Checks every part that is on, without side effects (the access log
    /// file is not opened, Redis is not contacted).
    ///
    /// # Errors
    ///
    /// The first field whose value cannot work.
    ///
    /// ```
    /// let mut m = httpserver::config::MiddlewareConfig::default();
    /// m.rate_limit.limit = "lots".into();
    /// assert_eq!(m.validate().unwrap_err().field(), "middleware.rate_limit.limit");
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.log.format()?;
        self.cors.build()?;
        self.compression.build()?;
        self.rate_limit.build()?;
        self.guards.timeout()?;
        self.guards.auth()?;
        Ok(())
    }

    /// The layers of every part that is on, outermost first, in the order
    /// given [above](MiddlewareConfig).
    ///
    /// # Errors
    ///
    /// As [`validate`](Self::validate), or if the access log file cannot be
    /// opened or the Redis URL is not usable.
    pub fn layers(&self) -> Result<Vec<Arc<dyn Middleware>>, ConfigError> {
        let mut layers: Vec<Arc<dyn Middleware>> = Vec::new();
        if let Some(m) = self.log.build()? {
            layers.push(Arc::new(m));
        }
        if let Some(m) = self.log.request_id_layer() {
            layers.push(Arc::new(m));
        }
        if let Some(m) = self.security.build() {
            layers.push(Arc::new(m));
        }
        if let Some(m) = self.cors.build()? {
            layers.push(Arc::new(m));
        }
        if let Some(m) = self.rate_limit.build()? {
            layers.push(Arc::new(m));
        }
        if let Some(m) = self.guards.auth()? {
            layers.push(Arc::from(m));
        }
        if let Some(m) = self.compression.build()? {
            layers.push(Arc::new(m));
        }
        if let Some(m) = self.guards.timeout()? {
            layers.push(Arc::new(m));
        }
        Ok(layers)
    }
}

/// `log`: the access log ([`Logging`]) and request ids
/// ([`RequestIdLayer`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// One line per request. Default off.
    pub access: bool,
    /// `auto` (pretty on a terminal, else JSON), `json`, `common`,
    /// `combined` or `pretty`. Default `auto`.
    pub format: String,
    /// Append access lines to this file; empty: standard output. Default
    /// empty.
    pub file: String,
    /// Accept or make `X-Request-Id`, echo it and log it. Default off.
    pub request_id: bool,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            access: false,
            format: "auto".into(),
            file: String::new(),
            request_id: false,
        }
    }
}

impl LogConfig {
    /// The format asked for; `None` for `auto`.
    fn format(&self) -> Result<Option<LogFormat>, ConfigError> {
        if self.format.eq_ignore_ascii_case("auto") {
            return Ok(None);
        }
        self.format
            .parse()
            .map(Some)
            .map_err(|e| error("middleware.log.format", e))
    }

    /// The access log, if `access` is on.
    ///
    /// # Errors
    ///
    /// An unknown format, or a file that cannot be opened for appending.
    pub fn build(&self) -> Result<Option<Logging>, ConfigError> {
        if !self.access {
            return Ok(None);
        }
        let mut logging = Logging::default();
        if let Some(format) = self.format()? {
            logging = logging.format(format);
        }
        if !self.file.is_empty() {
            logging = logging.to_file(&self.file).map_err(|e| {
                error(
                    "middleware.log.file",
                    format!("cannot open {} for appending: {e}", self.file),
                )
            })?;
        }
        Ok(Some(logging))
    }

    /// The request-id layer, if `request_id` is on.
    pub fn request_id_layer(&self) -> Option<RequestIdLayer> {
        self.request_id.then(RequestIdLayer::new)
    }
}

/// `cors`: cross-origin requests ([`Cors`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CorsConfig {
    /// Allowed origins, comma-separated, or `*` for any; empty: CORS off.
    /// Default empty.
    pub origins: String,
    /// Allowed methods, comma-separated, or `*`. Default `GET, HEAD, POST`.
    pub methods: String,
    /// Allowed request headers, comma-separated, or `*`. Default empty.
    pub headers: String,
    /// Response headers exposed to scripts, comma-separated. Default empty.
    pub expose: String,
    /// Allow cookies and HTTP auth. Default off.
    pub credentials: bool,
    /// Seconds a preflight answer may be cached; 0: not sent. Default 0.
    pub max_age: u64,
}

impl Default for CorsConfig {
    fn default() -> Self {
        CorsConfig {
            origins: String::new(),
            methods: "GET, HEAD, POST".into(),
            headers: String::new(),
            expose: String::new(),
            credentials: false,
            max_age: 0,
        }
    }
}

impl CorsConfig {
    /// The CORS layer, if any origin is set.
    ///
    /// # Errors
    ///
    /// An invalid method or header name, or a policy the Fetch standard
    /// forbids (`*` with credentials).
    ///
    /// ```
    /// let cors = httpserver::config::CorsConfig {
    ///     origins: "*".into(),
    ///     credentials: true,
    ///     ..Default::default()
    /// };
    /// assert_eq!(cors.build().unwrap_err().field(), "middleware.cors.origins");
    /// ```
    pub fn build(&self) -> Result<Option<Cors>, ConfigError> {
        if self.origins.trim().is_empty() {
            return Ok(None);
        }
        let origins = list(&self.origins);
        let mut b = Cors::builder().allow_credentials(self.credentials);
        b = if origins.iter().any(|o| o == "*") {
            b.allow_origin(AllowOrigin::any())
        } else {
            b.allow_origin(AllowOrigin::list(origins))
        };
        let methods = list(&self.methods);
        b = if methods.iter().any(|m| m == "*") {
            b.allow_any_method()
        } else {
            let mut parsed = Vec::new();
            for m in methods {
                parsed.push(
                    http::Method::from_bytes(m.to_ascii_uppercase().as_bytes()).map_err(|_| {
                        error("middleware.cors.methods", format!("invalid method {m:?}"))
                    })?,
                );
            }
            b.allow_methods(parsed)
        };
        let headers = list(&self.headers);
        b = if headers.iter().any(|h| h == "*") {
            b.allow_any_header()
        } else {
            b.allow_headers(headers)
        };
        b = b.expose_headers(list(&self.expose));
        if self.max_age > 0 {
            b = b.max_age(Duration::from_secs(self.max_age));
        }
        b.build().map(Some).map_err(|e| {
            let field = match &e {
                CorsError::WildcardWithCredentials("methods") => "middleware.cors.methods",
                CorsError::WildcardWithCredentials("headers") => "middleware.cors.headers",
                CorsError::WildcardWithCredentials("exposed headers") => "middleware.cors.expose",
                CorsError::InvalidToken(t) if list(&self.headers).contains(t) => {
                    "middleware.cors.headers"
                }
                CorsError::InvalidToken(_) => "middleware.cors.expose",
                _ => "middleware.cors.origins",
            };
            error(field, e)
        })
    }
}

/// `compression`: gzip, br and zstd responses ([`Compression`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CompressionConfig {
    /// Compress compressible responses. Default off.
    pub enabled: bool,
    /// Smallest body compressed, in bytes. Default 1024.
    pub min_size: u64,
    /// gzip level 1-9. Default [`DEFAULT_GZIP_LEVEL`](crate::middleware::DEFAULT_GZIP_LEVEL).
    pub gzip_level: u32,
    /// brotli quality 0-11. Default [`DEFAULT_BROTLI_LEVEL`](crate::middleware::DEFAULT_BROTLI_LEVEL).
    pub brotli_level: u32,
    /// zstd level 1-22. Default [`DEFAULT_ZSTD_LEVEL`](crate::middleware::DEFAULT_ZSTD_LEVEL).
    pub zstd_level: i32,
}

impl Default for CompressionConfig {
    fn default() -> Self {
        CompressionConfig {
            enabled: false,
            min_size: 1024,
            gzip_level: crate::middleware::DEFAULT_GZIP_LEVEL,
            brotli_level: crate::middleware::DEFAULT_BROTLI_LEVEL,
            zstd_level: crate::middleware::DEFAULT_ZSTD_LEVEL,
        }
    }
}

impl CompressionConfig {
    /// The compression layer, if `enabled`.
    ///
    /// # Errors
    ///
    /// A level out of its range.
    pub fn build(&self) -> Result<Option<Compression>, ConfigError> {
        for (field, ok) in [
            (
                "middleware.compression.gzip_level",
                (1..=9).contains(&self.gzip_level),
            ),
            (
                "middleware.compression.brotli_level",
                self.brotli_level <= 11,
            ),
            (
                "middleware.compression.zstd_level",
                (1..=22).contains(&self.zstd_level),
            ),
        ] {
            if !ok {
                return Err(error(
                    field,
                    "out of range (gzip 1-9, brotli 0-11, zstd 1-22)",
                ));
            }
        }
        Ok(self.enabled.then(|| {
            Compression::new()
                .min_size(self.min_size)
                .gzip_level(self.gzip_level)
                .brotli_level(self.brotli_level)
                .zstd_level(self.zstd_level)
        }))
    }
}

/// `rate_limit`: requests per client ([`RateLimit`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// `N/s`, `N/m`, `N/h` or `N/d` per client IP; empty: off. Default
    /// empty.
    pub limit: String,
    /// Proxies whose `X-Forwarded-For` / `Forwarded` name the client,
    /// comma-separated addresses or CIDR blocks. Default empty.
    pub trusted_proxies: String,
    /// `RateLimit` headers on allowed answers too. Default on.
    pub headers: bool,
    /// Share the limit through this Redis (`redis://host:port/`, needs
    /// the `redis` feature); empty: in memory. Default empty.
    pub redis_url: String,
    /// When Redis fails: `allow` or `deny` (503). Default `allow`.
    pub on_store_error: String,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            limit: String::new(),
            trusted_proxies: String::new(),
            headers: true,
            redis_url: String::new(),
            on_store_error: "allow".into(),
        }
    }
}

impl RateLimitConfig {
    /// The limiter without its store: everything but the Redis URL checked.
    fn limiter(&self) -> Result<Option<RateLimit>, ConfigError> {
        let on_error = match self.on_store_error.as_str() {
            "allow" => OnStoreError::Allow,
            "deny" => OnStoreError::Deny,
            other => {
                return Err(error(
                    "middleware.rate_limit.on_store_error",
                    format!("{other:?}: expected allow or deny"),
                ))
            }
        };
        if self.limit.trim().is_empty() {
            return Ok(None);
        }
        let quota: Quota = self
            .limit
            .parse()
            .map_err(|e| error("middleware.rate_limit.limit", e))?;
        let limiter = RateLimit::new(quota)
            .headers(self.headers)
            .trust_proxies(list(&self.trusted_proxies))
            .map_err(|e| error("middleware.rate_limit.trusted_proxies", e))?
            .on_store_error(on_error);
        Ok(Some(limiter))
    }

    /// The rate limiter, if a limit is set: in memory, or shared through
    /// Redis when `redis_url` is set. Making it has no side effect (the
    /// Redis URL is parsed, not connected to), so validation calls it too.
    ///
    /// # Errors
    ///
    /// A limit, proxy list or policy that does not parse, or a Redis URL
    /// that is not usable (or a build without the `redis` feature), also
    /// when no limit is set.
    pub fn build(&self) -> Result<Option<RateLimit>, ConfigError> {
        let limiter = self.limiter()?;
        if self.redis_url.trim().is_empty() {
            return Ok(limiter);
        }
        #[cfg(feature = "redis")]
        {
            let store = crate::middleware::RedisStore::new(self.redis_url.trim())
                .map_err(|e| error("middleware.rate_limit.redis_url", e))?;
            Ok(limiter.map(|l| l.store(store)))
        }
        #[cfg(not(feature = "redis"))]
        Err(error(
            "middleware.rate_limit.redis_url",
            "this build has no Redis support (the `redis` feature)",
        ))
    }
}

/// `security`: security headers ([`SecurityHeaders`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecurityConfig {
    /// `X-Content-Type-Options`, `Referrer-Policy`, framing refused.
    /// Default off (like nginx: a served directory may be framed by
    /// design).
    pub headers: bool,
    /// `Strict-Transport-Security` max-age in seconds (only behind
    /// HTTPS); 0: not sent. Default 0.
    pub hsts_max_age: u64,
}

impl SecurityConfig {
    /// The security-headers layer, if `headers` is on.
    pub fn build(&self) -> Option<SecurityHeaders> {
        self.headers.then(|| {
            let h = SecurityHeaders::new().frames(FrameOptions::Deny);
            if self.hsts_max_age > 0 {
                h.hsts(Duration::from_secs(self.hsts_max_age), false)
            } else {
                h
            }
        })
    }
}

/// `guards`: a deadline per request ([`Timeout`]) and credentials
/// ([`BasicAuth`], [`BearerAuth`]).
///
/// The credentials cover every route of the server, probes and metrics
/// included; to exempt some paths, build the layer with
/// [`auth`](Self::auth) and wrap it yourself (the command exempts its
/// probes and `/metrics` that way). `Debug` does not show them.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GuardConfig {
    /// Answer 503 to a request not answered within this time (`"30s"`,
    /// `"500ms"`); empty: no deadline. Default empty.
    pub request_timeout: String,
    /// Require HTTP Basic credentials, `user:password`; empty: none.
    /// Default empty.
    pub basic_auth: String,
    /// Require `Authorization: Bearer <token>` with this token; empty:
    /// none. Default empty.
    pub bearer_token: String,
    /// The realm named in `WWW-Authenticate`. Default `httpserver`.
    pub realm: String,
}

impl std::fmt::Debug for GuardConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |v: &str| if v.is_empty() { "" } else { "<hidden>" };
        f.debug_struct("GuardConfig")
            .field("request_timeout", &self.request_timeout)
            .field("basic_auth", &hidden(&self.basic_auth))
            .field("bearer_token", &hidden(&self.bearer_token))
            .field("realm", &self.realm)
            .finish()
    }
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig {
            request_timeout: String::new(),
            basic_auth: String::new(),
            bearer_token: String::new(),
            realm: "httpserver".into(),
        }
    }
}

impl GuardConfig {
    /// The request deadline, if one is set.
    ///
    /// # Errors
    ///
    /// A duration that does not parse, or zero.
    pub fn timeout(&self) -> Result<Option<Timeout>, ConfigError> {
        if self.request_timeout.trim().is_empty() {
            return Ok(None);
        }
        let after = super::parse_duration(&self.request_timeout)
            .map_err(|e| error("middleware.guards.request_timeout", e))?;
        if after.is_zero() {
            return Err(error(
                "middleware.guards.request_timeout",
                "must be above zero",
            ));
        }
        Ok(Some(Timeout::new(after)))
    }

    /// The auth layer, if credentials are set.
    ///
    /// # Errors
    ///
    /// Basic credentials not written `user:password`, or both kinds set.
    pub fn auth(&self) -> Result<Option<Box<dyn Middleware>>, ConfigError> {
        match (self.basic_auth.trim(), self.bearer_token.trim()) {
            ("", "") => Ok(None),
            (basic, "") => {
                let (user, password) = basic
                    .split_once(':')
                    .filter(|(u, p)| !u.is_empty() && !p.is_empty())
                    .ok_or_else(|| {
                        error("middleware.guards.basic_auth", "expected user:password")
                    })?;
                Ok(Some(Box::new(
                    BasicAuth::new(&self.realm).user(user, password),
                )))
            }
            ("", token) => Ok(Some(Box::new(BearerAuth::new(&self.realm).token(token)))),
            _ => Err(error(
                "middleware.guards.bearer_token",
                "set basic_auth or bearer_token, not both",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Request, Response, ServerConfig};

    fn config(toml_text: &str) -> ServerConfig {
        toml::from_str(toml_text).expect("valid TOML")
    }

    #[test]
    fn everything_is_off_by_default() {
        let m = MiddlewareConfig::default();
        assert!(m.is_default());
        assert!(m.validate().is_ok());
        assert!(m.layers().unwrap().is_empty());
    }

    #[test]
    fn every_part_that_is_on_becomes_one_layer() {
        let c = config(
            r#"
            [middleware.log]
            access = true
            request_id = true
            [middleware.security]
            headers = true
            [middleware.cors]
            origins = "https://a.example"
            [middleware.rate_limit]
            limit = "10/s"
            [middleware.guards]
            bearer_token = "t"
            request_timeout = "2s"
            [middleware.compression]
            enabled = true
            "#,
        );
        assert!(c.validate().is_ok());
        assert_eq!(c.middleware.layers().unwrap().len(), 8);
    }

    #[test]
    fn bad_values_name_their_field() {
        for (text, field) in [
            (
                "[middleware.log]\nformat = \"xml\"",
                "middleware.log.format",
            ),
            (
                "[middleware.cors]\norigins = \"*\"\ncredentials = true",
                "middleware.cors.origins",
            ),
            (
                "[middleware.cors]\norigins = \"https://a.example\"\nmethods = \"GET, B@D\"",
                "middleware.cors.methods",
            ),
            (
                "[middleware.cors]\norigins = \"https://a.example\"\nheaders = \"x-ok, B@D\"",
                "middleware.cors.headers",
            ),
            (
                "[middleware.cors]\norigins = \"https://a.example\"\nexpose = \"B@D\"",
                "middleware.cors.expose",
            ),
            (
                "[middleware.cors]\norigins = \"https://a.example\"\nmethods = \"*\"\ncredentials = true",
                "middleware.cors.methods",
            ),
            (
                "[middleware.rate_limit]\nlimit = \"5/s\"\nredis_url = \"not a url\"",
                "middleware.rate_limit.redis_url",
            ),
            (
                "[middleware.compression]\ngzip_level = 12",
                "middleware.compression.gzip_level",
            ),
            (
                "[middleware.rate_limit]\nlimit = \"often\"",
                "middleware.rate_limit.limit",
            ),
            (
                "[middleware.rate_limit]\nlimit = \"5/s\"\ntrusted_proxies = \"not-an-ip\"",
                "middleware.rate_limit.trusted_proxies",
            ),
            (
                "[middleware.rate_limit]\non_store_error = \"maybe\"",
                "middleware.rate_limit.on_store_error",
            ),
            (
                "[middleware.guards]\nrequest_timeout = \"0s\"",
                "middleware.guards.request_timeout",
            ),
            (
                "[middleware.guards]\nbasic_auth = \"nopassword\"",
                "middleware.guards.basic_auth",
            ),
            (
                "[middleware.guards]\nbasic_auth = \"a:b\"\nbearer_token = \"t\"",
                "middleware.guards.bearer_token",
            ),
        ] {
            let c = config(text);
            assert_eq!(c.validate().unwrap_err().field(), field, "{text}");
        }
        assert!(toml::from_str::<ServerConfig>("[middleware.cors]\norigin = \"x\"").is_err());
    }

    #[test]
    fn debug_hides_credentials() {
        let c =
            config("[middleware.guards]\nbasic_auth = \"ada:s3cret\"\nbearer_token = \"t0ken\"");
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("s3cret") && !shown.contains("t0ken"),
            "{shown}"
        );
        assert!(shown.contains("<hidden>"), "{shown}");
    }

    #[test]
    fn an_unopenable_log_file_is_an_error_at_build_not_at_validate() {
        let mut m = MiddlewareConfig::default();
        m.log.access = true;
        m.log.file = "/nonexistent-dir/access.log".into();
        assert!(m.validate().is_ok());
        let err = m.layers().err().expect("cannot open");
        assert_eq!(err.field(), "middleware.log.file");
    }

    #[test]
    fn a_configured_server_runs_its_layers_around_its_own() {
        let c = config(
            r#"
            [middleware.cors]
            origins = "https://a.example"
            [middleware.guards]
            bearer_token = "secret"
            "#,
        );
        let mut server = crate::Server::new(c);
        server.use_middleware(|req: &mut Request, next: crate::middleware::Next<'_>| {
            next.run(req).with_header("x-inner", "yes")
        });
        server.get("/", |_req: &Request| Response::default());
        let app = server.into_app();
        let request = |auth: Option<&str>| {
            let mut b = http::Request::get("/").header("origin", "https://a.example");
            if let Some(a) = auth {
                b = b.header("authorization", a);
            }
            Request::from_http(b.body(Vec::new()).unwrap()).unwrap()
        };
        let denied = app.respond(&mut request(None));
        assert_eq!(denied.status(), 401);
        // CORS is outside auth: even the 401 carries the CORS answer.
        assert_eq!(
            denied.headers()["access-control-allow-origin"],
            "https://a.example"
        );
        assert!(denied.headers().get("x-inner").is_none());
        let ok = app.respond(&mut request(Some("Bearer secret")));
        assert_eq!(ok.status(), 200);
        assert_eq!(ok.headers()["x-inner"], "yes");
    }

    #[test]
    fn a_layer_that_cannot_be_built_fails_closed_in_process_and_stops_a_start() {
        let mut c = ServerConfig {
            port: 0,
            ..Default::default()
        };
        c.middleware.log.access = true;
        c.middleware.log.file = "/nonexistent-dir/access.log".into();
        let mut server = crate::Server::new(c.clone());
        server.get("/", |_req: &Request| Response::default());
        let app = server.into_app();
        let mut req =
            Request::from_http(http::Request::get("/").body(Vec::new()).unwrap()).unwrap();
        assert_eq!(app.respond(&mut req).status(), 500);
        let err = crate::Server::new(c).start().expect_err("must not start");
        assert!(err.to_string().contains("middleware.log.file"), "{err}");
    }
}
