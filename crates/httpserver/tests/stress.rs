//! Many clients at once, keep-alive and pipelined, across pool growth: every
//! response must belong to its own request and arrive in order.

mod support;

use std::io::Write;
use std::time::Duration;

use httpserver::ServerConfig;
use support::*;

#[test]
fn concurrent_clients_get_their_own_responses_in_order() {
    let srv = app(ServerConfig {
        min_workers: 1,
        max_workers: 8,
        worker_idle_timeout: Duration::from_millis(200),
        ..config()
    });
    let clients: Vec<_> = (0..24)
        .map(|c| {
            let addr = srv.addr;
            std::thread::spawn(move || {
                let mut s = std::net::TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                let mut n = 0;
                for round in 0..40 {
                    let depth = 1 + (c + round) % 5;
                    let mut batch = Vec::new();
                    for k in 0..depth {
                        write!(
                            batch,
                            "GET /users/{c}-{round}-{k} HTTP/1.1\r\nHost: t\r\n\r\n"
                        )
                        .unwrap();
                    }
                    if round % 7 == 3 {
                        write!(batch, "GET /sleep/5 HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
                    }
                    s.write_all(&batch).unwrap();
                    for k in 0..depth {
                        let r = read_response(&mut s);
                        assert_eq!(r.body_text(), format!("user {c}-{round}-{k}"));
                        n += 1;
                    }
                    if round % 7 == 3 {
                        assert_eq!(read_response(&mut s).body_text(), "slept 5");
                    }
                }
                n
            })
        })
        .collect();
    let total: usize = clients.into_iter().map(|c| c.join().unwrap()).sum();
    assert!(total > 24 * 40);
    // Extra workers retire once idle; the server keeps answering.
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(
        exchange(srv.addr, b"GET /users/end HTTP/1.1\r\nHost: t\r\n\r\n").statuses(),
        [200]
    );
}
