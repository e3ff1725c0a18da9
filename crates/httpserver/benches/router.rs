//! Route matching on a table of about 100 routes.

#![allow(missing_docs)] // criterion_group! generates undocumented items
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use http::Method;
use httpserver::router::{Lookup, RouteTree};

fn routes() -> Vec<String> {
    let mut v = Vec::new();
    for resource in [
        "users", "repos", "orgs", "teams", "issues", "gists", "events", "projects", "apps", "hooks",
    ] {
        v.push(format!("/{resource}"));
        v.push(format!("/{resource}/:id"));
        v.push(format!("/{resource}/:id/comments"));
        v.push(format!("/{resource}/:id/comments/:comment"));
        v.push(format!("/{resource}/:id/labels"));
        v.push(format!("/{resource}/:id/labels/:label"));
        v.push(format!("/{resource}/:id/members"));
        v.push(format!("/{resource}/search"));
        v.push(format!("/api/v1/{resource}/:id/events"));
        v.push(format!("/static/{resource}/*path"));
    }
    v
}

fn router(c: &mut Criterion) {
    let mut tree = RouteTree::new();
    for (i, r) in routes().iter().enumerate() {
        tree.insert(Method::GET, r, i).expect("valid routes");
    }
    let paths = [
        "/users",
        "/repos/42",
        "/teams/7/comments/99",
        "/hooks/search",
        "/api/v1/gists/abc/events",
        "/static/apps/css/site.css",
        "/nope/nothing",
    ];
    c.bench_function("router/100_routes_7_lookups", |b| {
        b.iter(|| {
            for p in paths {
                match tree.lookup(&Method::GET, black_box(p)) {
                    Lookup::Found { value, .. } => {
                        black_box(value);
                    }
                    other => {
                        black_box(&other);
                    }
                }
            }
        })
    });
}

criterion_group!(benches, router);
criterion_main!(benches);
