//! The `httpserver` binary as a person runs it: exit codes, messages, a
//! served directory with probes and metrics, and a SIGTERM that turns
//! readiness off at once while in-flight downloads finish.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_httpserver");

/// A temporary directory, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!("hs-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("hello.txt"), b"hello\n").unwrap();
        std::fs::write(dir.join("sub/a.txt"), b"a\n").unwrap();
        Dir(dir)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running binary, killed on drop if still running.
struct Running {
    child: Child,
    addr: SocketAddr,
    /// Standard output after the first line (the access log), kept open.
    out: BufReader<std::process::ChildStdout>,
}

impl Running {
    fn start(root: &Path, extra: &[&str]) -> Running {
        let mut child = Command::new(BIN)
            .arg(root)
            .args(["--host", "127.0.0.1", "--port", "0", "--log-level", "warn"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        out.read_line(&mut line).unwrap();
        // "httpserver serving ROOT on http://ADDR/"
        let addr = line
            .trim_end()
            .rsplit_once("http://")
            .and_then(|(_, a)| a.strip_suffix('/'))
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        Running { child, addr, out }
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }

    fn wait(&mut self, limit: Duration) -> ExitStatus {
        let end = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < end, "still running after {limit:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request on a fresh connection; returns (status, body).
fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a response: {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn output(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn help_and_version_exit_zero() {
    let (code, out, _) = output(&["--help"], &[]);
    assert_eq!(code, 0);
    for flag in [
        "--port",
        "--config",
        "--no-listing",
        "--drain-delay",
        "/readyz",
    ] {
        assert!(out.contains(flag), "--help lacks {flag}:\n{out}");
    }
    let (code, out, _) = output(&["--version"], &[]);
    assert_eq!(code, 0);
    assert!(out.starts_with("httpserver "), "{out}");
}

#[test]
fn bad_settings_exit_2_naming_the_field_and_source() {
    let (code, _, err) = output(&["--print-config"], &[("HTTPSERVER_PORT", "eighty")]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("port") && err.contains("HTTPSERVER_PORT"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    let (code, _, err) = output(&["--no-such-flag"], &[]);
    assert_eq!(code, 2, "{err}");

    let dir = Dir::new("badcfg");
    let cfg = dir.0.join("c.toml");
    std::fs::write(&cfg, "[server]\nmax_workerz = 3\n").unwrap();
    let (code, _, err) = output(&["--config", cfg.to_str().unwrap(), "--print-config"], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("max_workerz"), "{err}");
}

#[test]
fn flags_beat_environment_beat_file() {
    let dir = Dir::new("layers");
    let cfg = dir.0.join("c.toml");
    std::fs::write(&cfg, "[server]\nport = 1111\nmax_workers = 7\n").unwrap();
    let (code, out, err) = output(
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--port",
            "3333",
            "--print-config",
        ],
        &[("HTTPSERVER_PORT", "2222"), ("HTTPSERVER_MAX_WORKERS", "9")],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("port = 3333"), "{out}");
    assert!(out.contains("max_workers = 9"), "{out}");
}

#[test]
fn a_port_in_use_is_one_line_and_exit_1() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let dir = Dir::new("inuse");
    let root = dir.0.to_str().unwrap();
    let args = [
        root,
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--log-level",
        "error",
    ];
    let (code, _, err) = output(&args, &[]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(&port), "{err}");
}

#[test]
fn serves_files_listing_probes_and_metrics() {
    let dir = Dir::new("serve");
    let srv = Running::start(&dir.0, &[]);
    assert_eq!(get(srv.addr, "/hello.txt"), (200, "hello\n".to_string()));
    let (status, listing) = get(srv.addr, "/");
    assert_eq!(status, 200);
    assert!(listing.contains("href=\"sub/\"") && listing.contains("hello.txt"));
    assert_eq!(get(srv.addr, "/sub").0, 308);
    assert_eq!(get(srv.addr, "/livez").0, 200);
    assert_eq!(get(srv.addr, "/readyz").0, 200);
    let (status, health) = get(srv.addr, "/healthz");
    assert_eq!(status, 200);
    assert!(health.contains("\"status\""), "{health}");
    let (status, metrics) = get(srv.addr, "/metrics");
    assert_eq!(status, 200);
    assert!(metrics.contains("# TYPE"), "{metrics}");
    assert!(metrics.contains("GET"), "{metrics}");
}

/// The CPU list each thread named `name` of process `pid` may run on.
fn thread_cpus(pid: u32, name: &str) -> Vec<String> {
    let mut lists = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let status = std::fs::read_to_string(task.unwrap().path().join("status")).unwrap();
        let field = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .map(|v| v.trim().to_string())
                .unwrap_or_default()
        };
        if field("Name:") == name {
            lists.push(field("Cpus_allowed_list:"));
        }
    }
    lists.sort();
    lists
}

#[test]
fn pin_workers_gives_each_worker_one_allowed_cpu_in_turn() {
    let dir = Dir::new("pin");
    let srv = Running::start(&dir.0, &["--pin-workers", "--workers-min", "2"]);
    assert_eq!(get(srv.addr, "/hello.txt"), (200, "hello\n".to_string()));
    // A thread takes its name when it is spawned and pins itself when it
    // first runs: on a busy machine the second worker may not have done
    // either yet, so wait for both (bounded).
    let deadline = Instant::now() + Duration::from_secs(10);
    let single = |lists: &[String]| lists.iter().all(|l| l.parse::<usize>().is_ok());
    let mut pinned = thread_cpus(srv.child.id(), "httpserver-work");
    while (pinned.len() < 2 || !single(&pinned)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        pinned = thread_cpus(srv.child.id(), "httpserver-work");
    }
    assert_eq!(pinned.len(), 2, "{pinned:?}");
    for list in &pinned {
        assert!(
            list.parse::<usize>().is_ok(),
            "each worker on a single CPU: {pinned:?}"
        );
    }
    let allowed = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix("Cpus_allowed_list:")
                .map(|v| v.trim().to_string())
        })
        .unwrap();
    if allowed.contains([',', '-']) {
        assert_ne!(pinned[0], pinned[1], "two CPUs allowed: one each");
    }
    // Without the flag nothing is pinned.
    let plain = Running::start(&dir.0, &["--workers-min", "2"]);
    for list in thread_cpus(plain.child.id(), "httpserver-work") {
        assert_eq!(list, allowed);
    }
}

#[test]
fn sigterm_turns_readyz_503_at_once_and_in_flight_downloads_finish() {
    let dir = Dir::new("drain");
    let data: Vec<u8> = (0..16u32 << 20).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.0.join("big.bin"), &data).unwrap();
    // A drain delay long enough that "ready turns false at once" (well
    // within 1 s) is clearly apart from "ready turns false when the drain
    // begins" (3 s), with room left to check serving during the delay.
    let mut srv = Running::start(&dir.0, &["--drain-delay", "3s"]);
    assert_eq!(get(srv.addr, "/readyz").0, 200);

    // A download in flight: the head and a little of the body, then stall.
    let mut dl = TcpStream::connect(srv.addr).unwrap();
    dl.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    dl.write_all(b"GET /big.bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut got = vec![0u8; 64 * 1024];
    let n = dl.read(&mut got).unwrap();
    got.truncate(n);

    srv.signal("TERM");
    let sent = Instant::now();
    let flipped = loop {
        let (status, _) = get(srv.addr, "/readyz");
        if status == 503 {
            break sent.elapsed();
        }
        assert_eq!(status, 200);
        assert!(
            sent.elapsed() < Duration::from_secs(1),
            "/readyz still 200 after {:?}",
            sent.elapsed()
        );
        std::thread::sleep(Duration::from_millis(2));
    };
    assert!(
        flipped < Duration::from_secs(1),
        "/readyz flipped after {flipped:?}: not at once"
    );
    // Within the drain delay, other requests are still served.
    assert_eq!(get(srv.addr, "/hello.txt"), (200, "hello\n".to_string()));
    assert_eq!(get(srv.addr, "/livez").0, 200);

    // The stalled download finishes whole.
    dl.read_to_end(&mut got).unwrap();
    let split = got.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert!(got.starts_with(b"HTTP/1.1 200"));
    assert!(
        got[split..] == data[..],
        "download cut short: {} bytes",
        got.len() - split
    );

    let status = srv.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
    assert!(
        TcpStream::connect(srv.addr).is_err(),
        "still accepting after exit"
    );
}

/// Sends raw request bytes on a fresh connection and reads to the close.
fn raw(addr: SocketAddr, request: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn middleware_flags_cors_rate_limit_compression_and_access_log() {
    let dir = Dir::new("middleware");
    let text = "hello, compressible world\n".repeat(200);
    std::fs::write(dir.0.join("page.txt"), &text).unwrap();
    let mut server = Running::start(
        &dir.0,
        &[
            "--cors",
            "https://app.test",
            "--rate-limit",
            "4/m",
            "--log-format",
            "combined",
            "--security-headers",
        ],
    );
    let pre = raw(
        server.addr,
        "OPTIONS /page.txt HTTP/1.1\r\nHost: t\r\nOrigin: https://app.test\r\n\
         Access-Control-Request-Method: GET\r\nConnection: close\r\n\r\n",
    );
    assert!(pre.starts_with("HTTP/1.1 204"), "{pre}");
    assert!(
        pre.contains("access-control-allow-origin: https://app.test\r\n"),
        "{pre}"
    );
    // The first counted request: Retry-After below counts from it.
    let first_counted = Instant::now();
    let gz = raw(
        server.addr,
        "GET /page.txt HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\
         Origin: https://app.test\r\nX-Request-Id: cli-test-1\r\nConnection: close\r\n\r\n",
    );
    assert!(gz.starts_with("HTTP/1.1 200"), "{gz}");
    assert!(gz.contains("content-encoding: gzip\r\n"), "{gz}");
    assert!(gz.contains("x-request-id: cli-test-1\r\n"), "{gz}");
    assert!(gz.contains("x-content-type-options: nosniff\r\n"), "{gz}");
    assert!(
        gz.contains("ratelimit-policy: \"default\";q=4;w=60\r\n"),
        "{gz}"
    );
    // One spent (the preflight is answered before the limit); three more
    // fit, then 429.
    for _ in 0..3 {
        assert_eq!(get(server.addr, "/page.txt").0, 200);
    }
    let over = raw(
        server.addr,
        "GET /page.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    assert!(over.starts_with("HTTP/1.1 429"), "{over}");
    // One request per 15 s: a fifth may come 15 s after the first, less
    // the time since it, rounded up. So exactly 15 when the five took
    // under a second, one less for each whole second they took.
    let elapsed = first_counted.elapsed().as_secs();
    let retry: u64 = over
        .split("\r\n")
        .find_map(|l| l.strip_prefix("retry-after: "))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no retry-after: {over}"));
    assert!(
        (15u64.saturating_sub(elapsed)..=15).contains(&retry),
        "retry-after {retry} after {elapsed} s: {over}"
    );
    // The access log, Combined format, one line per request, on stdout.
    let mut lines = Vec::new();
    for _ in 0..6 {
        let mut line = String::new();
        server.out.read_line(&mut line).unwrap();
        lines.push(line);
    }
    // Lines from different workers are flushed by thread, so not
    // necessarily in order: count them.
    let count = |needle: &str| lines.iter().filter(|l| l.contains(needle)).count();
    assert!(
        lines.iter().all(|l| l.starts_with("127.0.0.1 - - [")),
        "{lines:?}"
    );
    assert_eq!(
        count("\"OPTIONS /page.txt HTTP/1.1\" 204 - \"-\" \"-\""),
        1,
        "{lines:?}"
    );
    assert_eq!(count("\"GET /page.txt HTTP/1.1\" 200 "), 4, "{lines:?}");
    assert_eq!(count("\"GET /page.txt HTTP/1.1\" 429 "), 1, "{lines:?}");
    server.signal("TERM");
    assert!(server.wait(Duration::from_secs(10)).success());
}

#[test]
fn bad_middleware_settings_exit_2_naming_the_field() {
    let (code, _, err) = output(&["--print-config", "--rate-limit", "fast"], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("`rate_limit.limit`") && err.contains("--rate-limit"),
        "{err}"
    );
    let (code, _, err) = output(&["--print-config", "--cors", "https://a.test/"], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("`cors.origins`") && err.contains("https://a.test/"),
        "{err}"
    );
    let (code, _, err) = output(
        &["--print-config", "--cors"],
        &[("HTTPSERVER_CORS_CREDENTIALS", "true")],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("credentials"), "{err}");
    let (code, _, err) = output(
        &["--print-config"],
        &[("HTTPSERVER_COMPRESSION_GZIP_LEVEL", "12")],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("`compression.gzip_level`")
            && err.contains("HTTPSERVER_COMPRESSION_GZIP_LEVEL"),
        "{err}"
    );
    let (code, _, err) = output(
        &["--print-config"],
        &[("HTTPSERVER_RATE_LIMIT_ON_STORE_ERROR", "maybe")],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("`rate_limit.on_store_error`"), "{err}");
    let (code, _, err) = output(&["--print-config", "--log-format", "xml"], &[]);
    assert_eq!(code, 2, "{err}");
    // The library's `ServerConfig::middleware` is filled from the tables;
    // setting it inside `[server]` is refused, not silently ignored.
    let dir = Dir::new("server-middleware");
    let config = dir.0.join("nested.toml");
    std::fs::write(
        &config,
        "[server.middleware.cors]\norigins = \"https://a.test\"\n",
    )
    .expect("write config");
    let config = config.to_string_lossy().into_owned();
    let (code, _, err) = output(&["--print-config", "--config", &config], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("`server.middleware`") && err.contains("[cors]"),
        "{err}"
    );
    // Even when what it says is the default.
    std::fs::write(&config, "[server.middleware.cors]\n").expect("write config");
    let (code, _, err) = output(&["--print-config", "--config", &config], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("`server.middleware`"), "{err}");
    // A log file that cannot be opened is not a bad value but a server
    // that cannot run: exit 1, naming the setting, before it listens.
    let root = dir.0.to_string_lossy().into_owned();
    let (code, _, err) = output(
        &[&root, "--port", "0"],
        &[("HTTPSERVER_LOG_FILE", "/nonexistent-dir/access.log")],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("`log.file`") && err.contains("cannot start"),
        "{err}"
    );
}

/// Sends `request` on a fresh connection; the status and the whole answer.
fn status_of(addr: SocketAddr, request: &str) -> (u16, String) {
    let text = raw(addr, request);
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, text)
}

#[test]
fn guards_from_the_file_require_credentials_but_not_for_probes() {
    let dir = Dir::new("guards");
    let config = dir.0.join("guards.toml");
    std::fs::write(
        &config,
        "[guards]\nbasic_auth = \"ada:lovelace\"\nrequest_timeout = \"5s\"\nrealm = \"files\"\n",
    )
    .unwrap();
    let mut server = Running::start(&dir.0, &["--config", config.to_str().unwrap()]);
    let (status, text) = status_of(
        server.addr,
        "GET /hello.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 401, "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("www-authenticate: basic realm=\"files\""),
        "{text}"
    );
    let (status, text) = status_of(
        server.addr,
        "GET /hello.txt HTTP/1.1\r\nHost: t\r\nAuthorization: Basic YWRhOmxvdmVsYWNl\r\n\
         Connection: close\r\n\r\n",
    );
    assert_eq!(status, 200, "{text}");
    assert!(text.ends_with("hello\n"), "{text}");
    // "ada:wrong"
    let (status, _) = status_of(
        server.addr,
        "GET /hello.txt HTTP/1.1\r\nHost: t\r\nAuthorization: Basic YWRhOndyb25n\r\n\
         Connection: close\r\n\r\n",
    );
    assert_eq!(status, 401);
    for probe in ["/livez", "/readyz", "/metrics"] {
        assert_eq!(get(server.addr, probe).0, 200, "{probe}");
    }
    server.signal("TERM");
    assert!(server.wait(Duration::from_secs(10)).success());
}

#[test]
fn bad_guards_exit_2_naming_the_field() {
    let (code, _, err) = output(&["--print-config", "--request-timeout", "soon"], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("`guards.request_timeout`") && err.contains("--request-timeout"),
        "{err}"
    );
    let (code, _, err) = output(
        &["--print-config"],
        &[("HTTPSERVER_GUARDS_BASIC_AUTH", "no-colon")],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("`guards.basic_auth`") && err.contains("HTTPSERVER_GUARDS_BASIC_AUTH"),
        "{err}"
    );
    let (code, _, err) = output(
        &["--print-config"],
        &[
            ("HTTPSERVER_GUARDS_BASIC_AUTH", "a:b"),
            ("HTTPSERVER_GUARDS_BEARER_TOKEN", "t"),
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not both"), "{err}");
    let (code, out, err) = output(&["--print-config", "--request-timeout", "250ms"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("request_timeout = \"250ms\""), "{out}");
}
