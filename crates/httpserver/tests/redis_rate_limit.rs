//! Rate limits shared through a real `redis-server` (started here on a free
//! loopback port; `tools/install-test-deps.sh` installs it): two server
//! instances enforce one limit, and killing Redis under load neither hangs
//! a worker nor crashes a server, while clients see the configured policy.
//! Built only with the `redis-server-tests` feature (`required-features`
//! in Cargo.toml; `.ci/run` runs it: `cargo test -p httpserver --features
//! redis-server-tests --test redis_rate_limit`).

mod support;

use std::io::Write;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use httpserver::middleware::{OnStoreError, Quota, RateLimit, RedisStore};
use httpserver::{Request, Server};
use support::{config, read_response, TestServer};

struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    fn start() -> Redis {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed: run tools/install-test-deps.sh");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
                let mut buf = [0u8; 16];
                if s.write_all(b"PING\r\n").is_ok()
                    && std::io::Read::read(&mut s, &mut buf)
                        .is_ok_and(|n| buf[..n].starts_with(b"+PONG"))
                {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Redis { child, port }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A server limited through Redis; each store call gives up after
/// `timeout` (and the store then reports errors for its 500 ms pause).
fn instance(
    url: &str,
    quota: Quota,
    policy: OnStoreError,
    prefix: &str,
    timeout: Duration,
) -> TestServer {
    let mut server = Server::new(config());
    server.use_middleware(
        RateLimit::new(quota)
            .store(
                RedisStore::new(url)
                    .unwrap()
                    .key_prefix(prefix)
                    .timeout(timeout),
            )
            .on_store_error(policy),
    );
    server.get("/", |_: &Request| "ok\n");
    TestServer::start(server)
}

/// Sends `n` keep-alive requests; returns (status counts, slowest answer).
fn load(server: &TestServer, n: usize) -> (std::collections::BTreeMap<u16, usize>, Duration) {
    let mut s = server.connect();
    let mut counts = std::collections::BTreeMap::new();
    let mut slowest = Duration::ZERO;
    for _ in 0..n {
        let t = Instant::now();
        s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
        let res = read_response(&mut s);
        slowest = slowest.max(t.elapsed());
        *counts.entry(res.status).or_insert(0) += 1;
    }
    (counts, slowest)
}

#[test]
fn two_instances_share_one_limit_and_survive_redis_dying() {
    let mut redis = Redis::start();
    // 1000 per hour: during the test the budget refills by well under 1 %.
    let quota = Quota::new(1000, Duration::from_secs(3600));
    // This part tests sharing, not timeouts: a generous timeout, so that a
    // Redis reply delayed by a busy machine is not taken for a dead Redis
    // (which would let every request through for the store's pause).
    let sharing = Duration::from_secs(2);
    let a = instance(&redis.url(), quota, OnStoreError::Allow, "t1:", sharing);
    let b = instance(&redis.url(), quota, OnStoreError::Allow, "t1:", sharing);

    // 10,000 requests from one client, spread over both instances by four
    // connections each.
    let clients: Vec<_> = [&a, &b]
        .into_iter()
        .flat_map(|srv| (0..4).map(move |_| srv.addr))
        .map(|addr| {
            std::thread::spawn(move || {
                let mut s = std::net::TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut ok = 0;
                for _ in 0..1250 {
                    s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
                    let res = read_response(&mut s);
                    match res.status {
                        200 => ok += 1,
                        429 => assert!(res.header("retry-after").is_some()),
                        other => panic!("unexpected status {other}"),
                    }
                }
                ok
            })
        })
        .collect();
    let allowed: usize = clients.into_iter().map(|t| t.join().unwrap()).sum();
    println!("shared limit: {allowed} of 10000 allowed across two instances (limit 1000)");
    assert!(
        (950..=1050).contains(&allowed),
        "{allowed} allowed: not one shared limit of 1000"
    );

    // Fresh keys, a fail-open and a fail-closed instance, then Redis dies
    // in the middle of the load. Their timeout is short enough that a
    // request held for one stays well under the 1 s bounds below, and long
    // enough that a live Redis on a busy machine answers in time.
    let failing = Duration::from_millis(300);
    let open = instance(
        &redis.url(),
        Quota::per_second(100_000),
        OnStoreError::Allow,
        "t2:",
        failing,
    );
    let closed = instance(
        &redis.url(),
        Quota::per_second(100_000),
        OnStoreError::Deny,
        "t3:",
        failing,
    );
    let (before_open, _) = load(&open, 200);
    let (before_closed, _) = load(&closed, 200);
    assert_eq!(before_open.get(&200), Some(&200));
    assert_eq!(before_closed.get(&200), Some(&200));
    // A frozen Redis (stopped, so connections hang rather than fail): every
    // call is cut off by the store's timeout.
    let signal = |sig: &str| {
        let pid = redis.child.id().to_string();
        let status = Command::new("kill").args([sig, &pid]).status().unwrap();
        assert!(status.success());
    };
    signal("-STOP");
    let (frozen_open, slow_frozen) = load(&open, 300);
    let (frozen_closed, _) = load(&closed, 300);
    signal("-CONT");
    println!("redis frozen: fail-open {frozen_open:?} (slowest {slow_frozen:?}), fail-closed {frozen_closed:?}");
    assert_eq!(frozen_open.get(&200), Some(&300));
    assert_eq!(frozen_closed.get(&503), Some(&300));
    assert!(
        slow_frozen < Duration::from_secs(1),
        "a frozen Redis held a worker {slow_frozen:?}"
    );

    redis.kill();
    let t = Instant::now();
    let (after_open, slow_open) = load(&open, 500);
    let (after_closed, slow_closed) = load(&closed, 500);
    println!(
        "redis killed: fail-open {after_open:?} (slowest {slow_open:?}), \
         fail-closed {after_closed:?} (slowest {slow_closed:?}), {:?} for 1000 requests",
        t.elapsed()
    );
    assert_eq!(
        after_open.get(&200),
        Some(&500),
        "fail open lets everything through"
    );
    assert_eq!(
        after_closed.get(&503),
        Some(&500),
        "fail closed answers 503"
    );
    // Bounded by one Redis timeout (300 ms) plus scheduling; never a hang.
    assert!(slow_open < Duration::from_secs(1) && slow_closed < Duration::from_secs(1));
    // Both servers still serve.
    assert_eq!(load(&open, 1).0.get(&200), Some(&1));
    assert_eq!(load(&a, 1).0.len(), 1);
}
