//! [`Server`]: routes, middleware and configuration, then `run()`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use http::{header, HeaderValue, Method, StatusCode};

use crate::middleware::{run_chain, Middleware};
use crate::router::{Endpoint, Lookup, Route, RouteError, RouteTree, Router};
use crate::runtime::{self, ServerState, ShutdownHandle};
use crate::{Handler, IntoResponse, Request, Response, ServerConfig};

/// An HTTP/1.1 server: add routes and middleware, then [`run`](Server::run).
///
/// # Examples
///
/// ```no_run
/// use httpserver::{Server, ServerConfig, Request};
/// use httpserver::response::{ok, created};
/// use serde_json::json;
///
/// let mut server = Server::new(ServerConfig { port: 8080, ..Default::default() });
/// server.get("/users/:id", |req: &Request| ok(json!({"id": req.param("id")})));
/// server.post("/users", |req: &Request| {
///     let user: serde_json::Value = req.json()?; // bad JSON -> 400
///     Ok(created(json!({"id": 1, "user": user})))
/// });
/// server.run()?; // blocks until SIGTERM / Ctrl-C, then drains
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Server {
    config: ServerConfig,
    router: Router,
    middleware: Vec<Arc<dyn Middleware>>,
    state: ServerState,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("config", &self.config)
            .field("routes", &self.router)
            .field("middleware", &self.middleware.len())
            .finish()
    }
}

macro_rules! method_fns {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        ///
        /// # Panics
        ///
        /// If the path is invalid or clashes with an existing route; the
        /// message names the route it clashes with.
        #[track_caller]
        pub fn $name(&mut self, path: &str, handler: impl Handler) -> &mut Self {
            self.router.$name(path, handler);
            self
        }
    )*};
}

impl Server {
    /// A server with `config` and no routes yet.
    pub fn new(config: ServerConfig) -> Self {
        Server {
            config,
            router: Router::new(),
            middleware: Vec::new(),
            state: ServerState::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    method_fns! {
        /// Routes GET (and HEAD, answered by the GET handler without its body).
        get;
        /// Routes POST.
        post;
        /// Routes PUT.
        put;
        /// Routes PATCH.
        patch;
        /// Routes DELETE.
        delete;
        /// Routes HEAD explicitly.
        head;
        /// Routes OPTIONS explicitly (otherwise answered with `Allow`).
        options;
        /// Routes every method.
        any;
    }

    /// Routes `method` at `path`.
    ///
    /// # Panics
    ///
    /// If the path is invalid or clashes with an existing route.
    #[track_caller]
    pub fn route(&mut self, method: Method, path: &str, handler: impl Handler) -> &mut Self {
        self.router.route(method, path, handler);
        self
    }

    /// Routes `method` at `path`, returning an error instead of panicking.
    ///
    /// # Errors
    ///
    /// [`RouteError`] for an invalid path or a clash with an existing route.
    pub fn try_route(
        &mut self,
        method: Method,
        path: &str,
        handler: impl Handler,
    ) -> Result<&mut Self, RouteError> {
        self.router.try_route(method, path, handler)?;
        Ok(self)
    }

    /// Mounts a group of routes under `prefix`.
    ///
    /// # Panics
    ///
    /// If a mounted route clashes with an existing one.
    #[track_caller]
    pub fn mount(&mut self, prefix: &str, group: Router) -> &mut Self {
        self.router.mount(prefix, group);
        self
    }

    /// Serves `files` under `prefix` (`""` or `"/"` for the whole site):
    /// `GET` and `HEAD` of `prefix` and of everything below it. Routes
    /// added elsewhere take precedence over the files.
    ///
    /// # Examples
    ///
    /// ```
    /// use httpserver::handlers::StaticFiles;
    /// use httpserver::{Server, ServerConfig};
    ///
    /// let mut server = Server::new(ServerConfig::default());
    /// server.files("/static", StaticFiles::new("./public"));
    /// ```
    ///
    /// # Panics
    ///
    /// If a route under `prefix` ends in a wildcard already.
    #[track_caller]
    pub fn files(&mut self, prefix: &str, files: crate::handlers::StaticFiles) -> &mut Self {
        let files = files.prefix(prefix);
        let prefix = files.mount_prefix().to_string();
        if !prefix.is_empty() {
            self.get(&prefix, files.clone());
        }
        self.get(&format!("{prefix}/*path"), files);
        self
    }

    /// Adds server-wide middleware. The first added is the outermost: it sees
    /// every request first (also those ending in 404 or 405) and every
    /// response last.
    pub fn use_middleware(&mut self, middleware: impl Middleware) -> &mut Self {
        self.middleware.push(Arc::new(middleware));
        self
    }

    /// Binds and starts serving in background threads; returns at once.
    ///
    /// # Errors
    ///
    /// An invalid configuration (`InvalidInput`, naming the field) or a
    /// socket error such as the port being in use.
    pub fn start(self) -> std::io::Result<RunningServer> {
        let running = self.start_inner()?;
        let shared = running.shared.clone();
        let timer = std::thread::Builder::new()
            .name("httpserver-timer".into())
            .spawn(move || runtime::timer_loop(&shared))?;
        Ok(RunningServer {
            running,
            timer: Some(timer),
        })
    }

    /// Binds, serves, and blocks until shut down (SIGTERM or SIGINT when
    /// `handle_signals` is on, or a [`ShutdownHandle`] from a handler's
    /// closure), draining in-flight requests first.
    ///
    /// # Errors
    ///
    /// As [`Server::start`], or if the signal handlers cannot be installed.
    pub fn run(self) -> std::io::Result<()> {
        let handle_signals = self.config.handle_signals;
        let running = self.start_inner()?;
        if handle_signals {
            runtime::install_signal_handlers(&running.shared)?;
        }
        runtime::timer_loop(&running.shared);
        Ok(())
    }

    /// The server's routes and middleware as a plain function from request
    /// to response, without sockets or threads: for tests and benchmarks of
    /// an application (the configuration's network settings are unused).
    ///
    /// ```
    /// use httpserver::{Request, Server};
    ///
    /// let mut server = Server::new(Default::default());
    /// server.get("/hello/:name", |req: &Request| format!("hi {}\n", req.param("name").unwrap_or("")));
    /// let app = server.into_app();
    /// let mut req = Request::from_http(httpserver::http::Request::get("/hello/ada").body(Vec::new())?)?;
    /// let res = app.respond(&mut req);
    /// assert_eq!(res.status(), 200);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// Middleware configured in [`ServerConfig::middleware`] wraps the
    /// server's own, as when it runs. If one cannot be built (an access
    /// log file that cannot be opened), the app answers every request 500
    /// and logs why, rather than run without it.
    pub fn into_app(self) -> App {
        let middleware = match with_configured(&self.config, self.middleware) {
            Ok(chain) => chain,
            Err(e) => {
                tracing::error!(error = %e, "configured middleware cannot be built; answering 500");
                vec![
                    Arc::new(Misconfigured(e.to_string(), std::sync::Once::new()))
                        as Arc<dyn Middleware>,
                ]
            }
        };
        App::new(self.router.into_tree(), middleware)
    }

    fn start_inner(self) -> std::io::Result<runtime::Running> {
        let invalid =
            |e: crate::ConfigError| std::io::Error::new(std::io::ErrorKind::InvalidInput, e);
        // Checked before any layer is built (opening a log file, say).
        self.config.validate().map_err(invalid)?;
        let middleware = with_configured(&self.config, self.middleware).map_err(invalid)?;
        let app = App::new(self.router.into_tree(), middleware);
        let running = runtime::start(app, self.config)?;
        self.state.attach(&running.shared);
        Ok(running)
    }

    /// A view of this server's readiness and load, for health checks and
    /// metrics registered before it starts.
    pub fn state(&self) -> ServerState {
        self.state.clone()
    }
}

/// The middleware `config` asks for, outermost, then `own`.
fn with_configured(
    config: &ServerConfig,
    own: Vec<Arc<dyn Middleware>>,
) -> Result<Vec<Arc<dyn Middleware>>, crate::ConfigError> {
    let mut chain = config.middleware.layers()?;
    chain.extend(own);
    Ok(chain)
}

/// Stands in for configured middleware that could not be built: every
/// request is answered 500 (failing closed: a missing auth layer must not
/// mean open access).
struct Misconfigured(String, std::sync::Once);

impl Middleware for Misconfigured {
    fn handle(&self, _req: &mut Request, _next: crate::middleware::Next<'_>) -> Response {
        self.1.call_once(|| {
            tracing::error!(error = %self.0, "configured middleware missing; answering 500");
        });
        Response::new(http::StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// A server started with [`Server::start`].
#[derive(Debug)]
pub struct RunningServer {
    running: runtime::Running,
    timer: Option<JoinHandle<()>>,
}

impl RunningServer {
    /// The address it listens on (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.running.local_addr
    }

    /// Makes SIGTERM and SIGINT shut the server down gracefully (a second
    /// signal exits at once with status 130), as [`Server::run`] does.
    ///
    /// # Errors
    ///
    /// If the handlers cannot be installed.
    pub fn handle_signals(&self) -> std::io::Result<()> {
        runtime::install_signal_handlers(&self.running.shared)
    }

    /// A handle that can stop the server from any thread.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            shared: self.running.shared.clone(),
        }
    }

    /// Begins a graceful shutdown (after `drain_delay`, if one is set) and
    /// waits until it is done.
    pub fn shutdown(self) {
        self.running.shared.request_shutdown();
        self.wait();
    }

    /// Waits until the server has stopped.
    pub fn wait(mut self) {
        if let Some(timer) = self.timer.take() {
            let _ = timer.join();
        }
    }
}

/// The routes and middleware, as the runtime calls them.
/// A server's routes and middleware, answering requests in-process: see
/// [`Server::into_app`].
pub struct App {
    tree: RouteTree<Endpoint>,
    middleware: Vec<Arc<dyn Middleware>>,
    methods: Methods,
}

/// The request methods a server's routes implement, for `501` and
/// `OPTIONS *`.
struct Methods {
    /// Some route takes every method.
    any: bool,
    /// Methods outside [`STANDARD_METHODS`] that some route handles.
    extension: Vec<Method>,
    /// The `Allow` value of `OPTIONS *`.
    allow: String,
}

/// The methods of RFC 9110 and RFC 5789 (`PATCH`). One of them that no route
/// handles gets 405 from the route it names; any other method that no route
/// handles is not implemented by this server (501, RFC 9110 section 9.1).
const STANDARD_METHODS: [Method; 9] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::CONNECT,
    Method::OPTIONS,
    Method::TRACE,
    Method::PATCH,
];

impl Methods {
    fn of(tree: &RouteTree<Endpoint>) -> Methods {
        let mut any = false;
        let mut used: Vec<Method> = Vec::new();
        for (method, _, _) in tree.routes() {
            match method {
                None => any = true,
                Some(m) if !used.contains(m) => used.push(m.clone()),
                Some(_) => {}
            }
        }
        if used.contains(&Method::GET) {
            used.push(Method::HEAD);
        }
        used.push(Method::OPTIONS);
        let allow = if any {
            SERVER_METHODS.to_string()
        } else {
            // The standard methods in their usual order, then the others.
            let mut names: Vec<&str> = STANDARD_METHODS
                .iter()
                .filter(|m| used.contains(m))
                .map(Method::as_str)
                .collect();
            let mut others: Vec<&str> = used
                .iter()
                .filter(|m| !STANDARD_METHODS.contains(m))
                .map(Method::as_str)
                .collect();
            others.sort_unstable();
            others.dedup();
            names.extend(others);
            names.join(", ")
        };
        let extension = used
            .into_iter()
            .filter(|m| !STANDARD_METHODS.contains(m))
            .collect();
        Methods {
            any,
            extension,
            allow,
        }
    }

    /// Does this server know `method`?
    #[inline]
    fn implements(&self, method: &Method) -> bool {
        STANDARD_METHODS.contains(method) || self.any || self.extension.contains(method)
    }
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("middleware", &self.middleware.len())
            .finish()
    }
}

/// Methods listed for `OPTIONS *` when a route takes any method.
const SERVER_METHODS: &str = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

impl App {
    fn new(tree: RouteTree<Endpoint>, middleware: Vec<Arc<dyn Middleware>>) -> App {
        let methods = Methods::of(&tree);
        App {
            tree,
            middleware,
            methods,
        }
    }

    /// Tells the server-wide middleware that the server has drained, and
    /// writes out every buffered access log (a server calls it once it has
    /// drained; call it when done with an app made by [`Server::into_app`]).
    ///
    /// ```
    /// let app = httpserver::Server::new(Default::default()).into_app();
    /// app.on_shutdown();
    /// ```
    pub fn on_shutdown(&self) {
        for m in &self.middleware {
            m.on_shutdown();
        }
        crate::middleware::log_writer::flush_all_writers();
    }

    /// Would a request with this method and path reach a handler? Used to
    /// decide whether to send `100 Continue`.
    pub(crate) fn accepts(&self, method: &Method, path: &str) -> bool {
        matches!(self.tree.lookup(method, path), Lookup::Found { .. })
    }

    /// Answers a request: server middleware around the matched route (or the
    /// 404 / 405 / OPTIONS answer), as the server would.
    ///
    /// ```
    /// use httpserver::{Request, Server};
    /// let app = Server::new(Default::default()).into_app();
    /// let mut req = Request::from_http(httpserver::http::Request::get("/nothing").body(Vec::new())?)?;
    /// assert_eq!(app.respond(&mut req).status(), 404);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn respond(&self, req: &mut Request) -> Response {
        enum Target<'a> {
            Route(&'a Endpoint),
            Fixed(StatusCode, Option<String>),
        }
        let target = if req.head().form == crate::codec::TargetForm::Asterisk {
            Target::Fixed(StatusCode::NO_CONTENT, Some(self.methods.allow.clone()))
        } else if req.method() == Method::CONNECT || !self.methods.implements(req.method()) {
            Target::Fixed(StatusCode::NOT_IMPLEMENTED, None)
        } else {
            match req.route(&self.tree) {
                Route::Found(endpoint) => Target::Route(endpoint),
                Route::MethodNotAllowed(allow) if req.method() == Method::OPTIONS => {
                    Target::Fixed(StatusCode::NO_CONTENT, Some(allow))
                }
                Route::MethodNotAllowed(allow) => {
                    Target::Fixed(StatusCode::METHOD_NOT_ALLOWED, Some(allow))
                }
                Route::NotFound => Target::Fixed(StatusCode::NOT_FOUND, None),
            }
        };
        let endpoint = |req: &mut Request| match &target {
            Target::Route(endpoint) => endpoint.call(req),
            Target::Fixed(status, allow) => {
                let mut res = status.into_response();
                if let Some(allow) = allow {
                    if let Ok(v) = HeaderValue::from_str(allow) {
                        res.headers_mut().insert(header::ALLOW, v);
                    }
                }
                res
            }
        };
        if self.middleware.is_empty() {
            return endpoint(req);
        }
        run_chain(&self.middleware, req, &endpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::ok;

    fn answer(app: &App, method: &str, path: &str) -> (u16, Option<String>) {
        let req = http::Request::builder()
            .method(method)
            .uri(path)
            .body(Vec::new())
            .unwrap();
        let mut req = Request::from_http(req).unwrap();
        let res = app.respond(&mut req);
        let allow = res
            .headers()
            .get(header::ALLOW)
            .map(|v| v.to_str().unwrap().to_string());
        (res.status().as_u16(), allow)
    }

    #[test]
    fn unknown_methods_get_501_and_known_ones_405() {
        let mut server = Server::new(ServerConfig::default());
        server.get("/a", |_: &Request| ok("a"));
        server.route(
            Method::from_bytes(b"PURGE").unwrap(),
            "/a",
            |_: &Request| ok("purged"),
        );
        let app = server.into_app();
        assert_eq!(answer(&app, "GET", "/a").0, 200);
        assert_eq!(answer(&app, "PURGE", "/a").0, 200);
        // Standard, but not for this resource: 405 with what it takes.
        let allow = Some("GET, HEAD, OPTIONS, PURGE".to_string());
        assert_eq!(answer(&app, "DELETE", "/a"), (405, allow.clone()));
        assert_eq!(answer(&app, "TRACE", "/a"), (405, allow));
        // Known to no route, methods are case-sensitive: 501, on any path.
        for (method, path) in [("FOO", "/a"), ("get", "/a"), ("PROPFIND", "/nowhere")] {
            assert_eq!(answer(&app, method, path), (501, None), "{method}");
        }
        // An extension method that some route takes is known: it is routed.
        assert_eq!(answer(&app, "PURGE", "/nowhere").0, 404);
        assert_eq!(app.methods.allow, "GET, HEAD, OPTIONS, PURGE");
    }

    #[test]
    fn a_route_for_any_method_takes_unknown_ones() {
        let mut server = Server::new(ServerConfig::default());
        let mut group = crate::Router::new();
        group.any("/x", |req: &Request| ok(req.method().to_string()));
        server.mount("/g", group);
        let app = server.into_app();
        assert_eq!(answer(&app, "FOO", "/g/x").0, 200);
        assert_eq!(answer(&app, "FOO", "/elsewhere").0, 404);
        assert_eq!(app.methods.allow, SERVER_METHODS);
    }
}
