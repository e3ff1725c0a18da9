//! Request path routing: a segment tree mapping `(method, path)` to a value.
//!
//! A [`RouteTree<T>`] stores one value per `(method, path pattern)` pair, plus an
//! optional "any method" value per pattern. [`RouteTree::lookup`] answers with a
//! [`Lookup`]: the value and the captured [`Params`], a
//! `405 Method Not Allowed` outcome carrying the `Allow` header value, or
//! "not found".
//!
//! # Path syntax
//!
//! ```text
//! path     = "/" segment *( "/" segment )
//! segment  = static / param / wildcard
//! static   = *( any char except "/", ":" and "*" )   ; may be empty
//! param    = ":" name                               ; exactly one non-empty segment
//! wildcard = "*" name                               ; the rest of the path; last segment only
//! name     = 1*( ALPHA / DIGIT / "_" )
//! ```
//!
//! - A path starts with `/`. The text after that slash is split on every `/`,
//!   so `/` is one empty segment, `/a/` is `a` followed by an empty segment,
//!   and `//` is two empty segments.
//! - Static segments are compared byte for byte with the raw (still
//!   percent-encoded) request path. An empty static segment only matches an
//!   empty segment, so trailing and doubled slashes are significant: `/a` and
//!   `/a/` are different routes.
//! - `:name` matches exactly one segment and never an empty one.
//! - `*name` matches everything after the preceding `/`, possibly nothing, and
//!   must be the last segment: `/static/*p` matches `/static/` (`p = ""`) and
//!   `/static/a/b` (`p = "a/b"`), but not `/static`.
//! - Parameters must be whole segments (`/f/:name.json` is rejected), static
//!   segments may not contain `:` or `*`, and a name may appear only once in a
//!   path.
//!
//! Captured values are raw slices of the request path; percent-decoding them
//! is up to the caller. The path passed to [`RouteTree::lookup`] must not include
//! the query string. A path that does not start with `/` (for example the
//! `*` of `OPTIONS *`) is never found.
//!
//! # Priority
//!
//! At every level the candidates are tried in the order static, `:param`,
//! `*wildcard`. When the chosen branch has no route further down, the lookup
//! backtracks and tries the next candidate. Path matching ignores the method:
//! the first pattern found in this order is the match, and its methods then
//! decide between [`Lookup::Found`] and [`Lookup::MethodNotAllowed`].
//!
//! ```text
//! routes: /users/new  /users/:id  /users/:id/posts  /users/*rest
//!
//! /users/new        -> /users/new
//! /users/42         -> /users/:id        id = "42"
//! /users/new/posts  -> /users/:id/posts  id = "new"  (static "new" has no "posts": backtrack)
//! /users/42/likes   -> /users/*rest      rest = "42/likes"
//! /users/           -> /users/*rest      rest = ""   (":id" never matches an empty segment)
//! ```
//!
//! # Methods
//!
//! For the matched pattern the value is chosen as follows:
//!
//! 1. the route registered for exactly the request method;
//! 2. for `HEAD` only, the `GET` route (the caller must not send the body);
//! 3. the route added with [`RouteTree::insert_any`];
//! 4. otherwise [`Lookup::MethodNotAllowed`], whose `allow` lists the
//!    registered methods, plus `HEAD` when `GET` is registered, plus `OPTIONS`
//!    always, sorted by name, without duplicates and joined with `", "`
//!    (e.g. `"GET, HEAD, OPTIONS, POST"`). `OPTIONS` is listed even when it is
//!    not routed so that the server can answer such a request itself, with
//!    this same `Allow` value.
//!
//! # Conflicts
//!
//! [`RouteTree::insert`], [`RouteTree::insert_any`] and [`RouteTree::mount`] return
//! [`RouteError::Conflict`], naming the registered route, for:
//!
//! - the same method twice at the same pattern (or `insert_any` twice);
//! - a `:param` whose name differs from the `:param` already registered at the
//!   same position after the same prefix: `/u/:id` then `/u/:name/x`;
//! - likewise a `*wildcard` with a different name at the same position.
//!
//! Everything else may coexist: static, parameter and wildcard siblings, one
//! parameter name shared by several routes (`/u/:id` and `/u/:id/posts`),
//! and explicit methods next to an "any" route at the same pattern. Invalid
//! paths give [`RouteError::InvalidPath`]. A failed call changes nothing.
//!
//! # Structure
//!
//! ```text
//! GET /   GET /users   POST /users   GET /users/:id   GET /users/:id/posts   GET /static/*path
//!
//! (root)
//!  +-- ""          GET            /
//!  +-- "static"
//!  |    `-- *path  GET            /static/*path
//!  `-- "users"     GET, POST      /users
//!       `-- :id    GET            /users/:id
//!            `-- "posts"  GET     /users/:id/posts
//! ```
//!
//! Each node has its static children in a vector sorted by segment text
//! (found by binary search), at most one parameter child, at most one
//! wildcard child, and the routes that end at it.
//!
//! # Complexity
//!
//! For a path of length `L` with `d` segments, a lookup that does not
//! backtrack costs `O(L + d log k)`, where `k` is the number of static
//! children at a node. A node at depth `i` is only ever tried against segment
//! `i`, so even with backtracking each node is visited at most once per
//! lookup: the worst case is `O(L + n log k)` for `n` nodes. A lookup
//! allocates nothing when it returns [`Lookup::NotFound`], or
//! [`Lookup::Found`] with at most four parameters; beyond four, the extra
//! parameters go to a `Vec`, and [`Lookup::MethodNotAllowed`] allocates its
//! `allow` string. Inserting a route costs `O(L + d k)`.

mod error;
mod group;
#[cfg(test)]
mod tests;
mod tree;

use std::fmt;

pub use error::RouteError;
pub(crate) use group::Endpoint;
pub use group::Router;
pub use tree::RouteTree;

/// The result of [`RouteTree::lookup`].
#[derive(Debug)]
pub enum Lookup<'r, 'p, T> {
    /// A route matched the path and the method.
    Found {
        /// The value registered for the route.
        value: &'r T,
        /// The parameters captured from the path.
        params: Params<'r, 'p>,
    },
    /// The path exists but not for this method.
    MethodNotAllowed {
        /// The value for an `Allow` header, e.g. `"GET, HEAD, OPTIONS, POST"`
        /// (sorted, deduplicated; `HEAD` whenever `GET` is routed; `OPTIONS`
        /// always).
        allow: String,
    },
    /// No route matches the path.
    NotFound,
}

/// The outcome of a lookup whose parameters went to a caller's [`Params`]:
/// [`Lookup`] without them.
pub(crate) enum Route<'r, T> {
    Found(&'r T),
    MethodNotAllowed(String),
    NotFound,
}

/// How many parameters [`Params`] holds before it allocates.
const INLINE_PARAMS: usize = 4;

/// Parameters captured by a lookup, as `(name, value)` pairs in path order.
///
/// Names borrow from the router (`'r`), values from the request path (`'p`).
/// Values are raw segment text, still percent-encoded; a wildcard's value may
/// contain `/` and may be empty. Up to four parameters are stored inline;
/// more spill to the heap.
#[derive(Clone)]
pub struct Params<'r, 'p> {
    inline: [(&'r str, &'p str); INLINE_PARAMS],
    len: usize,
    spill: Vec<(&'r str, &'p str)>,
}

impl<'r, 'p> Params<'r, 'p> {
    /// The raw value captured for `name`, if the matched route has it.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&'p str> {
        self.iter().find(|&(n, _)| n == name).map(|(_, v)| v)
    }

    /// The `(name, value)` pairs in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&'r str, &'p str)> + '_ {
        let inline = self.len.min(INLINE_PARAMS);
        self.inline[..inline]
            .iter()
            .chain(self.spill.iter())
            .copied()
    }

    /// The number of captured parameters.
    #[must_use]
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether no parameter was captured.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends a pair; used by the lookup.
    fn push(&mut self, name: &'r str, value: &'p str) {
        match self.inline.get_mut(self.len) {
            Some(slot) => *slot = (name, value),
            None => self.spill.push((name, value)),
        }
        self.len += 1;
    }

    /// Drops the pairs after the first `len`; used when backtracking.
    fn truncate(&mut self, len: usize) {
        if len < self.len {
            self.spill.truncate(len.saturating_sub(INLINE_PARAMS));
            self.len = len;
        }
    }
}

impl Default for Params<'_, '_> {
    /// No parameters.
    fn default() -> Self {
        Self {
            inline: [("", ""); INLINE_PARAMS],
            len: 0,
            spill: Vec::new(),
        }
    }
}

impl fmt::Debug for Params<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}
