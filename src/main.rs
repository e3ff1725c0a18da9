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
use httpserver::{Server, ServerConfig};
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

    /// Log level for server events: error, warn, info, debug or trace
    #[arg(long, value_name = "LEVEL", default_value = "info")]
    log_level: tracing::Level,

    /// Format of the server's log lines (on stderr): pretty (coloured when
    /// stderr is a terminal) or json (one object per line)
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    log_format: LogFormat,

    /// Print the effective settings as TOML and exit
    #[arg(long)]
    print_config: bool,
}

/// How log lines are written.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum LogFormat {
    /// Human-readable, coloured on a terminal.
    Pretty,
    /// One JSON object per line.
    Json,
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
        LogFormat::Pretty => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => logs.json().init(),
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
    let flags: [(&str, &str, Option<String>); 8] = [
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
        (cli.no_metrics, "metrics.enabled", "--no-metrics", false),
    ] {
        if on {
            loader.flag_value(key, flag, Value::Boolean(value))?;
        }
    }
    loader.finish()
}

/// Builds the server from `settings` and runs it until shut down.
fn run(settings: Settings) -> ExitCode {
    let config: ServerConfig = settings.server.clone();
    let mut server = Server::new(config);
    let state = server.state();
    if settings.metrics.enabled {
        let metrics = Metrics::new(state.clone());
        server.use_middleware(metrics.clone());
        server.get(&settings.metrics.path, metrics.endpoint());
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
