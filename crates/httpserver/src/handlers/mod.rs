//! Ready-made handlers: static files, health probes and Prometheus metrics.

pub mod files;
mod health;
mod metrics;

pub use files::StaticFiles;
pub use health::Health;
pub use metrics::Metrics;
