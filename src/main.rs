//! The `httpserver` command: serves a directory (default `.`) with static
//! files, health probes and Prometheus metrics.
//!
//! Settings come in layers: defaults < TOML file (`--config`) <
//! `HTTPSERVER_*` environment variables < flags (see `settings.rs`).
//! Exit codes: 0 after a clean shutdown (Ctrl-C or SIGTERM drains first),
//! 2 for bad usage or settings, 1 when the server cannot run (port in use).

mod settings;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use httpserver::handlers::{Health, Metrics, StaticFiles};
use httpserver::middleware::{Middleware, Next};
use httpserver::{Request, Response, Server, ServerConfig};
use settings::{Loader, Settings, SettingsError};
use toml::Value;

/// Serve a directory over HTTP/1.1, with Kubernetes probes and Prometheus
/// metrics.
///
/// Settings are read from, in rising priority: built-in defaults, the TOML
/// file given with --config, HTTPSERVER_* environment variables
/// (HTTPSERVER_PORT, HTTPSERVER_FILES_ROOT, ...), and these flags.
#[derive(Parser, Debug)]
#[command(name = "httpserver", version, about, long_about = None)]
#[command(after_help = "Probes: /livez, /readyz, /healthz. Metrics: /metrics.\n\
Example: httpserver ./public --port 3000 --cache-control 'max-age=3600'")]
struct Cli {
    /// Directory to serve [default: .]
    root: Option<PathBuf>,

    /// Address to listen on (0.0.0.0 or :: for every interface) [default: 127.0.0.1]
    #[arg(long, value_name = "ADDR")]
    host: Option<String>,

    /// Port to listen on; 0 picks a free one [default: 8080]
    #[arg(short, long)]
    port: Option<u16>,

    /// TOML settings file
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Worker threads always running [default: number of CPUs]
    #[arg(long, value_name = "N")]
    workers_min: Option<usize>,

    /// Most handlers running at once [default: 64]
    #[arg(long, value_name = "N")]
    workers_max: Option<usize>,

    /// Pin each worker thread to a CPU of its own, in turn (like nginx's
    /// worker_cpu_affinity auto)
    #[arg(long)]
    pin_workers: bool,

    /// Answer directories without index.html with 403 instead of a listing
    #[arg(long)]
    no_listing: bool,

    /// Serve and list dotfiles
    #[arg(long)]
    hidden: bool,

    /// Follow symbolic links that lead outside the root
    #[arg(long)]
    follow_symlinks: bool,

    /// Cache-Control header for files, e.g. "public, max-age=3600"
    #[arg(long, value_name = "VALUE")]
    cache_control: Option<String>,

    /// Single-page app: answer unknown paths with this file (e.g. index.html)
    #[arg(long, value_name = "FILE")]
    spa: Option<String>,

    /// Send this file (relative to the root) with 404 responses
    #[arg(long = "404", value_name = "FILE")]
    not_found_page: Option<String>,

    /// Do not serve precompressed .br/.zst/.gz siblings
    #[arg(long)]
    no_precompressed: bool,

    /// Do not answer /livez, /readyz and /healthz
    #[arg(long)]
    no_health: bool,

    /// Do not answer /metrics
    #[arg(long)]
    no_metrics: bool,

    /// On SIGTERM, keep serving this long with /readyz failing before
    /// draining, e.g. 5s [default: 0s]
    #[arg(long, value_name = "DURATION")]
    drain_delay: Option<String>,

    /// On shutdown, how long in-flight requests may take [default: 30s]
    #[arg(long, value_name = "DURATION")]
    shutdown_timeout: Option<String>,

    /// Answer cross-origin requests from these origins (comma-separated);
    /// alone or with `*`: from any origin
    #[arg(long, value_name = "ORIGINS", num_args = 0..=1, default_missing_value = "*")]
    cors: Option<String>,

    /// Do not compress responses (gzip, br, zstd)
    #[arg(long)]
    no_compress: bool,

    /// Limit each client IP, e.g. 100/s, 600/m [default: off]
    #[arg(long, value_name = "LIMIT")]
    rate_limit: Option<String>,

    /// Do not write an access log line per request
    #[arg(long)]
    no_access_log: bool,

    /// Send X-Content-Type-Options, Referrer-Policy and refuse framing
    #[arg(long)]
    security_headers: bool,

    /// Answer 503 to a request not answered within this time, e.g. 30s
    /// [default: none]
    #[arg(long, value_name = "DURATION")]
    request_timeout: Option<String>,

    /// Log level for server events: error, warn, info, debug or trace
    #[arg(long, value_name = "LEVEL", default_value = "info")]
    log_level: tracing::Level,

    /// Format of the access log (stdout) and of server events (stderr):
    /// json (one object per line), common or combined (Apache/nginx access
    /// log formats; events stay pretty), or pretty (coloured on a terminal)
    /// [default: access log JSON unless stdout is a terminal; events pretty]
    #[arg(long, value_name = "FORMAT", value_enum)]
    log_format: Option<LogFormat>,

    /// Print the effective settings as TOML and exit
    #[arg(long)]
    print_config: bool,
}

/// How log lines are written.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum LogFormat {
    /// Human-readable, coloured on a terminal.
    Pretty,
    /// One JSON object per line.
    Json,
    /// Common Log Format (access log; events pretty).
    Common,
    /// Combined Log Format (access log; events pretty).
    Combined,
}

impl LogFormat {
    fn name(self) -> &'static str {
        match self {
            LogFormat::Pretty => "pretty",
            LogFormat::Json => "json",
            LogFormat::Common => "common",
            LogFormat::Combined => "combined",
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match load(&cli) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("httpserver: {e}");
            return ExitCode::from(2);
        }
    };
    if cli.print_config {
        match toml::to_string_pretty(&settings) {
            Ok(text) => {
                print!("{text}");
                return ExitCode::SUCCESS;
            }
            Err(e) => {
                eprintln!("httpserver: cannot print the settings: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let logs = tracing_subscriber::fmt()
        .with_max_level(cli.log_level)
        .with_writer(std::io::stderr);
    match cli.log_format {
        Some(LogFormat::Json) => logs.json().init(),
        _ => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
    run(settings)
}

/// Applies the layers in order.
fn load(cli: &Cli) -> Result<Settings, SettingsError> {
    let mut loader = Loader::new();
    if let Some(path) = &cli.config {
        let text = std::fs::read_to_string(path).map_err(|e| {
            SettingsError(format!("cannot read config file {}: {e}", path.display()))
        })?;
        loader.file(path, &text)?;
    }
    loader.env(std::env::vars())?;
    let flags: [(&str, &str, Option<String>); 12] = [
        ("cors.origins", "--cors", cli.cors.clone()),
        ("rate_limit.limit", "--rate-limit", cli.rate_limit.clone()),
        (
            "log.format",
            "--log-format",
            cli.log_format.map(|f| f.name().to_string()),
        ),
        (
            "files.root",
            "ROOT",
            cli.root.as_ref().map(|p| p.display().to_string()),
        ),
        ("server.host", "--host", cli.host.clone()),
        ("server.port", "--port", cli.port.map(|p| p.to_string())),
        (
            "server.min_workers",
            "--workers-min",
            cli.workers_min.map(|n| n.to_string()),
        ),
        (
            "server.max_workers",
            "--workers-max",
            cli.workers_max.map(|n| n.to_string()),
        ),
        (
            "files.cache_control",
            "--cache-control",
            cli.cache_control.clone(),
        ),
        (
            "server.drain_delay",
            "--drain-delay",
            cli.drain_delay.clone(),
        ),
        (
            "server.shutdown_timeout",
            "--shutdown-timeout",
            cli.shutdown_timeout.clone(),
        ),
        (
            "guards.request_timeout",
            "--request-timeout",
            cli.request_timeout.clone(),
        ),
    ];
    for (key, flag, value) in flags {
        if let Some(value) = value {
            loader.flag(key, flag, &value)?;
        }
    }
    for (key, flag, value) in [
        ("files.spa", "--spa", &cli.spa),
        ("files.not_found_page", "--404", &cli.not_found_page),
    ] {
        if let Some(value) = value {
            loader.flag(key, flag, value)?;
        }
    }
    for (on, key, flag, value) in [
        (cli.no_listing, "files.listing", "--no-listing", false),
        (cli.hidden, "files.hidden", "--hidden", true),
        (
            cli.follow_symlinks,
            "files.follow_symlinks",
            "--follow-symlinks",
            true,
        ),
        (
            cli.no_precompressed,
            "files.precompressed",
            "--no-precompressed",
            false,
        ),
        (cli.no_health, "health.enabled", "--no-health", false),
        (
            cli.no_compress,
            "compression.enabled",
            "--no-compress",
            false,
        ),
        (cli.no_access_log, "log.access", "--no-access-log", false),
        (
            cli.security_headers,
            "security.headers",
            "--security-headers",
            true,
        ),
        (cli.no_metrics, "metrics.enabled", "--no-metrics", false),
        (cli.pin_workers, "server.pin_workers", "--pin-workers", true),
    ] {
        if on {
            loader.flag_value(key, flag, Value::Boolean(value))?;
        }
    }
    loader.finish()
}

/// Runs `inner` on every request but those for `paths` (the probes and
/// metrics, which must answer without credentials).
struct Except {
    paths: Vec<String>,
    inner: Box<dyn Middleware>,
}

impl Middleware for Except {
    fn handle(&self, req: &mut Request, next: Next<'_>) -> Response {
        if self.paths.iter().any(|p| p == req.path()) {
            next.run(req)
        } else {
            self.inner.handle(req, next)
        }
    }
}

/// Builds the server from `settings` and runs it until shut down.
fn run(settings: Settings) -> ExitCode {
    let config: ServerConfig = settings.server.clone();
    let mut server = Server::new(config);
    let state = server.state();
    // Built here rather than by `Server::new`, so that the metrics layer
    // can sit inside the request id and outside everything that may
    // answer by itself (a 429 or a 401 is counted), and the probes can be
    // exempt from credentials.
    let m = settings.middleware();
    // Values were checked when the settings were loaded; what fails here
    // is the environment (a log file that cannot be opened): the server
    // cannot run (exit 1).
    let fail = |e: httpserver::ConfigError| {
        eprintln!(
            "httpserver: cannot start: `{}`: {}",
            settings::middleware_key(e.field()),
            e.message()
        );
        ExitCode::FAILURE
    };
    macro_rules! built {
        ($e:expr) => {
            match $e {
                Ok(layer) => layer,
                Err(e) => return fail(e),
            }
        };
    }
    if let Some(logging) = built!(m.log.build()) {
        server.use_middleware(logging);
    }
    if let Some(layer) = m.log.request_id_layer() {
        server.use_middleware(layer);
    }
    if settings.metrics.enabled {
        let metrics = Metrics::new(state.clone());
        server.use_middleware(metrics.clone());
        server.get(&settings.metrics.path, metrics.endpoint());
    }
    if let Some(layer) = m.security.build() {
        server.use_middleware(layer);
    }
    if let Some(layer) = built!(m.cors.build()) {
        server.use_middleware(layer);
    }
    if let Some(layer) = built!(m.rate_limit.build()) {
        server.use_middleware(layer);
    }
    if let Some(inner) = built!(m.guards.auth()) {
        let mut paths = Vec::new();
        if settings.health.enabled {
            let h = &settings.health;
            paths.extend([h.livez.clone(), h.readyz.clone(), h.healthz.clone()]);
        }
        if settings.metrics.enabled {
            paths.push(settings.metrics.path.clone());
        }
        server.use_middleware(Except { paths, inner });
    }
    if let Some(layer) = built!(m.compression.build()) {
        server.use_middleware(layer);
    }
    if let Some(layer) = built!(m.guards.timeout()) {
        server.use_middleware(layer);
    }
    if settings.health.enabled {
        let health = Health::new(state);
        server.get(&settings.health.livez, health.livez());
        server.get(&settings.health.readyz, health.readyz());
        server.get(&settings.health.healthz, health.healthz());
    }
    let f = &settings.files;
    let mut files = StaticFiles::new(&f.root)
        .listing(f.listing)
        .hidden(f.hidden)
        .follow_symlinks(f.follow_symlinks)
        .precompressed(f.precompressed)
        .index((!f.index.is_empty()).then_some(f.index.as_str()));
    if let Some(cc) = &f.cache_control {
        files = files.cache_control(cc);
    }
    if let Some(spa) = &f.spa {
        files = files.spa(spa);
    }
    if let Some(page) = &f.not_found_page {
        files = files.not_found_page(page);
    }
    server.files("/", files);

    let running = match server.start() {
        Ok(r) => r,
        Err(e) => {
            let addr = format!("{}:{}", settings.server.host, settings.server.port);
            eprintln!("httpserver: cannot serve on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = running.handle_signals() {
        eprintln!("httpserver: cannot install signal handlers: {e}");
        return ExitCode::FAILURE;
    }
    let addr = running.local_addr();
    let root = std::fs::canonicalize(&f.root).unwrap_or_else(|_| f.root.clone());
    println!("httpserver serving {} on http://{addr}/", root.display());
    running.wait();
    ExitCode::SUCCESS
}
