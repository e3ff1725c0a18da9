//! Runtime behaviour: timeouts, the worker pool (slow handlers, overflow
//! queue, 503), panics, max connections and graceful shutdown.

mod support;

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use httpserver::response::ok;
use httpserver::{Request, Server, ServerConfig, ServerState};
use support::*;

/// The usual test app plus `/gate`, whose handler waits at `gate` (it
/// answers "opened", or "gate timed out" after [`Gate::CAP`]), and the
/// server's state, to poll.
fn gated_app(config: ServerConfig, gate: &Gate) -> (TestServer, ServerState) {
    let mut server = Server::new(config);
    routes(&mut server);
    let gate = gate.clone();
    server.get("/gate", move |_req: &Request| {
        ok(if gate.wait() {
            "opened"
        } else {
            "gate timed out"
        })
    });
    let state = server.state();
    (TestServer::start(server), state)
}

/// Waits (bounded) until `n` handlers are running.
fn wait_for_busy(state: &ServerState, n: usize) {
    wait_until(&format!("{n} handler(s) run"), || {
        state.stats().busy_workers >= n
    });
}

#[test]
fn slow_request_head_gets_408_and_close() {
    let srv = app(ServerConfig {
        head_timeout: Duration::from_millis(300),
        ..config()
    });
    let mut s = srv.connect();
    s.write_all(b"GET /users/1 HTTP/1.1\r\nHost: t\r\n")
        .unwrap();
    let start = Instant::now();
    let ex = read_all(&mut s, Duration::from_secs(3));
    assert_eq!(ex.statuses(), [408], "{}", ex.text());
    assert!(ex.closed);
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[test]
fn slowloris_trickle_does_not_extend_the_head_timeout() {
    let srv = app(ServerConfig {
        head_timeout: Duration::from_millis(400),
        ..config()
    });
    let mut s = srv.connect();
    s.write_all(b"GET / HTTP/1.1\r\n").unwrap();
    let start = Instant::now();
    let mut closed = false;
    for i in 0..40 {
        std::thread::sleep(Duration::from_millis(50));
        if write!(s, "X-{i}: v\r\n").is_err() {
            closed = true;
            break;
        }
    }
    let ex = read_all(&mut s, Duration::from_secs(2));
    assert!(closed || ex.closed, "connection must be closed");
    assert!(
        ex.text().is_empty() || ex.statuses() == [408],
        "{}",
        ex.text()
    );
    assert!(start.elapsed() < Duration::from_millis(2500));
}

#[test]
fn slow_body_gets_408() {
    let srv = app(ServerConfig {
        body_timeout: Duration::from_millis(300),
        ..config()
    });
    let mut s = srv.connect();
    s.write_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
        .unwrap();
    let ex = read_all(&mut s, Duration::from_secs(3));
    assert_eq!(ex.statuses(), [408]);
    assert!(ex.closed);
}

#[test]
fn idle_keep_alive_connection_is_closed_after_its_timeout() {
    let srv = app(ServerConfig {
        keep_alive_timeout: Duration::from_millis(300),
        ..config()
    });
    let mut s = srv.connect();
    // Timed from before the request, so the client's start is never later
    // than the server's: the server starts the idle timer after answering,
    // from a clock that may be some milliseconds old. An immediate close
    // takes a few milliseconds, not 200.
    let start = Instant::now();
    s.write_all(b"GET /users/1 HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut s).status, 200);
    let ex = read_all(&mut s, Duration::from_secs(3));
    assert!(
        ex.closed && ex.bytes.is_empty(),
        "closed silently: {}",
        ex.text()
    );
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(200) && waited < Duration::from_secs(2),
        "{waited:?}"
    );
}

#[test]
fn a_sleeping_handler_does_not_delay_other_connections() {
    // The slow handler blocks until the test opens the gate, so the fast
    // requests are answered while it is still running or not at all.
    let gate = Gate::new();
    let _opener = gate.opener();
    let (srv, state) = gated_app(config(), &gate);
    let slow = std::thread::spawn({
        let addr = srv.addr;
        move || {
            exchange_with(
                addr,
                b"GET /gate HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                Duration::from_secs(30),
            )
        }
    });
    wait_for_busy(&state, 1);
    for i in 0..20 {
        let ex = exchange_with(
            srv.addr,
            format!("GET /users/{i} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes(),
            Duration::from_secs(3),
        );
        assert_eq!(ex.statuses(), [200], "request {i} behind the slow handler");
    }
    gate.open();
    assert_eq!(slow.join().unwrap().responses()[0].body_text(), "opened");
}

#[test]
fn full_pool_and_queue_answer_503_with_retry_after() {
    let started = Arc::new(AtomicUsize::new(0));
    let release = Arc::new(Barrier::new(3));
    let mut server = Server::new(ServerConfig {
        min_workers: 1,
        max_workers: 2,
        queue_capacity: 1,
        ..config()
    });
    {
        let started = started.clone();
        let release = release.clone();
        server.get("/block", move |_req: &Request| {
            started.fetch_add(1, Ordering::SeqCst);
            release.wait();
            ok("released")
        });
    }
    server.get("/fast", |_req: &Request| ok("fast"));
    let state = server.state();
    let srv = TestServer::start(server);
    // Two requests take both handler slots.
    let blockers: Vec<_> = (0..2)
        .map(|_| {
            let addr = srv.addr;
            std::thread::spawn(move || {
                exchange_with(
                    addr,
                    b"GET /block HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                    Duration::from_secs(30),
                )
            })
        })
        .collect();
    let t0 = Instant::now();
    while started.load(Ordering::SeqCst) < 2 {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "handlers did not start"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // The third waits in the queue (capacity 1) ...
    let queued = std::thread::spawn({
        let addr = srv.addr;
        move || {
            exchange_with(
                addr,
                b"GET /fast HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                Duration::from_secs(30),
            )
        }
    });
    wait_until("the third request is queued", || state.stats().queued == 1);
    // ... and the fourth finds the queue full.
    let ex = exchange_with(
        srv.addr,
        b"GET /fast HTTP/1.1\r\nHost: t\r\n\r\n",
        Duration::from_secs(3),
    );
    let rs = ex.responses();
    assert_eq!(ex.statuses(), [503], "{}", ex.text());
    assert_eq!(rs[0].header("retry-after"), Some("1"));
    assert!(ex.closed);
    release.wait();
    for b in blockers {
        assert_eq!(b.join().unwrap().responses()[0].body_text(), "released");
    }
    assert_eq!(queued.join().unwrap().responses()[0].body_text(), "fast");
}

#[test]
fn a_panicking_handler_gives_500_and_the_server_lives_on() {
    let srv = app(config());
    for _ in 0..3 {
        let ex = exchange(
            srv.addr,
            b"GET /panic HTTP/1.1\r\nHost: t\r\n\r\nGET /users/after HTTP/1.1\r\nHost: t\r\n\r\n",
        );
        let rs = ex.responses();
        assert_eq!(ex.statuses(), [500, 200], "{}", ex.text());
        assert_eq!(rs[1].body_text(), "user after");
    }
}

#[test]
fn connections_over_the_limit_get_503() {
    let mut server = Server::new(ServerConfig {
        max_connections: 2,
        ..config()
    });
    routes(&mut server);
    let state = server.state();
    let srv = TestServer::start(server);
    let _a = srv.connect();
    let _b = srv.connect();
    wait_until("both connections are open", || {
        state.stats().open_connections == 2
    });
    let ex = exchange(srv.addr, b"GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(ex.statuses(), [503]);
    assert!(ex.closed);
    // Once the server has seen the close, the slot is free again.
    drop(_a);
    wait_until("the closed connection's slot is freed", || {
        state.stats().open_connections == 1
    });
    assert_eq!(
        exchange(srv.addr, b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").statuses(),
        [200]
    );
}

#[test]
fn shutdown_finishes_in_flight_requests_and_refuses_new_connections() {
    // The in-flight handler runs until the test opens the gate, after its
    // checks of the draining server; the shutdown deadline is far off, so
    // stopping soon after the handler returns shows that the drain ends
    // when the work does, not at the deadline.
    let gate = Gate::new();
    let _opener = gate.opener();
    let (srv, state) = gated_app(
        ServerConfig {
            shutdown_timeout: Duration::from_secs(30),
            ..config()
        },
        &gate,
    );
    let addr = srv.addr;
    let mut idle = srv.connect();
    idle.write_all(b"GET /users/idle HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut idle).status, 200);
    let slow = std::thread::spawn(move || {
        exchange_with(
            addr,
            b"GET /gate HTTP/1.1\r\nHost: t\r\n\r\n",
            Duration::from_secs(30),
        )
    });
    wait_for_busy(&state, 1);
    let handle = srv.handle();
    // Without a drain delay, asking for shutdown stops accepting before it
    // returns; `shutdown` on the other thread then only waits.
    handle.shutdown();
    let stopper = std::thread::spawn(move || srv.shutdown());
    assert!(!handle.is_ready(), "not ready while draining");
    // New connections are refused.
    assert!(
        TcpStream::connect(addr).is_err(),
        "still accepting during drain"
    );
    // The idle keep-alive connection is closed.
    let ex = read_all(&mut idle, Duration::from_secs(2));
    assert!(ex.closed && ex.bytes.is_empty());
    // The in-flight request completes, told that the connection closes.
    assert!(!handle.is_stopped(), "stopped with a handler still running");
    let released = Instant::now();
    gate.open();
    let ex = slow.join().unwrap();
    let rs = ex.responses();
    assert_eq!(rs[0].body_text(), "opened");
    assert_eq!(rs[0].header("connection"), Some("close"));
    stopper.join().unwrap();
    assert!(handle.is_stopped());
    let took = released.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "stopped {took:?} after the last handler returned: waited for the deadline?"
    );
}

#[test]
fn shutdown_deadline_stops_a_handler_that_never_ends() {
    let mut server = Server::new(ServerConfig {
        shutdown_timeout: Duration::from_millis(300),
        ..config()
    });
    routes(&mut server);
    let state = server.state();
    let srv = TestServer::start(server);
    let addr = srv.addr;
    let _slow = std::thread::spawn(move || {
        exchange_with(
            addr,
            b"GET /sleep/30000 HTTP/1.1\r\nHost: t\r\n\r\n",
            Duration::from_secs(31),
        )
    });
    wait_for_busy(&state, 1);
    // The deadline (300 ms), a sweep and at most a second waiting for the
    // stuck worker to settle: well under 5 s, and far from the 30 s the
    // handler would take.
    let started = Instant::now();
    srv.shutdown();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn ipv6_loopback_works() {
    let mut server = Server::new(ServerConfig {
        host: "::1".into(),
        ..config()
    });
    routes(&mut server);
    let Ok(running) = server.start() else {
        eprintln!("no IPv6 loopback on this machine; skipping");
        return;
    };
    let srv_addr = running.local_addr();
    let ex = exchange(srv_addr, b"GET /users/v6 HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(ex.responses()[0].body_text(), "user v6");
    running.shutdown();
}

#[test]
fn events_claimed_behind_a_blocked_handler_are_served_by_another_worker() {
    // One worker, so it claims the slow request and the fast ones in one
    // batch; the fast ones must not wait for the slow handler.
    // The slow handler waits until the test opens the gate, so the fast
    // answers either come while it runs or not at all.
    let gate = Gate::new();
    let _opener = gate.opener();
    let (srv, state) = gated_app(
        ServerConfig {
            min_workers: 1,
            max_workers: 4,
            ..config()
        },
        &gate,
    );
    let mut conns: Vec<std::net::TcpStream> = (0..8).map(|_| srv.connect()).collect();
    wait_until("all 8 connections are accepted", || {
        state.stats().open_connections == 8
    });
    let mut batch = vec![(0usize, b"GET /gate HTTP/1.1\r\nHost: t\r\n\r\n".to_vec())];
    for i in 1..8 {
        batch.push((
            i,
            format!("GET /users/{i} HTTP/1.1\r\nHost: t\r\n\r\n").into_bytes(),
        ));
    }
    for (i, bytes) in &batch {
        conns[*i].write_all(bytes).unwrap();
    }
    // Read with the connections' 5 s timeout, while the gate is closed: a
    // fast request stuck behind the slow handler is never answered.
    for (i, conn) in conns.iter_mut().enumerate().skip(1) {
        let r = read_response(conn);
        assert_eq!(r.body_text(), format!("user {i}"));
    }
    gate.open();
    assert_eq!(read_response(&mut conns[0]).body_text(), "opened");
}

#[test]
fn a_computing_handler_does_not_stall_a_one_worker_pool() {
    // The only worker is runnable, not blocked, until the test lets it stop
    // (at most 20 s): the pool must still grow (after its longer wait for
    // runnable threads) and serve others while it computes.
    let stop = Arc::new(AtomicBool::new(false));
    let mut server = Server::new(ServerConfig {
        min_workers: 1,
        max_workers: 2,
        ..config()
    });
    routes(&mut server);
    {
        let stop = stop.clone();
        server.get("/spin-until-stopped", move |_req: &Request| {
            let end = Instant::now() + Duration::from_secs(20);
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                if Instant::now() > end {
                    return ok("spun out");
                }
                n = std::hint::black_box(n.wrapping_add(1));
            }
            ok("stopped")
        });
    }
    let state = server.state();
    let srv = TestServer::start(server);
    // Lets the spinner stop even if an assertion below fails.
    struct Stop(Arc<AtomicBool>);
    impl Drop for Stop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let _stop = Stop(stop.clone());
    let slow = std::thread::spawn({
        let addr = srv.addr;
        move || {
            exchange_with(
                addr,
                b"GET /spin-until-stopped HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                Duration::from_secs(30),
            )
        }
    });
    wait_for_busy(&state, 1);
    let ex = exchange_with(
        srv.addr,
        b"GET /users/7 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        Duration::from_secs(3),
    );
    assert_eq!(ex.statuses(), [200], "no answer behind a computing handler");
    stop.store(true, Ordering::Relaxed);
    assert_eq!(slow.join().unwrap().responses()[0].body_text(), "stopped");
}
