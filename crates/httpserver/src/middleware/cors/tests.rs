//! A table of preflight and actual requests against several policies, with
//! the headers the Fetch standard requires of each answer.

use super::*;
use crate::middleware::run_chain;

fn req(method: &str, headers: &[(&str, &str)]) -> Request {
    let mut b = http::Request::builder().method(method).uri("/api/items");
    for (n, v) in headers {
        b = b.header(*n, *v);
    }
    Request::from_http(b.body(Vec::new()).unwrap()).unwrap()
}

/// Runs the request; returns the response and whether the handler ran.
fn run(cors: &Cors, mut r: Request) -> (Response, bool) {
    let chain: Vec<Arc<dyn Middleware>> = vec![Arc::new(cors.clone())];
    let ran = std::sync::atomic::AtomicBool::new(false);
    let res = run_chain(&chain, &mut r, &|_| {
        ran.store(true, std::sync::atomic::Ordering::SeqCst);
        Response::new(StatusCode::OK)
            .with_header("x-total", "3")
            .with_text("items")
    });
    (res, ran.into_inner())
}

fn get<'a>(res: &'a Response, name: &str) -> Option<&'a str> {
    res.headers().get(name).map(|v| v.to_str().unwrap())
}

fn vary(res: &Response) -> Vec<String> {
    res.headers()
        .get_all("vary")
        .iter()
        .flat_map(|v| {
            v.to_str()
                .unwrap()
                .split(',')
                .map(|s| s.trim().to_ascii_lowercase())
        })
        .collect()
}

const A: &str = "https://app.example.com";
const EVIL: &str = "https://evil.example";

fn listed() -> Cors {
    Cors::builder()
        .allow_origin(AllowOrigin::list([A, "http://localhost:3000", "null"]))
        .allow_methods([Method::GET, Method::POST, Method::DELETE])
        .allow_headers(["content-type", "x-token"])
        .expose_headers(["x-total"])
        .allow_credentials(true)
        .max_age(Duration::from_secs(600))
        .build()
        .unwrap()
}

/// One row: policy, method, request headers, and what must (Some) or must
/// not (None) be in the answer.
struct Case {
    name: &'static str,
    cors: Cors,
    method: &'static str,
    headers: Vec<(&'static str, &'static str)>,
    handler_runs: bool,
    status: u16,
    expect: Vec<(&'static str, Option<&'static str>)>,
    vary_origin: bool,
}

fn cases() -> Vec<Case> {
    let any = Cors::permissive();
    let mirror = Cors::builder()
        .allow_origin(AllowOrigin::mirror())
        .mirror_request_method()
        .mirror_request_headers()
        .allow_credentials(true)
        .build()
        .unwrap();
    let pred = Cors::builder()
        .allow_origin(AllowOrigin::predicate(|o, _| o.ends_with(".example.com")))
        .build()
        .unwrap();
    let none = Cors::builder().build().unwrap();
    let pre = |origin: &'static str, m: &'static str| {
        vec![("origin", origin), ("access-control-request-method", m)]
    };
    let acao = "access-control-allow-origin";
    let acac = "access-control-allow-credentials";
    let acam = "access-control-allow-methods";
    let acah = "access-control-allow-headers";
    let aceh = "access-control-expose-headers";
    let acma = "access-control-max-age";
    vec![
        Case {
            name: "listed preflight",
            cors: listed(),
            method: "OPTIONS",
            headers: pre(A, "POST"),
            handler_runs: false,
            status: 204,
            expect: vec![
                (acao, Some(A)),
                (acac, Some("true")),
                (acam, Some("GET, POST, DELETE")),
                (acma, Some("600")),
                (acah, None),
            ],
            vary_origin: true,
        },
        Case {
            name: "listed preflight with headers",
            cors: listed(),
            method: "OPTIONS",
            headers: vec![
                ("origin", A),
                ("access-control-request-method", "DELETE"),
                ("access-control-request-headers", "content-type,x-token"),
            ],
            handler_runs: false,
            status: 204,
            expect: vec![(acao, Some(A)), (acah, Some("content-type, x-token"))],
            vary_origin: true,
        },
        Case {
            name: "listed preflight, other port is another origin",
            cors: listed(),
            method: "OPTIONS",
            headers: pre("http://localhost:3001", "GET"),
            handler_runs: false,
            status: 204,
            expect: vec![(acao, None), (acam, None), (acac, None), (acma, None)],
            vary_origin: true,
        },
        Case {
            name: "listed preflight, disallowed origin",
            cors: listed(),
            method: "OPTIONS",
            headers: pre(EVIL, "GET"),
            handler_runs: false,
            status: 204,
            expect: vec![(acao, None), (acam, None), (acah, None), (acac, None)],
            vary_origin: true,
        },
        Case {
            name: "listed preflight, origin differs in case",
            cors: listed(),
            method: "OPTIONS",
            headers: pre("HTTPS://APP.EXAMPLE.COM", "GET"),
            handler_runs: false,
            status: 204,
            expect: vec![(acao, Some("HTTPS://APP.EXAMPLE.COM"))],
            vary_origin: true,
        },
        Case {
            name: "listed preflight, suffix attack",
            cors: listed(),
            method: "OPTIONS",
            headers: pre("https://app.example.com.evil.example", "GET"),
            handler_runs: false,
            status: 204,
            expect: vec![(acao, None)],
            vary_origin: true,
        },
        Case {
            name: "listed null origin",
            cors: listed(),
            method: "GET",
            headers: vec![("origin", "null")],
            handler_runs: true,
            status: 200,
            expect: vec![(acao, Some("null")), (acac, Some("true"))],
            vary_origin: true,
        },
        Case {
            name: "listed actual GET",
            cors: listed(),
            method: "GET",
            headers: vec![("origin", A)],
            handler_runs: true,
            status: 200,
            expect: vec![
                (acao, Some(A)),
                (acac, Some("true")),
                (aceh, Some("x-total")),
                (acam, None),
                (acma, None),
            ],
            vary_origin: true,
        },
        Case {
            name: "listed actual, disallowed origin gets the page without CORS",
            cors: listed(),
            method: "GET",
            headers: vec![("origin", EVIL)],
            handler_runs: true,
            status: 200,
            expect: vec![(acao, None), (acac, None), (aceh, None)],
            vary_origin: true,
        },
        Case {
            name: "listed, no Origin: same-origin request",
            cors: listed(),
            method: "GET",
            headers: vec![],
            handler_runs: true,
            status: 200,
            expect: vec![(acao, None), (acac, None)],
            vary_origin: true,
        },
        Case {
            name: "listed, OPTIONS without request method is not a preflight",
            cors: listed(),
            method: "OPTIONS",
            headers: vec![("origin", A)],
            handler_runs: true,
            status: 200,
            expect: vec![(acao, Some(A)), (acam, None)],
            vary_origin: true,
        },
        Case {
            name: "listed, preflight without Origin reaches the handler",
            cors: listed(),
            method: "OPTIONS",
            headers: vec![("access-control-request-method", "GET")],
            handler_runs: true,
            status: 200,
            expect: vec![(acao, None)],
            vary_origin: true,
        },
        Case {
            name: "listed, unusual method in preflight still lists the allowed ones",
            cors: listed(),
            method: "OPTIONS",
            headers: pre(A, "PURGE"),
            handler_runs: false,
            status: 204,
            expect: vec![(acao, Some(A)), (acam, Some("GET, POST, DELETE"))],
            vary_origin: true,
        },
        Case {
            name: "listed actual PUT from allowed origin",
            cors: listed(),
            method: "PUT",
            headers: vec![("origin", A)],
            handler_runs: true,
            status: 200,
            expect: vec![(acao, Some(A))],
            vary_origin: true,
        },
        Case {
            name: "any preflight",
            cors: any.clone(),
            method: "OPTIONS",
            headers: vec![
                ("origin", EVIL),
                ("access-control-request-method", "PATCH"),
                ("access-control-request-headers", "x-anything"),
            ],
            handler_runs: false,
            status: 204,
            expect: vec![
                (acao, Some("*")),
                (acam, Some("*")),
                (acah, Some("*")),
                (acac, None),
            ],
            vary_origin: false,
        },
        Case {
            name: "any actual",
            cors: any.clone(),
            method: "GET",
            headers: vec![("origin", EVIL)],
            handler_runs: true,
            status: 200,
            expect: vec![(acao, Some("*")), (acac, None)],
            vary_origin: false,
        },
        Case {
            name: "any, null origin gets *",
            cors: any.clone(),
            method: "GET",
            headers: vec![("origin", "null")],
            handler_runs: true,
            status: 200,
            expect: vec![(acao, Some("*"))],
            vary_origin: false,
        },
        Case {
            name: "any, no Origin",
            cors: any,
            method: "GET",
            headers: vec![],
            handler_runs: true,
            status: 200,
            expect: vec![(acao, None)],
            vary_origin: false,
        },
        Case {
            name: "mirror preflight echoes method and headers",
            cors: mirror.clone(),
            method: "OPTIONS",
            headers: vec![
                ("origin", EVIL),
                ("access-control-request-method", "PATCH"),
                ("access-control-request-headers", "x-a, x-b"),
            ],
            handler_runs: false,
            status: 204,
            expect: vec![
                (acao, Some(EVIL)),
                (acac, Some("true")),
                (acam, Some("PATCH")),
                (acah, Some("x-a, x-b")),
            ],
            vary_origin: true,
        },
        Case {
            name: "mirror never reflects null",
            cors: mirror.clone(),
            method: "GET",
            headers: vec![("origin", "null")],
            handler_runs: true,
            status: 200,
            expect: vec![(acao, None), (acac, None)],
            vary_origin: true,
        },
        Case {
            name: "mirror actual",
            cors: mirror,
            method: "POST",
            headers: vec![("origin", "https://x.test")],
            handler_runs: true,
            status: 200,
            expect: vec![(acao, Some("https://x.test")), (acac, Some("true"))],
            vary_origin: true,
        },
        Case {
            name: "predicate allows",
            cors: pred.clone(),
            method: "GET",
            headers: vec![("origin", "https://b.example.com")],
            handler_runs: true,
            status: 200,
            expect: vec![(acao, Some("https://b.example.com")), (acac, None)],
            vary_origin: true,
        },
        Case {
            name: "predicate refuses",
            cors: pred.clone(),
            method: "GET",
            headers: vec![("origin", EVIL)],
            handler_runs: true,
            status: 200,
            expect: vec![(acao, None)],
            vary_origin: true,
        },
        Case {
            name: "predicate preflight, default methods",
            cors: pred,
            method: "OPTIONS",
            headers: pre("https://b.example.com", "POST"),
            handler_runs: false,
            status: 204,
            expect: vec![
                (acao, Some("https://b.example.com")),
                (acam, Some("GET, HEAD, POST")),
                (acma, None),
            ],
            vary_origin: true,
        },
        Case {
            name: "allow nothing: preflight",
            cors: none.clone(),
            method: "OPTIONS",
            headers: pre(A, "GET"),
            handler_runs: false,
            status: 204,
            expect: vec![(acao, None), (acam, None)],
            vary_origin: true,
        },
        Case {
            name: "allow nothing: actual",
            cors: none,
            method: "GET",
            headers: vec![("origin", A)],
            handler_runs: true,
            status: 200,
            expect: vec![(acao, None)],
            vary_origin: true,
        },
    ]
}

#[test]
fn fetch_table() {
    let cases = cases();
    assert!(cases.len() >= 26);
    for c in cases {
        let (res, ran) = run(&c.cors, req(c.method, &c.headers));
        assert_eq!(ran, c.handler_runs, "{}: handler ran = {ran}", c.name);
        assert_eq!(res.status().as_u16(), c.status, "{}", c.name);
        for (name, want) in &c.expect {
            assert_eq!(get(&res, name), *want, "{}: {name}", c.name);
        }
        let v = vary(&res);
        assert_eq!(
            v.contains(&"origin".to_string()),
            c.vary_origin,
            "{}: vary {v:?}",
            c.name
        );
        if c.method == "OPTIONS" && !c.handler_runs {
            assert!(
                v.contains(&"access-control-request-method".to_string()),
                "{}",
                c.name
            );
            assert!(res.body_bytes().unwrap().is_empty(), "{}", c.name);
        }
        // `*` and credentials never travel together.
        assert!(
            !(get(&res, "access-control-allow-origin") == Some("*")
                && get(&res, "access-control-allow-credentials").is_some()),
            "{}",
            c.name
        );
    }
}

#[test]
fn wildcards_with_credentials_are_refused_at_build() {
    let creds = || Cors::builder().allow_credentials(true);
    let e = creds()
        .allow_origin(AllowOrigin::any())
        .build()
        .unwrap_err();
    assert_eq!(e, CorsError::WildcardWithCredentials("origins"));
    let e = creds().allow_any_method().build().unwrap_err();
    assert_eq!(e, CorsError::WildcardWithCredentials("methods"));
    let e = creds().allow_any_header().build().unwrap_err();
    assert_eq!(e, CorsError::WildcardWithCredentials("headers"));
    let e = creds().expose_any_header().build().unwrap_err();
    assert_eq!(e, CorsError::WildcardWithCredentials("exposed headers"));
    // Without credentials the same wildcards are fine.
    Cors::builder()
        .allow_origin(AllowOrigin::any())
        .allow_any_method()
        .allow_any_header()
        .expose_any_header()
        .build()
        .unwrap();
}

#[test]
fn malformed_policies_are_refused_at_build() {
    for bad in [
        "https://a.com/",
        "a.com",
        "https://a.com/path",
        "://x",
        "https://",
        "*",
    ] {
        let e = Cors::builder()
            .allow_origin(AllowOrigin::list([bad]))
            .build()
            .unwrap_err();
        assert_eq!(e, CorsError::InvalidOrigin(bad.to_string()), "{bad}");
        assert!(e.to_string().contains(bad));
    }
    for good in [
        "https://a.com",
        "http://localhost:8080",
        "http://[::1]:3000",
        "null",
    ] {
        Cors::builder()
            .allow_origin(AllowOrigin::list([good]))
            .build()
            .unwrap_or_else(|e| panic!("{good}: {e}"));
    }
    let e = Cors::builder()
        .allow_headers(["bad header"])
        .build()
        .unwrap_err();
    assert_eq!(e, CorsError::InvalidToken("bad header".into()));
}

#[test]
fn vary_is_merged_not_duplicated() {
    let cors = listed();
    let chain: Vec<Arc<dyn Middleware>> = vec![Arc::new(cors)];
    let mut r = req("GET", &[("origin", A)]);
    let res = run_chain(&chain, &mut r, &|_| {
        Response::new(StatusCode::OK).with_header("vary", "Accept-Encoding, origin")
    });
    assert_eq!(vary(&res), ["accept-encoding", "origin"]);
    let mut r = req("GET", &[("origin", A)]);
    let res = run_chain(&chain, &mut r, &|_| {
        Response::new(StatusCode::OK).with_header("vary", "Accept-Encoding")
    });
    assert_eq!(vary(&res), ["accept-encoding", "origin"]);
}

#[test]
fn each_policy_echoes_its_own_listed_origins_across_many_policies() {
    // More policies than a thread keeps values for, used in turn, twice:
    // every answer is the origin of its own policy's list, whether it comes
    // from the thread's copies or is made for the response.
    let policies: Vec<(String, Cors)> = (0..LISTED_POLICIES + 3)
        .map(|n| {
            let origin = format!("https://app{n}.example.com");
            let cors = Cors::builder()
                .allow_origin(AllowOrigin::list([
                    origin.clone(),
                    "https://x.example".into(),
                ]))
                .build()
                .unwrap();
            (origin, cors)
        })
        .collect();
    for _ in 0..2 {
        for (n, (origin, cors)) in policies.iter().enumerate() {
            let (res, _) = run(cors, req("GET", &[("origin", origin)]));
            assert_eq!(get(&res, "access-control-allow-origin"), Some(&origin[..]));
            let (res, _) = run(cors, req("GET", &[("origin", "https://x.example")]));
            assert_eq!(
                get(&res, "access-control-allow-origin"),
                Some("https://x.example")
            );
            // Another policy's origin is not this one's.
            let other = &policies[(n + 1) % policies.len()].0;
            let (res, _) = run(cors, req("GET", &[("origin", other)]));
            assert_eq!(get(&res, "access-control-allow-origin"), None);
        }
    }
    // An origin in other letter case matches and is echoed as sent.
    let (res, _) = run(
        &policies[0].1,
        req("GET", &[("origin", "HTTPS://APP0.example.com")]),
    );
    assert_eq!(
        get(&res, "access-control-allow-origin"),
        Some("HTTPS://APP0.example.com")
    );
}
