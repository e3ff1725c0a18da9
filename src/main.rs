//! The `httpserver` command: for now a minimal server that says hello on
//! `/` and answers `/livez`; the serve-a-directory CLI is being built.
//!
//! Usage: `httpserver [--host ADDR] [--port PORT]` (also `PORT` in the
//! environment). Ctrl-C or SIGTERM drains and exits 0.

use std::process::ExitCode;

use httpserver::response::ok;
use httpserver::{Request, Server, ServerConfig};

fn main() -> ExitCode {
    let mut config = ServerConfig::default();
    if let Some(port) = std::env::var("PORT").ok().and_then(|p| p.parse().ok()) {
        config.port = port;
    }
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--port", Some(v)) => match v.parse() {
                Ok(p) => config.port = p,
                Err(_) => return usage(&format!("invalid port {v:?}")),
            },
            ("--host", Some(v)) => config.host = v,
            ("--help" | "-h", _) => {
                println!("usage: httpserver [--host ADDR] [--port PORT]");
                return ExitCode::SUCCESS;
            }
            (other, _) => return usage(&format!("unknown argument {other:?}")),
        }
    }
    let mut server = Server::new(config.clone());
    server.get("/", |_req: &Request| ok("httpserver is running\n"));
    server.get("/livez", |_req: &Request| ok("ok\n"));
    eprintln!(
        "httpserver listening on http://{}:{}/",
        config.host, config.port
    );
    match server.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("httpserver: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage(message: &str) -> ExitCode {
    eprintln!("httpserver: {message}\nusage: httpserver [--host ADDR] [--port PORT]");
    ExitCode::from(2)
}
