//! [`Router`]: a group of routes with its own middleware, mounted under a
//! prefix with [`Server::mount`](crate::Server::mount).

use std::sync::Arc;

use http::Method;

use super::{RouteError, RouteTree};
use crate::middleware::{run_chain, Middleware};
use crate::{Handler, Request, Response};

/// A handler and the group middleware that wraps it.
pub(crate) struct Endpoint {
    handler: Box<dyn Handler>,
    middleware: Vec<Arc<dyn Middleware>>,
}

impl Endpoint {
    pub(crate) fn call(&self, req: &mut Request) -> Response {
        if self.middleware.is_empty() {
            return self.handler.call(req);
        }
        run_chain(&self.middleware, req, &|r: &mut Request| {
            self.handler.call(r)
        })
    }
}

/// A group of routes. Middleware added to the group wraps only its routes,
/// inside any server-wide middleware; mount it with
/// [`Server::mount`](crate::Server::mount) or [`Router::mount`].
///
/// Route syntax: static segments, `:name` for one segment, `*name` for the
/// rest of the path. Priority is static > `:param` > `*wildcard`; adding a
/// route that clashes with one already there panics, naming both (use
/// [`Router::try_route`] to get the error instead).
///
/// # Examples
///
/// ```
/// use httpserver::{Router, Server, Request};
/// use httpserver::response::ok;
///
/// let mut api = Router::new();
/// api.get("/users/:id", |req: &Request| ok(format!("user {}", req.param("id").unwrap_or(""))));
/// api.use_middleware(|req: &mut Request, next: httpserver::middleware::Next<'_>| {
///     next.run(req).with_header("x-api", "v1")
/// });
///
/// let mut server = Server::new(Default::default());
/// server.mount("/api/v1", api); // GET /api/v1/users/7
/// ```
#[derive(Default)]
pub struct Router {
    pub(crate) tree: RouteTree<Endpoint>,
    middleware: Vec<Arc<dyn Middleware>>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut list = f.debug_list();
        for (method, path, _) in self.tree.routes() {
            list.entry(&format_args!(
                "{} {path}",
                method.map_or("ANY", |m| m.as_str())
            ));
        }
        list.finish()
    }
}

macro_rules! method_fns {
    ($($(#[$doc:meta])* $name:ident => $method:expr;)*) => {$(
        $(#[$doc])*
        ///
        /// # Panics
        ///
        /// If the path is invalid or clashes with an existing route.
        #[track_caller]
        pub fn $name(&mut self, path: &str, handler: impl Handler) -> &mut Self {
            self.route($method, path, handler)
        }
    )*};
}

impl Router {
    /// An empty group.
    pub fn new() -> Self {
        Router::default()
    }

    method_fns! {
        /// Routes GET (and HEAD, which falls back to GET) at `path`.
        get => Method::GET;
        /// Routes POST at `path`.
        post => Method::POST;
        /// Routes PUT at `path`.
        put => Method::PUT;
        /// Routes PATCH at `path`.
        patch => Method::PATCH;
        /// Routes DELETE at `path`.
        delete => Method::DELETE;
        /// Routes HEAD at `path` (overriding the GET fallback).
        head => Method::HEAD;
        /// Routes OPTIONS at `path` (overriding the automatic answer).
        options => Method::OPTIONS;
    }

    /// Routes every method at `path` (an explicit method route wins).
    ///
    /// # Panics
    ///
    /// If the path is invalid or clashes with an existing route.
    #[track_caller]
    pub fn any(&mut self, path: &str, handler: impl Handler) -> &mut Self {
        let endpoint = Endpoint {
            handler: Box::new(handler),
            middleware: Vec::new(),
        };
        if let Err(e) = self.tree.insert_any(path, endpoint) {
            panic!("{e}");
        }
        self
    }

    /// Routes `method` at `path`.
    ///
    /// # Panics
    ///
    /// If the path is invalid or clashes with an existing route; the message
    /// names the existing route.
    #[track_caller]
    pub fn route(&mut self, method: Method, path: &str, handler: impl Handler) -> &mut Self {
        if let Err(e) = self.try_route(method, path, handler) {
            panic!("{e}");
        }
        self
    }

    /// Routes `method` at `path`, returning the error instead of panicking.
    ///
    /// # Errors
    ///
    /// [`RouteError`] for an invalid path or a clash.
    pub fn try_route(
        &mut self,
        method: Method,
        path: &str,
        handler: impl Handler,
    ) -> Result<&mut Self, RouteError> {
        let endpoint = Endpoint {
            handler: Box::new(handler),
            middleware: Vec::new(),
        };
        self.tree.insert(method, path, endpoint)?;
        Ok(self)
    }

    /// Adds middleware around every route of this group (also routes added
    /// later). Order: first added is outermost.
    pub fn use_middleware(&mut self, middleware: impl Middleware) -> &mut Self {
        self.middleware.push(Arc::new(middleware));
        self
    }

    /// Mounts `group` under `prefix` (`"/api"`; `""` or `"/"` for none).
    ///
    /// # Panics
    ///
    /// If a mounted route clashes with an existing one.
    #[track_caller]
    pub fn mount(&mut self, prefix: &str, group: Router) -> &mut Self {
        if let Err(e) = self.try_mount(prefix, group) {
            panic!("{e}");
        }
        self
    }

    /// Mounts `group` under `prefix`, returning the error instead of
    /// panicking. On error nothing is added.
    ///
    /// # Errors
    ///
    /// [`RouteError`] for a bad prefix or a clash.
    pub fn try_mount(&mut self, prefix: &str, group: Router) -> Result<&mut Self, RouteError> {
        let tree = group.into_tree();
        self.tree.mount(prefix, tree)?;
        Ok(self)
    }

    /// The tree with this group's middleware pushed into every endpoint.
    pub(crate) fn into_tree(self) -> RouteTree<Endpoint> {
        if self.middleware.is_empty() {
            return self.tree;
        }
        let mut tree = RouteTree::new();
        for (method, path, mut endpoint) in self.tree.into_routes() {
            let mut chain = self.middleware.clone();
            chain.append(&mut endpoint.middleware);
            endpoint.middleware = chain;
            // Re-inserting routes that were valid together cannot fail.
            let _ = match method {
                Some(m) => tree.insert(m, &path, endpoint),
                None => tree.insert_any(&path, endpoint),
            };
        }
        tree
    }
}
