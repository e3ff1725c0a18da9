//! [`Handler`]: the function that answers a request.

use crate::{IntoResponse, Request, Response};

/// Answers a request. Implemented for every `Fn(&Request) -> impl
/// IntoResponse` that can be shared between threads, so plain closures and
/// functions are handlers.
///
/// Handlers run on a worker thread and may block (a database call, a file
/// read): that stalls only their own worker.
///
/// # Examples
///
/// ```
/// use httpserver::{Handler, Request};
/// use httpserver::response::ok;
///
/// fn hello(req: &Request) -> httpserver::Response {
///     ok(format!("hello {}", req.param("name").unwrap_or("world")))
/// }
/// let req = Request::from_http(http::Request::get("/").body(Vec::new())?)?;
/// assert_eq!(Handler::call(&hello, &req).body_bytes(), Some(&b"hello world"[..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Handler: Send + Sync + 'static {
    /// Answers `req`.
    fn call(&self, req: &Request) -> Response;
}

impl<F, R> Handler for F
where
    F: Fn(&Request) -> R + Send + Sync + 'static,
    R: IntoResponse,
{
    fn call(&self, req: &Request) -> Response {
        self(req).into_response()
    }
}
