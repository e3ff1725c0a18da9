//! The segment tree behind [`RouteTree`].

use http::Method;

use super::{Lookup, Params, Route, RouteError};

/// Maps `(method, path)` to values of type `T`, using a tree keyed by path
/// segment. See the [module documentation](super) for the path syntax,
/// priority and conflict rules.
#[derive(Debug)]
pub struct RouteTree<T> {
    root: Node<T>,
}

/// Up to this many static children are scanned rather than bisected.
const LINEAR_STATICS: usize = 8;

/// One tree level: the routes ending here and the children one segment down.
#[derive(Debug)]
struct Node<T> {
    /// Static children, sorted by segment text for binary search.
    statics: Vec<(Box<str>, Node<T>)>,
    /// The `:name` child, if any.
    param: Option<Box<ParamChild<T>>>,
    /// The `*name` child, if any; it always ends the path.
    wildcard: Option<Box<WildcardChild<T>>>,
    /// The routes whose pattern ends at this node.
    endpoint: Option<Endpoint<T>>,
}

#[derive(Debug)]
struct ParamChild<T> {
    name: Box<str>,
    /// The first route registered through this parameter, for error messages.
    origin: Box<str>,
    node: Node<T>,
}

#[derive(Debug)]
struct WildcardChild<T> {
    name: Box<str>,
    endpoint: Endpoint<T>,
}

/// The values registered for one path pattern.
#[derive(Debug)]
struct Endpoint<T> {
    pattern: Box<str>,
    /// Explicit methods, in insertion order (few per pattern, so scanned).
    methods: Vec<(Method, T)>,
    /// The `insert_any` value.
    any: Option<T>,
}

/// One parsed segment of a route pattern.
#[derive(Debug, Clone, Copy)]
enum Segment<'a> {
    Static(&'a str),
    Param(&'a str),
    Wildcard(&'a str),
}

impl<T> RouteTree<T> {
    /// An empty router.
    #[must_use]
    pub const fn new() -> Self {
        Self { root: Node::new() }
    }

    /// Adds `value` for `method` at `path`.
    ///
    /// # Errors
    ///
    /// Fails with [`RouteError::InvalidPath`] for a malformed path and with
    /// [`RouteError::Conflict`] when the route clashes with a registered one;
    /// the router is unchanged on failure.
    pub fn insert(&mut self, method: Method, path: &str, value: T) -> Result<(), RouteError> {
        self.add(Some(method), path, value)
    }

    /// Adds `value` for every method at `path`.
    ///
    /// A route for an explicit method at the same pattern takes precedence
    /// (and so does `GET` for `HEAD` requests).
    ///
    /// # Errors
    ///
    /// As for [`insert`](Self::insert).
    pub fn insert_any(&mut self, path: &str, value: T) -> Result<(), RouteError> {
        self.add(None, path, value)
    }

    /// Moves every route of `other` under `prefix`.
    ///
    /// The prefix is joined textually: `"/api"` + `"/users/:id"` gives
    /// `"/api/users/:id"`, and `"/api"` + `"/"` gives `"/api"`. The prefix
    /// must start with `/` and must not end with `/`, except that `""` and
    /// `"/"` mean no prefix. It may contain parameters.
    ///
    /// # Errors
    ///
    /// [`RouteError::InvalidPath`] for a bad prefix or joined path, and
    /// [`RouteError::Conflict`] when a joined route clashes with a route of
    /// `self`. Every joined route is checked before any is added, so on error
    /// the router is unchanged (and the routes of `other` are dropped).
    pub fn mount(&mut self, prefix: &str, other: RouteTree<T>) -> Result<(), RouteError> {
        let prefix = match prefix {
            "" | "/" => "",
            p if !p.starts_with('/') => return Err(invalid(p, "must start with '/'")),
            p if p.ends_with('/') => return Err(invalid(p, "prefix must not end with '/'")),
            p => p,
        };
        let mut routes = Vec::new();
        other.root.into_routes(&mut routes);
        let joined: Vec<(Option<Method>, String, T)> = routes
            .into_iter()
            .map(|(method, pattern, value)| {
                let path = match (prefix, &*pattern) {
                    ("", p) => p.to_owned(),
                    (pre, "/") => pre.to_owned(),
                    (pre, p) => format!("{pre}{p}"),
                };
                (method, path, value)
            })
            .collect();
        // `other`'s routes cannot clash with each other: the join keeps
        // distinct patterns distinct and parameter positions aligned. So it
        // is enough to check each one against `self` before adding any.
        for (method, path, _) in &joined {
            let segments = parse(path)?;
            self.root.check(&segments, method.as_ref(), path)?;
        }
        for (method, path, value) in joined {
            self.add(method, &path, value)?;
        }
        Ok(())
    }

    /// Matches a raw request path (percent-encoded as received, without the
    /// query string) and `method` against the routes.
    ///
    /// Allocates nothing unless more than four parameters are captured or the
    /// result is [`Lookup::MethodNotAllowed`].
    #[must_use]
    pub fn lookup<'r, 'p>(&'r self, method: &Method, path: &'p str) -> Lookup<'r, 'p, T> {
        let mut params = Params::default();
        match self.lookup_into(method, path, &mut params) {
            Route::Found(value) => Lookup::Found { value, params },
            Route::MethodNotAllowed(allow) => Lookup::MethodNotAllowed { allow },
            Route::NotFound => Lookup::NotFound,
        }
    }

    /// [`lookup`](Self::lookup) with the parameters written to `params`
    /// (cleared first): the request's router saves moving them out.
    pub(crate) fn lookup_into<'r, 'p>(
        &'r self,
        method: &Method,
        path: &'p str,
        params: &mut Params<'r, 'p>,
    ) -> Route<'r, T> {
        params.truncate(0);
        let Some(rest) = path.strip_prefix('/') else {
            return Route::NotFound;
        };
        match self.root.find(rest, params) {
            None => Route::NotFound,
            Some(endpoint) => match endpoint.dispatch(method) {
                Some(value) => Route::Found(value),
                None => Route::MethodNotAllowed(endpoint.allow()),
            },
        }
    }

    /// Every route as `(method, pattern, value)`, with `None` for an
    /// [`insert_any`](Self::insert_any) route; meant for listing and
    /// debugging.
    ///
    /// Patterns come in tree order (static children sorted, then the
    /// parameter, then the wildcard); methods of one pattern in insertion
    /// order, followed by the "any" route.
    pub fn routes(&self) -> impl Iterator<Item = (Option<&Method>, &str, &T)> + '_ {
        let mut out = Vec::new();
        self.root.collect_routes(&mut out);
        out.into_iter()
    }

    /// Takes the tree apart into its routes as `(method, pattern, value)`,
    /// `None` standing for an [`insert_any`](Self::insert_any) route.
    pub fn into_routes(self) -> Vec<(Option<Method>, Box<str>, T)> {
        let mut out = Vec::new();
        self.root.into_routes(&mut out);
        out
    }

    /// Validates `path`, checks it for conflicts, then adds it.
    fn add(&mut self, method: Option<Method>, path: &str, value: T) -> Result<(), RouteError> {
        let segments = parse(path)?;
        self.root.check(&segments, method.as_ref(), path)?;
        self.root.insert(&segments, method, path, value);
        Ok(())
    }
}

impl<T> Default for RouteTree<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Node<T> {
    const fn new() -> Self {
        Self {
            statics: Vec::new(),
            param: None,
            wildcard: None,
            endpoint: None,
        }
    }

    fn static_child(&self, segment: &str) -> Option<&Self> {
        // A few children are found sooner by a scan, which compares lengths
        // before bytes, than by the ordered compares of a binary search.
        if self.statics.len() <= LINEAR_STATICS {
            return self
                .statics
                .iter()
                .find(|(key, _)| **key == *segment)
                .map(|(_, node)| node);
        }
        self.statics
            .binary_search_by(|(key, _)| (**key).cmp(segment))
            .ok()
            .and_then(|i| self.statics.get(i))
            .map(|(_, node)| node)
    }

    fn static_child_or_insert(&mut self, segment: &str) -> &mut Self {
        let i = match self
            .statics
            .binary_search_by(|(key, _)| (**key).cmp(segment))
        {
            Ok(i) => i,
            Err(i) => {
                self.statics.insert(i, (segment.into(), Self::new()));
                i
            }
        };
        &mut self.statics[i].1
    }

    /// Finds the endpoint for `rest`, the path after the slash that leads to
    /// this node's children, trying static, then parameter, then wildcard
    /// children and backtracking on failure.
    fn find<'r, 'p>(
        &'r self,
        rest: &'p str,
        params: &mut Params<'r, 'p>,
    ) -> Option<&'r Endpoint<T>> {
        // A byte scan: segments are short, and `split_once` sets up a
        // general searcher for each.
        let (segment, next) = match rest.bytes().position(|b| b == b'/') {
            Some(i) => (&rest[..i], rest.get(i + 1..)),
            None => (rest, None),
        };

        let found = self
            .static_child(segment)
            .and_then(|child| child.descend(next, params));
        if found.is_some() {
            return found;
        }

        if let Some(param) = self.param.as_deref().filter(|_| !segment.is_empty()) {
            let mark = params.len();
            params.push(&param.name, segment);
            if let Some(endpoint) = param.node.descend(next, params) {
                return Some(endpoint);
            }
            params.truncate(mark);
        }

        let wildcard = self.wildcard.as_deref()?;
        params.push(&wildcard.name, rest);
        Some(&wildcard.endpoint)
    }

    /// Continues a lookup at this node after it matched a segment: the path
    /// ends here (`next` is `None`) or goes on to the children.
    fn descend<'r, 'p>(
        &'r self,
        next: Option<&'p str>,
        params: &mut Params<'r, 'p>,
    ) -> Option<&'r Endpoint<T>> {
        match next {
            None => self.endpoint.as_ref(),
            Some(rest) => self.find(rest, params),
        }
    }

    /// Reports whether adding `segments` for `method` would clash with a
    /// registered route, without changing anything.
    fn check(
        &self,
        segments: &[Segment<'_>],
        method: Option<&Method>,
        path: &str,
    ) -> Result<(), RouteError> {
        let mut node = self;
        for segment in segments {
            match *segment {
                Segment::Static(text) => match node.static_child(text) {
                    Some(child) => node = child,
                    None => return Ok(()),
                },
                Segment::Param(name) => match node.param.as_deref() {
                    Some(param) if *param.name != *name => {
                        return Err(conflict(path, &param.origin));
                    }
                    Some(param) => node = &param.node,
                    None => return Ok(()),
                },
                Segment::Wildcard(name) => {
                    return match node.wildcard.as_deref() {
                        Some(wildcard) if *wildcard.name != *name => {
                            Err(conflict(path, &wildcard.endpoint.pattern))
                        }
                        Some(wildcard) => wildcard.endpoint.check(method, path),
                        None => Ok(()),
                    };
                }
            }
        }
        match &node.endpoint {
            Some(endpoint) => endpoint.check(method, path),
            None => Ok(()),
        }
    }

    /// Adds a route that [`check`](Self::check) accepted.
    fn insert(&mut self, segments: &[Segment<'_>], method: Option<Method>, path: &str, value: T) {
        let mut node = self;
        for segment in segments {
            match *segment {
                Segment::Static(text) => node = node.static_child_or_insert(text),
                Segment::Param(name) => {
                    let param = node.param.get_or_insert_with(|| {
                        Box::new(ParamChild {
                            name: name.into(),
                            origin: path.into(),
                            node: Self::new(),
                        })
                    });
                    node = &mut param.node;
                }
                Segment::Wildcard(name) => {
                    let wildcard = node.wildcard.get_or_insert_with(|| {
                        Box::new(WildcardChild {
                            name: name.into(),
                            endpoint: Endpoint::new(path),
                        })
                    });
                    wildcard.endpoint.add(method, value);
                    return;
                }
            }
        }
        node.endpoint
            .get_or_insert_with(|| Endpoint::new(path))
            .add(method, value);
    }

    fn collect_routes<'a>(&'a self, out: &mut Vec<(Option<&'a Method>, &'a str, &'a T)>) {
        if let Some(endpoint) = &self.endpoint {
            endpoint.collect_routes(out);
        }
        for (_, child) in &self.statics {
            child.collect_routes(out);
        }
        if let Some(param) = &self.param {
            param.node.collect_routes(out);
        }
        if let Some(wildcard) = &self.wildcard {
            wildcard.endpoint.collect_routes(out);
        }
    }

    fn into_routes(self, out: &mut Vec<(Option<Method>, Box<str>, T)>) {
        if let Some(endpoint) = self.endpoint {
            endpoint.into_routes(out);
        }
        for (_, child) in self.statics {
            child.into_routes(out);
        }
        if let Some(param) = self.param {
            param.node.into_routes(out);
        }
        if let Some(wildcard) = self.wildcard {
            wildcard.endpoint.into_routes(out);
        }
    }
}

impl<T> Endpoint<T> {
    fn new(pattern: &str) -> Self {
        Self {
            pattern: pattern.into(),
            methods: Vec::new(),
            any: None,
        }
    }

    fn get(&self, method: &Method) -> Option<&T> {
        self.methods
            .iter()
            .find(|(m, _)| m == method)
            .map(|(_, value)| value)
    }

    /// Exact method, then `GET` for `HEAD`, then the "any" route.
    fn dispatch(&self, method: &Method) -> Option<&T> {
        self.get(method)
            .or_else(|| {
                if method == Method::HEAD {
                    self.get(&Method::GET)
                } else {
                    None
                }
            })
            .or(self.any.as_ref())
    }

    /// The `Allow` header value for this pattern.
    fn allow(&self) -> String {
        let mut names: Vec<&str> = self.methods.iter().map(|(m, _)| m.as_str()).collect();
        if self.get(&Method::GET).is_some() {
            names.push(Method::HEAD.as_str());
        }
        names.push(Method::OPTIONS.as_str());
        names.sort_unstable();
        names.dedup();
        names.join(", ")
    }

    fn check(&self, method: Option<&Method>, path: &str) -> Result<(), RouteError> {
        let taken = match method {
            Some(method) => self.get(method).is_some(),
            None => self.any.is_some(),
        };
        if taken {
            Err(conflict(path, &self.pattern))
        } else {
            Ok(())
        }
    }

    fn add(&mut self, method: Option<Method>, value: T) {
        match method {
            Some(method) => self.methods.push((method, value)),
            None => self.any = Some(value),
        }
    }

    fn collect_routes<'a>(&'a self, out: &mut Vec<(Option<&'a Method>, &'a str, &'a T)>) {
        for (method, value) in &self.methods {
            out.push((Some(method), &self.pattern, value));
        }
        if let Some(value) = &self.any {
            out.push((None, &self.pattern, value));
        }
    }

    fn into_routes(self, out: &mut Vec<(Option<Method>, Box<str>, T)>) {
        let Self {
            pattern,
            methods,
            any,
        } = self;
        for (method, value) in methods {
            out.push((Some(method), pattern.clone(), value));
        }
        if let Some(value) = any {
            out.push((None, pattern, value));
        }
    }
}

/// Splits a route pattern into segments, enforcing the path syntax.
fn parse(path: &str) -> Result<Vec<Segment<'_>>, RouteError> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err(invalid(path, "must start with '/'"));
    };
    let mut segments = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    let mut parts = rest.split('/').peekable();
    while let Some(part) = parts.next() {
        let segment = match part.as_bytes().first() {
            Some(b':') => Segment::Param(parse_name(path, &part[1..], "empty parameter name")?),
            Some(b'*') => {
                if parts.peek().is_some() {
                    return Err(invalid(path, "wildcard must be the last segment"));
                }
                Segment::Wildcard(parse_name(path, &part[1..], "empty wildcard name")?)
            }
            _ if part.contains([':', '*']) => {
                return Err(invalid(path, "parameter must be a whole segment"));
            }
            _ => Segment::Static(part),
        };
        if let Segment::Param(name) | Segment::Wildcard(name) = segment {
            if names.contains(&name) {
                return Err(invalid(path, "duplicate parameter name"));
            }
            names.push(name);
        }
        segments.push(segment);
    }
    Ok(segments)
}

/// Checks a parameter or wildcard name (the text after `:` or `*`).
fn parse_name<'a>(path: &str, name: &'a str, empty: &'static str) -> Result<&'a str, RouteError> {
    let valid = name
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count();
    if valid == 0 && name.is_empty() {
        Err(invalid(path, empty))
    } else if valid == 0 {
        Err(invalid(path, "invalid parameter name"))
    } else if valid < name.len() {
        Err(invalid(path, "parameter must be a whole segment"))
    } else {
        Ok(name)
    }
}

fn invalid(path: &str, reason: &'static str) -> RouteError {
    RouteError::InvalidPath {
        path: path.to_owned(),
        reason,
    }
}

fn conflict(route: &str, existing: &str) -> RouteError {
    RouteError::Conflict {
        route: route.to_owned(),
        existing: existing.to_owned(),
    }
}
