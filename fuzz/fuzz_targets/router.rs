//! Fuzzes `router::RouteTree<usize>`. The input is split on `\n`: every line
//! but the last is a route (its first byte picks GET, POST or any method, the
//! rest is the pattern), the last line is the path looked up with GET, HEAD,
//! POST and DELETE.
//!
//! Checks: nothing panics; a `Found` value is the index of a route that was
//! inserted successfully; the captured parameters are exactly that route's
//! `:name`/`*name` segments in order, each value is a slice of the looked-up
//! path, and `params.get(name)` returns it.
#![no_main]

use httpserver::http::Method;
use httpserver::router::{Lookup, RouteTree};
use libfuzzer_sys::fuzz_target;

/// The parameter and wildcard names of a pattern, in order.
fn param_names(pattern: &str) -> Vec<&str> {
    pattern
        .split('/')
        .filter_map(|seg| seg.strip_prefix(':').or_else(|| seg.strip_prefix('*')))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let mut lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    let path = String::from_utf8_lossy(lines.pop().unwrap_or_default());
    let mut tree = RouteTree::new();
    let mut inserted: Vec<Option<String>> = Vec::new();
    for line in lines.into_iter().take(32) {
        let (&sel, pattern) = line.split_first().unwrap_or((&0, &[]));
        let pattern = String::from_utf8_lossy(pattern).into_owned();
        let index = inserted.len();
        let result = match sel % 3 {
            0 => tree.insert(Method::GET, &pattern, index),
            1 => tree.insert(Method::POST, &pattern, index),
            _ => tree.insert_any(&pattern, index),
        };
        inserted.push(result.ok().map(|()| pattern));
    }
    let _ = tree.routes().count();

    for method in [Method::GET, Method::HEAD, Method::POST, Method::DELETE] {
        match tree.lookup(&method, &path) {
            Lookup::Found { value, params } => {
                let pattern = inserted
                    .get(*value)
                    .and_then(Option::as_deref)
                    .unwrap_or_else(|| panic!("found {value}, which was never inserted"));
                let names: Vec<&str> = params.iter().map(|(n, _)| n).collect();
                assert_eq!(names, param_names(pattern), "params of {pattern:?}");
                assert_eq!(params.len(), names.len());
                let range = path.as_bytes().as_ptr_range();
                for (name, raw) in params.iter() {
                    assert!(
                        range.contains(&raw.as_ptr()) || range.end == raw.as_ptr(),
                        "value of {name} is not a slice of the path"
                    );
                    assert_eq!(params.get(name), Some(raw));
                }
            }
            Lookup::MethodNotAllowed { allow } => {
                assert!(allow.contains("OPTIONS"), "allow = {allow:?}");
            }
            Lookup::NotFound => {}
        }
    }
});
