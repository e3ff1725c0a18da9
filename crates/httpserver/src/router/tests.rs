//! Table-driven tests for the router.

use std::error::Error;

use http::Method;

use super::{Lookup, Params, RouteError, RouteTree};

type R = RouteTree<String>;

fn method(name: &str) -> Method {
    Method::from_bytes(name.as_bytes()).unwrap()
}

/// Adds a route whose value is `"METHOD path"`; `"ANY"` means `insert_any`.
fn add(router: &mut R, m: &str, path: &str) -> Result<(), RouteError> {
    let value = format!("{m} {path}");
    if m == "ANY" {
        router.insert_any(path, value)
    } else {
        router.insert(method(m), path, value)
    }
}

fn build(routes: &[(&str, &str)]) -> R {
    let mut router = RouteTree::new();
    for &(m, path) in routes {
        add(&mut router, m, path).unwrap_or_else(|e| panic!("{m} {path}: {e}"));
    }
    router
}

/// Renders a lookup as `"VALUE name=value ..."`, `"405 ALLOW"` or `"404"`.
fn outcome(router: &R, m: &str, path: &str) -> String {
    match router.lookup(&method(m), path) {
        Lookup::Found { value, params } => std::iter::once(value.clone())
            .chain(params.iter().map(|(n, v)| format!("{n}={v}")))
            .collect::<Vec<_>>()
            .join(" "),
        Lookup::MethodNotAllowed { allow } => format!("405 {allow}"),
        Lookup::NotFound => "404".to_owned(),
    }
}

/// Checks `(method, path, expected outcome)` rows, reporting every mismatch.
fn assert_table(router: &R, cases: &[(&str, &str, &str)]) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|&(m, path, want)| {
            let got = outcome(router, m, path);
            (got != want).then(|| format!("{m} {path:?}: got {got:?}, want {want:?}"))
        })
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

fn conflict(route: &str, existing: &str) -> RouteError {
    RouteError::Conflict {
        route: route.to_owned(),
        existing: existing.to_owned(),
    }
}

fn invalid(path: &str, reason: &'static str) -> RouteError {
    RouteError::InvalidPath {
        path: path.to_owned(),
        reason,
    }
}

#[test]
fn insertion_table() {
    // (method, path, None = accepted / Some(existing route it conflicts with))
    let cases: &[(&str, &str, Option<&str>)] = &[
        ("GET", "/users", None),
        ("POST", "/users", None),
        ("GET", "/users", Some("/users")),
        ("GET", "/users/", None),
        ("GET", "/users/:id", None),
        ("GET", "/users/:id/posts", None),
        ("GET", "/users/:name", Some("/users/:id")),
        ("GET", "/users/:name/x", Some("/users/:id")),
        ("GET", "/users/new", None),
        ("GET", "/users/*rest", None),
        ("GET", "/users/*path", Some("/users/*rest")),
        ("POST", "/users/*rest", None),
        ("GET", "/users/*rest", Some("/users/*rest")),
        ("ANY", "/users/:id", None),
        ("ANY", "/users/:id", Some("/users/:id")),
        ("DELETE", "/users/:id", None),
        ("GET", "/users/:id/posts/:post", None),
        ("GET", "/users/:id/posts/:p", Some("/users/:id/posts/:post")),
        ("GET", "/users/new/posts/:p", None),
        ("GET", "/files/:dir/*rest", None),
        ("GET", "/files/:dir/:file", None),
        ("GET", "/files/:d/x", Some("/files/:dir/*rest")),
        ("GET", "/files/:dir/:f/x", Some("/files/:dir/:file")),
        ("GET", "/", None),
        ("GET", "//", None),
        ("GET", "/", Some("/")),
        ("PURGE", "/users", None),
        ("PURGE", "/users", Some("/users")),
        ("ANY", "/*all", None),
        ("ANY", "/*other", Some("/*all")),
    ];
    let mut router = RouteTree::new();
    let mut accepted = 0;
    for &(m, path, existing) in cases {
        let got = add(&mut router, m, path);
        let want = existing.map_or(Ok(()), |e| Err(conflict(path, e)));
        assert_eq!(got, want, "{m} {path}");
        accepted += usize::from(existing.is_none());
    }
    assert_eq!(router.routes().count(), accepted);
}

#[test]
fn invalid_paths() {
    let cases: &[(&str, &str)] = &[
        ("", "must start with '/'"),
        ("users", "must start with '/'"),
        ("*", "must start with '/'"),
        ("/f/:name.json", "parameter must be a whole segment"),
        ("/:a-b", "parameter must be a whole segment"),
        ("/f/x:y", "parameter must be a whole segment"),
        ("/f/a*b", "parameter must be a whole segment"),
        ("/f/*p.tar", "parameter must be a whole segment"),
        ("/:", "empty parameter name"),
        ("/a/:/b", "empty parameter name"),
        ("/f/*", "empty wildcard name"),
        ("/:-a", "invalid parameter name"),
        ("/:\u{e9}", "invalid parameter name"),
        ("/*p/x", "wildcard must be the last segment"),
        ("/*p/", "wildcard must be the last segment"),
        ("/a/*p/*q", "wildcard must be the last segment"),
        ("/a/:id/:id", "duplicate parameter name"),
        ("/a/:x/*x", "duplicate parameter name"),
    ];
    for &(path, reason) in cases {
        let mut router: R = RouteTree::new();
        assert_eq!(add(&mut router, "GET", path), Err(invalid(path, reason)));
        assert_eq!(add(&mut router, "ANY", path), Err(invalid(path, reason)));
        assert_eq!(router.routes().count(), 0);
    }
    // Valid edge cases.
    let ok = [
        "/",
        "//",
        "/a/",
        "/:A_1",
        "/*_",
        "/%3A",
        "/a.b-c~d",
        "/caf\u{e9}",
    ];
    for path in ok {
        assert_eq!(add(&mut RouteTree::new(), "GET", path), Ok(()), "{path}");
    }
}

#[test]
fn matching_table() {
    let router = build(&[
        ("GET", "/"),
        ("GET", "/users"),
        ("POST", "/users"),
        ("GET", "/users/"),
        ("GET", "/users/new"),
        ("GET", "/users/:id"),
        ("GET", "/users/:id/posts"),
        ("GET", "/users/:id/posts/:post"),
        ("GET", "/static/*path"),
        ("GET", "/static/index.html"),
        ("GET", "/a//b"),
        ("GET", "/org/:org/repos/:repo/*file"),
    ]);
    assert_table(
        &router,
        &[
            ("GET", "/", "GET /"),
            ("GET", "/users", "GET /users"),
            ("POST", "/users", "POST /users"),
            ("GET", "/users/", "GET /users/"),
            ("GET", "/users/new", "GET /users/new"),
            ("GET", "/users/42", "GET /users/:id id=42"),
            ("GET", "/users/42/posts", "GET /users/:id/posts id=42"),
            ("GET", "/users/new/posts", "GET /users/:id/posts id=new"),
            (
                "GET",
                "/users/4/posts/7",
                "GET /users/:id/posts/:post id=4 post=7",
            ),
            ("GET", "/users/42/posts/", "404"),
            ("GET", "/users//posts", "404"),
            ("GET", "/users/42/", "404"),
            ("GET", "/users/caf%C3%A9", "GET /users/:id id=caf%C3%A9"),
            ("GET", "/users/a%2Fb", "GET /users/:id id=a%2Fb"),
            ("GET", "/users/a:b", "GET /users/:id id=a:b"),
            ("GET", "/USERS", "404"),
            ("GET", "/static", "404"),
            ("GET", "/static/", "GET /static/*path path="),
            ("GET", "/static/a/b", "GET /static/*path path=a/b"),
            ("GET", "/static//", "GET /static/*path path=/"),
            ("GET", "/static/index.html", "GET /static/index.html"),
            (
                "GET",
                "/static/index.html/",
                "GET /static/*path path=index.html/",
            ),
            ("GET", "/a//b", "GET /a//b"),
            ("GET", "/a/b", "404"),
            ("GET", "/a/", "404"),
            (
                "GET",
                "/org/rust/repos/http/src/lib.rs",
                "GET /org/:org/repos/:repo/*file org=rust repo=http file=src/lib.rs",
            ),
            ("GET", "/org/rust/repos/http", "404"),
            (
                "GET",
                "/org/rust/repos/http/",
                "GET /org/:org/repos/:repo/*file org=rust repo=http file=",
            ),
            ("GET", "users", "404"),
            ("GET", "", "404"),
            ("GET", "*", "404"),
            ("GET", "/nope", "404"),
            ("POST", "/users/42", "405 GET, HEAD, OPTIONS"),
            ("DELETE", "/static/x", "405 GET, HEAD, OPTIONS"),
        ],
    );
}

#[test]
fn priority_and_backtracking() {
    let router = build(&[
        ("GET", "/p/new"),
        ("GET", "/p/:id"),
        ("GET", "/p/:id/x"),
        ("GET", "/p/*rest"),
        ("GET", "/q/:a/:b/end"),
        ("GET", "/q/:a/*rest"),
        ("GET", "/q/fixed/:b/other"),
        ("GET", "/r/a/b/c"),
        ("GET", "/r/:x/b/d"),
        ("GET", "/r/:x/:y/e"),
    ]);
    assert_table(
        &router,
        &[
            ("GET", "/p/new", "GET /p/new"),
            ("GET", "/p/old", "GET /p/:id id=old"),
            ("GET", "/p/new/x", "GET /p/:id/x id=new"),
            ("GET", "/p/new/y", "GET /p/*rest rest=new/y"),
            ("GET", "/p/1/y", "GET /p/*rest rest=1/y"),
            ("GET", "/p/1/x/", "GET /p/*rest rest=1/x/"),
            ("GET", "/p/", "GET /p/*rest rest="),
            ("GET", "/q/fixed/2/other", "GET /q/fixed/:b/other b=2"),
            ("GET", "/q/fixed/2/end", "GET /q/:a/:b/end a=fixed b=2"),
            (
                "GET",
                "/q/fixed/2/zzz",
                "GET /q/:a/*rest a=fixed rest=2/zzz",
            ),
            ("GET", "/q/1/2/end", "GET /q/:a/:b/end a=1 b=2"),
            ("GET", "/q/1/2/zz", "GET /q/:a/*rest a=1 rest=2/zz"),
            ("GET", "/q/1", "404"),
            ("GET", "/r/a/b/c", "GET /r/a/b/c"),
            ("GET", "/r/a/b/d", "GET /r/:x/b/d x=a"),
            ("GET", "/r/a/b/e", "GET /r/:x/:y/e x=a y=b"),
            ("GET", "/r/a/b/f", "404"),
        ],
    );
}

#[test]
fn head_falls_back_to_get() {
    let router = build(&[
        ("GET", "/get"),
        ("GET", "/both"),
        ("HEAD", "/both"),
        ("GET", "/any"),
        ("ANY", "/any"),
        ("POST", "/post"),
        ("ANY", "/only-any"),
        ("GET", "/u/:id"),
    ]);
    assert_table(
        &router,
        &[
            ("HEAD", "/get", "GET /get"),
            ("HEAD", "/both", "HEAD /both"),
            ("GET", "/both", "GET /both"),
            ("HEAD", "/any", "GET /any"),
            ("POST", "/any", "ANY /any"),
            ("HEAD", "/post", "405 OPTIONS, POST"),
            ("HEAD", "/only-any", "ANY /only-any"),
            ("HEAD", "/u/7", "GET /u/:id id=7"),
            ("HEAD", "/missing", "404"),
        ],
    );
}

#[test]
fn any_route() {
    let router = build(&[
        ("ANY", "/x"),
        ("GET", "/x"),
        ("DELETE", "/x"),
        ("ANY", "/files/*path"),
        ("PUT", "/files/*path"),
    ]);
    assert_table(
        &router,
        &[
            ("GET", "/x", "GET /x"),
            ("DELETE", "/x", "DELETE /x"),
            ("PUT", "/x", "ANY /x"),
            ("OPTIONS", "/x", "ANY /x"),
            ("PURGE", "/x", "ANY /x"),
            ("PUT", "/files/a/b", "PUT /files/*path path=a/b"),
            ("GET", "/files/a/b", "ANY /files/*path path=a/b"),
            ("GET", "/y", "404"),
            ("GET", "/x/", "404"),
        ],
    );
}

#[test]
fn method_not_allowed_allow_strings() {
    let cases: &[(&[&str], &str)] = &[
        (&["POST"], "OPTIONS, POST"),
        (&["GET"], "GET, HEAD, OPTIONS"),
        (&["GET", "POST"], "GET, HEAD, OPTIONS, POST"),
        (&["POST", "HEAD", "GET"], "GET, HEAD, OPTIONS, POST"),
        (&["HEAD"], "HEAD, OPTIONS"),
        (&["OPTIONS", "DELETE"], "DELETE, OPTIONS"),
        (&["PUT", "PATCH", "DELETE"], "DELETE, OPTIONS, PATCH, PUT"),
        (&["PURGE", "GET"], "GET, HEAD, OPTIONS, PURGE"),
        (&["TRACE", "CONNECT"], "CONNECT, OPTIONS, TRACE"),
    ];
    for &(methods, allow) in cases {
        for pattern in ["/r", "/p/:id", "/w/*rest"] {
            let routes: Vec<(&str, &str)> = methods.iter().map(|&m| (m, pattern)).collect();
            let router = build(&routes);
            let path = pattern.replace(":id", "1").replace("*rest", "a/b");
            assert_eq!(
                outcome(&router, "BREW", &path),
                format!("405 {allow}"),
                "{methods:?} {pattern}"
            );
        }
    }
}

#[test]
fn options_is_always_allowed() {
    let router = build(&[("GET", "/x"), ("GET", "/y"), ("OPTIONS", "/y")]);
    assert_table(
        &router,
        &[
            ("OPTIONS", "/x", "405 GET, HEAD, OPTIONS"),
            ("OPTIONS", "/y", "OPTIONS /y"),
            ("POST", "/y", "405 GET, HEAD, OPTIONS"),
        ],
    );
}

#[test]
fn mount_joins_prefix() {
    let mut users = build(&[
        ("GET", "/"),
        ("POST", "/"),
        ("GET", "/:id"),
        ("GET", "/:id/"),
    ]);
    let mut api = build(&[("GET", "/"), ("GET", "/health"), ("ANY", "/*rest")]);
    api.mount("/users", std::mem::take(&mut users)).unwrap();
    let mut app = build(&[("GET", "/"), ("GET", "/api/users/:id/avatar")]);
    app.mount("/api", api).unwrap();
    app.mount("/org/:org", build(&[("GET", "/repos/:repo")]))
        .unwrap();
    app.mount("", build(&[("GET", "/login")])).unwrap();
    app.mount("/", build(&[("POST", "/login")])).unwrap();
    assert!(users.routes().next().is_none());

    let mut patterns: Vec<String> = app.routes().map(|(m, p, _)| format!("{m:?} {p}")).collect();
    patterns.sort();
    let mut want = vec![
        "Some(GET) /",
        "Some(GET) /api",
        "Some(GET) /api/health",
        "None /api/*rest",
        "Some(GET) /api/users",
        "Some(POST) /api/users",
        "Some(GET) /api/users/:id",
        "Some(GET) /api/users/:id/",
        "Some(GET) /api/users/:id/avatar",
        "Some(GET) /org/:org/repos/:repo",
        "Some(GET) /login",
        "Some(POST) /login",
    ];
    want.sort_unstable();
    assert_eq!(patterns, want);

    assert_table(
        &app,
        &[
            ("GET", "/", "GET /"),
            ("GET", "/api", "GET /"),
            ("GET", "/api/", "ANY /*rest rest="),
            ("GET", "/api/health", "GET /health"),
            ("GET", "/api/users", "GET /"),
            ("POST", "/api/users", "POST /"),
            ("GET", "/api/users/7", "GET /:id id=7"),
            ("GET", "/api/users/7/", "GET /:id/ id=7"),
            (
                "GET",
                "/api/users/7/avatar",
                "GET /api/users/:id/avatar id=7",
            ),
            ("PUT", "/api/users/7", "405 GET, HEAD, OPTIONS"),
            ("GET", "/api/other/x", "ANY /*rest rest=other/x"),
            (
                "GET",
                "/org/rust/repos/http",
                "GET /repos/:repo org=rust repo=http",
            ),
            ("POST", "/login", "POST /login"),
            ("GET", "/users", "404"),
        ],
    );
}

/// (prefix, routes of the mounted router, expected error)
type MountCase<'a> = (&'a str, &'a [(&'a str, &'a str)], RouteError);

#[test]
fn mount_conflicts_and_invalid_prefixes() {
    let base = || {
        build(&[
            ("GET", "/api"),
            ("GET", "/api/users/:uid"),
            ("GET", "/api/health"),
            ("GET", "/org/:id/x"),
            ("GET", "/files/*path"),
        ])
    };
    let cases: &[MountCase<'_>] = &[
        (
            "/api",
            &[("GET", "/a"), ("GET", "/users/:id")],
            conflict("/api/users/:id", "/api/users/:uid"),
        ),
        (
            "/api",
            &[("POST", "/health"), ("GET", "/health")],
            conflict("/api/health", "/api/health"),
        ),
        ("/api", &[("GET", "/")], conflict("/api", "/api")),
        (
            "/org/:org",
            &[("GET", "/y")],
            conflict("/org/:org/y", "/org/:id/x"),
        ),
        (
            "/files",
            &[("GET", "/*rest")],
            conflict("/files/*rest", "/files/*path"),
        ),
        (
            "api",
            &[("GET", "/")],
            invalid("api", "must start with '/'"),
        ),
        (
            "/api/",
            &[("GET", "/x")],
            invalid("/api/", "prefix must not end with '/'"),
        ),
        (
            "/w/*p",
            &[("GET", "/"), ("GET", "/x")],
            invalid("/w/*p/x", "wildcard must be the last segment"),
        ),
        (
            "/a:b",
            &[("GET", "/")],
            invalid("/a:b", "parameter must be a whole segment"),
        ),
        (
            "/:id",
            &[("GET", "/:id")],
            invalid("/:id/:id", "duplicate parameter name"),
        ),
    ];
    for (prefix, routes, error) in cases {
        let mut app = base();
        let before: Vec<String> = app.routes().map(|(_, p, v)| format!("{p} {v}")).collect();
        assert_eq!(
            app.mount(prefix, build(routes)).as_ref(),
            Err(error),
            "{prefix}"
        );
        let after: Vec<String> = app.routes().map(|(_, p, v)| format!("{p} {v}")).collect();
        assert_eq!(before, after, "router changed by failed mount at {prefix}");
    }
    // Different methods at the same joined pattern merge fine.
    let mut app = base();
    app.mount("/api", build(&[("POST", "/users/:uid"), ("PUT", "/")]))
        .unwrap();
    assert_eq!(
        outcome(&app, "POST", "/api/users/1"),
        "POST /users/:uid uid=1"
    );
    assert_eq!(
        outcome(&app, "DELETE", "/api"),
        "405 GET, HEAD, OPTIONS, PUT"
    );
}

#[test]
fn wildcard_edge_cases() {
    let router = build(&[
        ("GET", "/*all"),
        ("GET", "/"),
        ("GET", "/f/:x"),
        ("GET", "/f/*rest"),
        ("GET", "/g/*rest"),
    ]);
    assert_table(
        &router,
        &[
            ("GET", "/", "GET /"),
            ("GET", "/zzz", "GET /*all all=zzz"),
            ("GET", "/a/b/c/", "GET /*all all=a/b/c/"),
            ("GET", "//", "GET /*all all=/"),
            ("GET", "/f/a", "GET /f/:x x=a"),
            ("GET", "/f/a/b", "GET /f/*rest rest=a/b"),
            ("GET", "/f/", "GET /f/*rest rest="),
            ("GET", "/f", "GET /*all all=f"),
            ("GET", "/g", "GET /*all all=g"),
            ("GET", "/g/%2F%20", "GET /g/*rest rest=%2F%20"),
            ("GET", "/g//a", "GET /g/*rest rest=/a"),
            ("POST", "/anything", "405 GET, HEAD, OPTIONS"),
            ("GET", "", "404"),
        ],
    );
    // A wildcard alone never matches its parent path without the slash.
    let router = build(&[("GET", "/static/*p")]);
    assert_eq!(outcome(&router, "GET", "/static"), "404");
    assert_eq!(outcome(&router, "GET", "/static/"), "GET /static/*p p=");
}

#[test]
fn trailing_slashes_and_empty_segments() {
    let router = build(&[
        ("GET", "/a"),
        ("GET", "/a/"),
        ("GET", "//"),
        ("GET", "/b//c"),
        ("GET", "/:p"),
    ]);
    assert_table(
        &router,
        &[
            ("GET", "/a", "GET /a"),
            ("GET", "/a/", "GET /a/"),
            ("GET", "//", "GET //"),
            ("GET", "/b//c", "GET /b//c"),
            ("GET", "/b/c", "404"),
            ("GET", "/a//", "404"),
            ("GET", "/", "404"),
            ("GET", "/b", "GET /:p p=b"),
            ("GET", "/b/", "404"),
        ],
    );
}

#[test]
fn hundred_routes_each_match() {
    let resources = [
        "users", "posts", "comments", "tags", "teams", "orgs", "repos", "issues", "files", "events",
    ];
    let shapes = [
        ("GET", ""),
        ("POST", ""),
        ("GET", "/new"),
        ("GET", "/:id"),
        ("PUT", "/:id"),
        ("DELETE", "/:id"),
        ("GET", "/:id/edit"),
        ("GET", "/:id/children/:child"),
        ("GET", "/search/*query"),
        ("ANY", "/:id/raw"),
    ];
    let mut routes: Vec<(String, String)> =
        vec![("GET".into(), "/".into()), ("GET".into(), "/health".into())];
    for resource in resources {
        for (m, shape) in shapes {
            routes.push((m.to_owned(), format!("/{resource}{shape}")));
        }
    }
    let mut router = RouteTree::new();
    for (m, path) in &routes {
        add(&mut router, m, path).unwrap();
    }
    assert_eq!(router.routes().count(), 102);

    for (i, (m, pattern)) in routes.iter().enumerate() {
        // Substitute sample values and build the expected outcome.
        let mut want = vec![format!("{m} {pattern}")];
        let concrete: Vec<String> = pattern
            .split('/')
            .map(|segment| {
                if let Some(name) = segment.strip_prefix(':') {
                    want.push(format!("{name}=v{i}-{name}"));
                    format!("v{i}-{name}")
                } else if let Some(name) = segment.strip_prefix('*') {
                    want.push(format!("{name}=w{i}/x%20y"));
                    format!("w{i}/x%20y")
                } else {
                    segment.to_owned()
                }
            })
            .collect();
        let request_method = if m == "ANY" { "PATCH" } else { m };
        assert_eq!(
            outcome(&router, request_method, &concrete.join("/")),
            want.join(" ")
        );
    }
}

#[test]
fn params_inline_and_spill() {
    let router = build(&[
        ("GET", "/:a/:b/:c/:d/:e/x"),
        ("GET", "/:a/:b/:c/:d/*w"),
        ("GET", "/:a/:b/:c/:d/:e/:f/:g"),
        ("GET", "/four/:a/:b/:c/:d"),
        ("GET", "/none"),
    ]);
    assert_table(
        &router,
        &[
            (
                "GET",
                "/1/2/3/4/5/x",
                "GET /:a/:b/:c/:d/:e/x a=1 b=2 c=3 d=4 e=5",
            ),
            (
                "GET",
                "/1/2/3/4/5/y",
                "GET /:a/:b/:c/:d/*w a=1 b=2 c=3 d=4 w=5/y",
            ),
            (
                "GET",
                "/1/2/3/4/5/6/7",
                "GET /:a/:b/:c/:d/:e/:f/:g a=1 b=2 c=3 d=4 e=5 f=6 g=7",
            ),
            (
                "GET",
                "/1/2/3/4/5/6/7/8",
                "GET /:a/:b/:c/:d/*w a=1 b=2 c=3 d=4 w=5/6/7/8",
            ),
            ("GET", "/1/2/3/4/", "GET /:a/:b/:c/:d/*w a=1 b=2 c=3 d=4 w="),
            ("GET", "/1/2/3/4", "404"),
        ],
    );

    let Lookup::Found { params, .. } = router.lookup(&Method::GET, "/four/1/2/3/4") else {
        panic!("no match");
    };
    assert_eq!(params.len(), 4);
    assert!(!params.is_empty());
    assert_eq!(params.spill.capacity(), 0, "four params must stay inline");
    assert_eq!(params.get("c"), Some("3"));
    assert_eq!(params.get("e"), None);
    assert_eq!(
        format!("{params:?}"),
        r#"{"a": "1", "b": "2", "c": "3", "d": "4"}"#
    );

    let Lookup::Found { params, .. } = router.lookup(&Method::GET, "/1/2/3/4/5/y") else {
        panic!("no match");
    };
    assert_eq!(params.len(), 5);
    assert_eq!(params.get("e"), None, "backtracked param must be dropped");
    assert_eq!(params.get("w"), Some("5/y"));
    let cloned = params.clone();
    assert_eq!(
        cloned.iter().collect::<Vec<_>>(),
        params.iter().collect::<Vec<_>>()
    );

    let Lookup::Found { params, .. } = router.lookup(&Method::GET, "/none") else {
        panic!("no match");
    };
    assert!(params.is_empty());
    assert_eq!(params.iter().count(), 0);
    let empty = Params::default();
    assert_eq!((empty.len(), empty.get("a")), (0, None));
}

#[test]
fn routes_listing() {
    let mut router = RouteTree::new();
    router.insert(Method::POST, "/b", 1).unwrap();
    router.insert_any("/b", 2).unwrap();
    router.insert(Method::GET, "/b", 3).unwrap();
    router.insert(Method::GET, "/a/*rest", 4).unwrap();
    router.insert(Method::GET, "/a/:id", 5).unwrap();
    router.insert(Method::GET, "/", 6).unwrap();
    let listed: Vec<(Option<&Method>, &str, &i32)> = router.routes().collect();
    assert_eq!(
        listed,
        vec![
            (Some(&Method::GET), "/", &6),
            (Some(&Method::GET), "/a/:id", &5),
            (Some(&Method::GET), "/a/*rest", &4),
            (Some(&Method::POST), "/b", &1),
            (Some(&Method::GET), "/b", &3),
            (None, "/b", &2),
        ]
    );
    assert_eq!(RouteTree::<i32>::default().routes().count(), 0);
}

#[test]
fn route_error_traits() {
    let e = conflict("/u/:name", "/u/:id");
    assert_eq!(
        e.to_string(),
        "route `/u/:name` conflicts with existing route `/u/:id`"
    );
    let e = invalid("x", "must start with '/'");
    assert_eq!(e.to_string(), "invalid route path `x`: must start with '/'");
    let boxed: Box<dyn Error> = Box::new(e.clone());
    assert!(boxed.source().is_none());
    assert_eq!(e.clone(), e);
    assert!(format!("{e:?}").contains("InvalidPath"));
}

/// Static children are found by a scan when few and by bisection when
/// many; both find every child and nothing that only shares a prefix.
#[test]
fn few_and_many_static_children() {
    for count in [1, 3, 8, 9, 20] {
        let names: Vec<String> = (0..count).map(|i| format!("n{:02}x", count - i)).collect();
        let mut router = RouteTree::new();
        for name in &names {
            add(&mut router, "GET", &format!("/{name}/leaf")).unwrap();
            add(&mut router, "GET", &format!("/{name}")).unwrap();
        }
        for name in &names {
            assert_eq!(
                outcome(&router, "GET", &format!("/{name}")),
                format!("GET /{name}")
            );
            assert_eq!(
                outcome(&router, "GET", &format!("/{name}/leaf")),
                format!("GET /{name}/leaf")
            );
            let shorter = &name[..name.len() - 1];
            for miss in [shorter.to_owned(), format!("{name}y"), name.to_uppercase()] {
                assert_eq!(
                    outcome(&router, "GET", &format!("/{miss}")),
                    "404",
                    "{count} {miss}"
                );
            }
        }
        assert_eq!(outcome(&router, "GET", "/"), "404");
        assert_eq!(outcome(&router, "GET", "/zz"), "404");
    }
}
