use super::*;
use crate::middleware::run_chain;

fn req(peer: &str, headers: &[(&str, &str)]) -> Request {
    let mut b = http::Request::get("/");
    for (n, v) in headers {
        b = b.header(*n, *v);
    }
    let mut r = Request::from_http(b.body(Vec::new()).unwrap()).unwrap();
    r.set_peer_addr(peer.parse().unwrap());
    r
}

fn run(rl: &Arc<RateLimit>, mut r: Request) -> Response {
    let chain: Vec<Arc<dyn Middleware>> = vec![rl.clone()];
    run_chain(&chain, &mut r, &|_| {
        Response::new(StatusCode::OK).with_text("ok")
    })
}

fn header<'a>(res: &'a Response, name: &str) -> Option<&'a str> {
    res.headers().get(name).map(|v| v.to_str().unwrap())
}

#[test]
fn gcra_allows_the_burst_then_paces() {
    let q = Quota::new(5, Duration::from_secs(1));
    let mut tat = None;
    let now = 1_000_000_000;
    for expect_remaining in [4, 3, 2, 1, 0] {
        let (t, d) = gcra(tat, now, &q);
        assert!(d.allowed);
        assert_eq!(d.remaining, expect_remaining);
        tat = t;
    }
    let (t, d) = gcra(tat, now, &q);
    assert!(!d.allowed);
    assert_eq!(t, tat, "a denied request spends nothing");
    assert_eq!(d.retry_after, Duration::from_millis(200));
    assert_eq!(d.reset, Duration::from_secs(1));
    // 200 ms later exactly one more fits.
    let (t, d) = gcra(tat, now + 200_000_000, &q);
    assert!(d.allowed && d.remaining == 0);
    let (_, d) = gcra(t, now + 200_000_000, &q);
    assert!(!d.allowed);
    // After a full period the bucket is whole again.
    let (_, d) = gcra(t, now + 2_000_000_000, &q);
    assert_eq!(d.remaining, 4);
}

#[test]
fn quotas_parse() {
    assert_eq!("100/s".parse::<Quota>(), Ok(Quota::per_second(100)));
    assert_eq!("60/min".parse::<Quota>(), Ok(Quota::per_minute(60)));
    assert_eq!(
        "1000/h".parse::<Quota>(),
        Ok(Quota::new(1000, Duration::from_secs(3600)))
    );
    assert_eq!(
        "10/30s".parse::<Quota>(),
        Ok(Quota::new(10, Duration::from_secs(30)))
    );
    for bad in [
        "",
        "100",
        "0/s",
        "10/0s",
        "-1/s",
        "10/fortnight",
        "x/s",
        "10/s/s",
    ] {
        let e = bad.parse::<Quota>().unwrap_err();
        assert_eq!(e, RateLimitError::InvalidQuota(bad.to_string()));
    }
}

#[test]
fn over_the_limit_gets_429_with_headers() {
    let rl = Arc::new(RateLimit::new(Quota::new(3, Duration::from_secs(60))));
    // The values below count from the first request, rounded up: exact
    // when the four requests take under a second, one less for each whole
    // second a stalled test thread adds.
    let first = std::time::Instant::now();
    for remaining in ["2", "1", "0"] {
        let res = run(&rl, req("192.0.2.1:1000", &[]));
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            header(&res, "ratelimit-policy"),
            Some("\"default\";q=3;w=60")
        );
        let rl_value = header(&res, "ratelimit").unwrap();
        assert!(
            rl_value.starts_with(&format!("\"default\";r={remaining};t=")),
            "{rl_value}"
        );
    }
    let res = run(&rl, req("192.0.2.1:1001", &[]));
    let late = first.elapsed().as_secs();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = header(&res, "retry-after").unwrap().parse().unwrap();
    assert!(
        (20u64.saturating_sub(late)..=20).contains(&retry),
        "retry-after {retry} after {late} s"
    );
    let rl_value = header(&res, "ratelimit").unwrap();
    let t: u64 = rl_value
        .strip_prefix("\"default\";r=0;t=")
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("{rl_value}"));
    assert!(
        (60u64.saturating_sub(late)..=60).contains(&t),
        "{rl_value} after {late} s"
    );
    // Another client has its own budget.
    assert_eq!(
        run(&rl, req("192.0.2.2:1000", &[])).status(),
        StatusCode::OK
    );
    // IPv4-mapped IPv6 is the same client.
    let res = run(&rl, req("[::ffff:192.0.2.1]:1000", &[]));
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[test]
fn headers_can_be_limited_to_429s_and_renamed() {
    let rl = Arc::new(
        RateLimit::new(Quota::new(1, Duration::from_secs(10)))
            .headers(false)
            .policy_name("api"),
    );
    let res = run(&rl, req("192.0.2.1:1", &[]));
    assert_eq!(header(&res, "ratelimit"), None);
    let res = run(&rl, req("192.0.2.1:1", &[]));
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&res, "ratelimit-policy"), Some("\"api\";q=1;w=10"));
}

#[test]
fn forwarding_headers_count_only_from_trusted_proxies() {
    let rl = RateLimit::new(Quota::per_second(10))
        .trust_proxies(["10.0.0.0/8", "::1"])
        .unwrap();
    let ip = |peer: &str, h: &[(&str, &str)]| rl.client_ip(&req(peer, h)).unwrap().to_string();
    // Not from a proxy: the header is the client's own claim, ignored.
    assert_eq!(
        ip("203.0.113.9:1", &[("x-forwarded-for", "1.1.1.1")]),
        "203.0.113.9"
    );
    // From a proxy: the right-most address that is not a proxy.
    assert_eq!(
        ip("10.0.0.5:1", &[("x-forwarded-for", "1.1.1.1")]),
        "1.1.1.1"
    );
    assert_eq!(
        ip(
            "10.0.0.5:1",
            &[("x-forwarded-for", "6.6.6.6, 2.2.2.2, 10.1.1.1")]
        ),
        "2.2.2.2",
        "a spoofed left-most entry must not win"
    );
    assert_eq!(
        ip(
            "10.0.0.5:1",
            &[
                ("x-forwarded-for", "6.6.6.6"),
                ("x-forwarded-for", "2.2.2.2")
            ]
        ),
        "2.2.2.2"
    );
    assert_eq!(
        ip("[::1]:1", &[("x-forwarded-for", "2001:db8::7")]),
        "2001:db8::7"
    );
    // Forwarded (RFC 7239) wins over X-Forwarded-For, with ports and quotes.
    assert_eq!(
        ip(
            "10.0.0.5:1",
            &[
                (
                    "forwarded",
                    "for=192.0.2.60;proto=http, for=\"[2001:db8::1]:4711\""
                ),
                ("x-forwarded-for", "9.9.9.9")
            ]
        ),
        "2001:db8::1"
    );
    assert_eq!(
        ip("10.0.0.5:1", &[("forwarded", "For=\"198.51.100.17:80\"")]),
        "198.51.100.17"
    );
    // A proxy with no header, or garbage: the proxy itself.
    assert_eq!(ip("10.0.0.5:1", &[]), "10.0.0.5");
    assert_eq!(
        ip("10.0.0.5:1", &[("x-forwarded-for", "unknown, ???")]),
        "10.0.0.5"
    );
    // Every hop trusted: the left-most.
    assert_eq!(
        ip("10.0.0.5:1", &[("x-forwarded-for", "10.9.9.9, 10.0.0.7")]),
        "10.9.9.9"
    );
}

#[test]
fn invalid_proxies_are_refused() {
    for bad in ["10.0.0.0/33", "nonsense", "::1/129", ""] {
        let e = RateLimit::new(Quota::per_second(1))
            .trust_proxies([bad])
            .unwrap_err();
        assert_eq!(e, RateLimitError::InvalidProxy(bad.to_string()));
    }
}

#[test]
fn cidr_matching() {
    let c = Cidr::parse("192.168.0.0/16").unwrap();
    assert!(c.contains("192.168.255.1".parse().unwrap()));
    assert!(!c.contains("192.169.0.1".parse().unwrap()));
    assert!(c.contains("::ffff:192.168.1.1".parse().unwrap()));
    let all = Cidr::parse("0.0.0.0/0").unwrap();
    assert!(all.contains("8.8.8.8".parse().unwrap()));
    let v6 = Cidr::parse("2001:db8::/32").unwrap();
    assert!(v6.contains("2001:db8:1::1".parse().unwrap()));
    assert!(!v6.contains("2001:db9::1".parse().unwrap()));
    assert!(!v6.contains("10.0.0.1".parse().unwrap()));
}

#[test]
fn custom_keys_and_exemptions() {
    let rl = Arc::new(
        RateLimit::new(Quota::new(1, Duration::from_secs(60)))
            .key(|r| r.header("x-api-key").map(str::to_owned)),
    );
    let with = |k: &str| req("192.0.2.1:1", &[("x-api-key", k)]);
    assert_eq!(run(&rl, with("a")).status(), StatusCode::OK);
    assert_eq!(run(&rl, with("a")).status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(run(&rl, with("b")).status(), StatusCode::OK);
    // No key: not limited.
    for _ in 0..5 {
        assert_eq!(run(&rl, req("192.0.2.1:1", &[])).status(), StatusCode::OK);
    }
}

struct Broken;
impl RateStore for Broken {
    fn check(&self, _: &[u8], _: &Quota) -> Result<Decision, StoreError> {
        Err(StoreError("backend down".into()))
    }
}

#[test]
fn store_failures_follow_the_policy() {
    let open = Arc::new(RateLimit::new(Quota::per_second(1)).store(Broken));
    for _ in 0..3 {
        assert_eq!(run(&open, req("192.0.2.1:1", &[])).status(), StatusCode::OK);
    }
    let closed = Arc::new(
        RateLimit::new(Quota::per_second(1))
            .store(Broken)
            .on_store_error(OnStoreError::Deny),
    );
    let res = run(&closed, req("192.0.2.1:1", &[]));
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(header(&res, "retry-after"), Some("1"));
}

#[test]
fn memory_store_stays_bounded_under_a_flood_of_keys() {
    let store = MemoryStore::max_keys(64 * 100);
    let q = Quota::new(10, Duration::from_secs(3600));
    for i in 0u32..200_000 {
        store.check(&i.to_be_bytes(), &q).unwrap();
    }
    assert!(store.len() <= 6400, "{} keys held", store.len());
    // Active keys keep their state; newcomers beyond the bound are limited.
    let held = store.len();
    let newcomer = store.check(b"someone new", &q).unwrap();
    assert!(!newcomer.allowed);
    assert_eq!(store.len(), held);
}

#[test]
fn full_buckets_are_swept_to_make_room() {
    let store = MemoryStore::max_keys(64);
    // Refills in 1 ms: every key is full again almost at once.
    let q = Quota::new(1, Duration::from_millis(1));
    for i in 0u32..10_000 {
        store.check(&i.to_be_bytes(), &q).unwrap();
    }
    std::thread::sleep(Duration::from_millis(120));
    let d = store.check(b"after the flood", &q).unwrap();
    assert!(d.allowed, "full buckets should have been swept");
}
