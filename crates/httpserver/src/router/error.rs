//! Errors reported while building a [`RouteTree`](super::RouteTree).

use std::error::Error;
use std::fmt;

/// Why a route could not be added to a [`RouteTree`](super::RouteTree).
///
/// Lookups never fail with this type; it is only returned by
/// [`RouteTree::insert`](super::RouteTree::insert),
/// [`RouteTree::insert_any`](super::RouteTree::insert_any) and
/// [`RouteTree::mount`](super::RouteTree::mount). A failed call leaves the router
/// unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RouteError {
    /// The path is malformed; `reason` says why, e.g. "must start with '/'",
    /// "wildcard must be the last segment", "empty parameter name" or
    /// "parameter must be a whole segment".
    InvalidPath {
        /// The offending path as given (for [`RouteTree::mount`](super::RouteTree::mount),
        /// the prefix or the joined path).
        path: String,
        /// A short, fixed explanation.
        reason: &'static str,
    },
    /// `route` clashes with the already registered `existing` route.
    ///
    /// Both fields are path patterns. For a duplicate method the two are the
    /// same pattern; for a parameter or wildcard name clash `existing` is the
    /// first registered route that uses the other name.
    Conflict {
        /// The pattern that was being added.
        route: String,
        /// The pattern of the registered route it clashes with.
        existing: String,
    },
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidPath { path, reason } => {
                write!(f, "invalid route path `{path}`: {reason}")
            }
            Self::Conflict { route, existing } => {
                write!(
                    f,
                    "route `{route}` conflicts with existing route `{existing}`"
                )
            }
        }
    }
}

impl Error for RouteError {}
