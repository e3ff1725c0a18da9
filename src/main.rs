//! The `httpserver` command-line server.
fn main() {}
