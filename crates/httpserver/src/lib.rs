//! httpserver: a production-grade HTTP/1.1 server with synchronous handlers.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod codec;
