//! The command's settings, loaded in layers: defaults < TOML file
//! (`--config`) < `HTTPSERVER_*` environment variables < command-line flags.
//!
//! Every layer is checked on its own, so an error names the field and the
//! layer it came from; then the merged result is validated as a whole.
//!
//! The file has four tables; every key is optional:
//!
//! ```toml
//! [server]            # httpserver::ServerConfig: host, port, workers, limits, timeouts
//! port = 8080
//! drain_delay = "5s"
//!
//! [files]
//! root = "./public"
//! listing = true
//!
//! [health]
//! enabled = true
//!
//! [metrics]
//! path = "/metrics"
//!
//! [guards]
//! request_timeout = "30s"
//! ```
//!
//! Environment variables: `HTTPSERVER_<FIELD>` for `[server]` fields
//! (`HTTPSERVER_PORT`, `HTTPSERVER_MAX_WORKERS`) and
//! `HTTPSERVER_<TABLE>_<FIELD>` for the others (`HTTPSERVER_FILES_ROOT`,
//! `HTTPSERVER_METRICS_ENABLED`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use httpserver::config::{
    CompressionConfig, CorsConfig, GuardConfig, LogConfig, MiddlewareConfig, RateLimitConfig,
    SecurityConfig,
};
use httpserver::ServerConfig;
use serde::{Deserialize, Serialize};
use toml::{Table, Value};

/// Everything the command can be told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Settings {
    /// The server itself (see `httpserver::ServerConfig` for each field and
    /// its default). Its `middleware` part is set by the tables below, not
    /// in `[server]`.
    pub server: ServerConfig,
    /// What is served.
    pub files: FilesSettings,
    /// The probes.
    pub health: HealthSettings,
    /// The Prometheus endpoint.
    pub metrics: MetricsSettings,
    /// Access log and request ids (`httpserver::config::LogConfig`).
    pub log: LogConfig,
    /// Cross-origin requests (`httpserver::config::CorsConfig`).
    pub cors: CorsConfig,
    /// Response compression (`httpserver::config::CompressionConfig`).
    pub compression: CompressionConfig,
    /// Requests per client (`httpserver::config::RateLimitConfig`).
    pub rate_limit: RateLimitConfig,
    /// Security headers (`httpserver::config::SecurityConfig`).
    pub security: SecurityConfig,
    /// Request deadline and access control
    /// (`httpserver::config::GuardConfig`).
    pub guards: GuardConfig,
}

impl Default for Settings {
    /// The library's defaults, except that the command logs each request,
    /// gives it an id and compresses what is worth compressing.
    fn default() -> Self {
        Settings {
            server: ServerConfig::default(),
            files: FilesSettings::default(),
            health: HealthSettings::default(),
            metrics: MetricsSettings::default(),
            log: LogConfig {
                access: true,
                request_id: true,
                ..LogConfig::default()
            },
            cors: CorsConfig::default(),
            compression: CompressionConfig {
                enabled: true,
                ..CompressionConfig::default()
            },
            rate_limit: RateLimitConfig::default(),
            security: SecurityConfig::default(),
            guards: GuardConfig::default(),
        }
    }
}

impl Settings {
    /// The middleware tables as the library's [`MiddlewareConfig`]. (They
    /// are fields of their own, not a flattened `MiddlewareConfig`, because
    /// serde cannot combine `flatten` with `deny_unknown_fields`.)
    pub(crate) fn middleware(&self) -> MiddlewareConfig {
        MiddlewareConfig {
            log: self.log.clone(),
            cors: self.cors.clone(),
            compression: self.compression.clone(),
            rate_limit: self.rate_limit.clone(),
            security: self.security.clone(),
            guards: self.guards.clone(),
        }
    }
}

/// The command's key for a field of `ServerConfig`'s middleware part:
/// `middleware.cors.origins` is `cors.origins`.
pub(crate) fn middleware_key(field: &str) -> &str {
    field.strip_prefix("middleware.").unwrap_or(field)
}

/// `[files]`: the directory and how it is served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct FilesSettings {
    /// The directory served. Default `.`.
    pub root: PathBuf,
    /// HTML listing of directories without an index file. Default on.
    pub listing: bool,
    /// Serve and list names starting with `.`. Default off.
    pub hidden: bool,
    /// Follow symbolic links that leave the root. Default off.
    pub follow_symlinks: bool,
    /// The index file of a directory; `""` for none. Default `index.html`.
    pub index: String,
    /// `Cache-Control` sent with files. Default none.
    pub cache_control: Option<String>,
    /// Single-page-app fallback: this file (relative to the root) answers
    /// paths that name nothing. Default none.
    pub spa: Option<String>,
    /// A file (relative to the root) sent with 404s. Default none.
    pub not_found_page: Option<String>,
    /// Serve `file.br` / `file.zst` / `file.gz` when the client accepts
    /// them. Default on.
    pub precompressed: bool,
}

impl Default for FilesSettings {
    fn default() -> Self {
        FilesSettings {
            root: PathBuf::from("."),
            listing: true,
            hidden: false,
            follow_symlinks: false,
            index: "index.html".to_string(),
            cache_control: None,
            spa: None,
            not_found_page: None,
            precompressed: true,
        }
    }
}

/// `[health]`: Kubernetes probes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct HealthSettings {
    /// Answer the probes at all. Default on.
    pub enabled: bool,
    /// Liveness path. Default `/livez`.
    pub livez: String,
    /// Readiness path. Default `/readyz`.
    pub readyz: String,
    /// Combined JSON report path. Default `/healthz`.
    pub healthz: String,
}

impl Default for HealthSettings {
    fn default() -> Self {
        HealthSettings {
            enabled: true,
            livez: "/livez".into(),
            readyz: "/readyz".into(),
            healthz: "/healthz".into(),
        }
    }
}

/// `[metrics]`: the Prometheus endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct MetricsSettings {
    /// Serve metrics at all. Default on.
    pub enabled: bool,
    /// Path. Default `/metrics`.
    pub path: String,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        MetricsSettings {
            enabled: true,
            path: "/metrics".into(),
        }
    }
}

/// Keys whose default is "none" (so they do not appear in the serialized
/// defaults) and that take a string.
const OPTIONAL_STRINGS: &[&str] = &[
    "server.server_header",
    "files.cache_control",
    "files.spa",
    "files.not_found_page",
];

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// The built-in default.
    Default,
    /// The TOML file at this path.
    File(PathBuf),
    /// This environment variable.
    Env(String),
    /// This command-line flag.
    Flag(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("the default"),
            Source::File(p) => write!(f, "config file {}", p.display()),
            Source::Env(name) => write!(f, "environment variable {name}"),
            Source::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

/// A setting that cannot be used, with the field and the layer it came
/// from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SettingsError(pub String);

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SettingsError {}

/// Builds settings layer by layer.
#[derive(Debug)]
pub(crate) struct Loader {
    merged: Table,
    sources: BTreeMap<String, Source>,
    /// The default value of every known key (`table.field`), `None` for
    /// optional strings.
    known: BTreeMap<String, Option<Value>>,
    /// Optional keys set to "none" by an empty value.
    cleared: std::collections::BTreeSet<String>,
}

impl Loader {
    /// Starts from the defaults.
    pub(crate) fn new() -> Loader {
        let defaults = Table::try_from(Settings::default()).unwrap_or_default();
        let mut known = BTreeMap::new();
        for (table, fields) in &defaults {
            if let Value::Table(fields) = fields {
                for (field, value) in fields {
                    known.insert(format!("{table}.{field}"), Some(value.clone()));
                }
            }
        }
        for key in OPTIONAL_STRINGS {
            known.insert((*key).to_string(), None);
        }
        Loader {
            merged: defaults,
            sources: BTreeMap::new(),
            known,
            cleared: Default::default(),
        }
    }

    /// Adds a TOML file's contents.
    ///
    /// # Errors
    ///
    /// Bad TOML, an unknown key or a value of the wrong type, naming the
    /// file and the key.
    pub(crate) fn file(&mut self, path: &std::path::Path, text: &str) -> Result<(), SettingsError> {
        let source = Source::File(path.to_path_buf());
        let table: Table = text
            .parse()
            .map_err(|e: toml::de::Error| SettingsError(format!("{source}: {}", e.message())))?;
        // Checked alone first, so the error is about this file.
        check(&table, &source)?;
        if let Some(Value::Table(server)) = table.get("server") {
            if server.contains_key("middleware") {
                return Err(SettingsError(format!(
                    "invalid config field `server.middleware` (from {source}): set the [log], \
                     [cors], [compression], [rate_limit], [security] and [guards] tables instead"
                )));
            }
        }
        for (t, fields) in &table {
            if let Value::Table(fields) = fields {
                for (field, value) in fields {
                    self.set(&format!("{t}.{field}"), value.clone(), source.clone())?;
                }
            }
        }
        Ok(())
    }

    /// Adds `HTTPSERVER_*` variables from `vars`.
    ///
    /// # Errors
    ///
    /// A variable that names no setting, or a value that does not fit.
    pub(crate) fn env(
        &mut self,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(), SettingsError> {
        for (name, raw) in vars {
            let Some(rest) = name.strip_prefix("HTTPSERVER_") else {
                continue;
            };
            let rest = rest.to_ascii_lowercase();
            let key = self
                .known
                .keys()
                .find(|k| env_suffix(k) == rest)
                .cloned()
                .ok_or_else(|| {
                    SettingsError(format!(
                        "environment variable {name} names no setting (see `httpserver --help`)"
                    ))
                })?;
            let source = Source::Env(name.clone());
            let value = self.typed(&key, &raw, &source)?;
            self.set(&key, value, source)?;
        }
        Ok(())
    }

    /// Sets one key from a command-line flag's text.
    ///
    /// # Errors
    ///
    /// A value that does not fit the key.
    pub(crate) fn flag(&mut self, key: &str, flag: &str, raw: &str) -> Result<(), SettingsError> {
        let source = Source::Flag(flag.to_string());
        let value = self.typed(key, raw, &source)?;
        self.set(key, value, source)
    }

    /// Sets one key from a command-line flag with a typed value.
    ///
    /// # Errors
    ///
    /// A value that does not fit the key.
    pub(crate) fn flag_value(
        &mut self,
        key: &str,
        flag: &str,
        value: Value,
    ) -> Result<(), SettingsError> {
        self.set(key, value, Source::Flag(flag.to_string()))
    }

    /// The text of a variable or flag as the value type the key's default
    /// has (strings stay strings).
    fn typed(&self, key: &str, raw: &str, source: &Source) -> Result<Value, SettingsError> {
        let bad = |what: &str| SettingsError(format!("{source}: `{key}` {what}, got {raw:?}"));
        Ok(match self.known.get(key) {
            Some(Some(Value::Integer(_))) => Value::Integer(
                raw.trim()
                    .parse()
                    .map_err(|_| bad("must be a whole number"))?,
            ),
            Some(Some(Value::Boolean(_))) => Value::Boolean(match raw.trim() {
                "1" | "true" | "yes" | "on" => true,
                "0" | "false" | "no" | "off" => false,
                _ => return Err(bad("must be true or false")),
            }),
            Some(Some(Value::Float(_))) => {
                Value::Float(raw.trim().parse().map_err(|_| bad("must be a number"))?)
            }
            _ => Value::String(raw.to_string()),
        })
    }

    fn set(&mut self, key: &str, value: Value, source: Source) -> Result<(), SettingsError> {
        // An empty string clears a key whose default is "none".
        if OPTIONAL_STRINGS.contains(&key) && value.as_str() == Some("") {
            if let Some((table, field)) = key.split_once('.') {
                if let Some(Value::Table(t)) = self.merged.get_mut(table) {
                    t.remove(field);
                }
            }
            self.sources.insert(key.to_string(), source);
            self.cleared.insert(key.to_string());
            return Ok(());
        }
        self.cleared.remove(key);
        let (table, field) = key
            .split_once('.')
            .ok_or_else(|| SettingsError(format!("{source}: `{key}` is not a setting")))?;
        // Check this one value against the schema, alone.
        let mut probe = Table::new();
        let mut fields = Table::new();
        fields.insert(field.to_string(), value.clone());
        probe.insert(table.to_string(), Value::Table(fields));
        check(&probe, &source)?;
        if let Some(Value::Table(t)) = self.merged.get_mut(table) {
            t.insert(field.to_string(), value);
        } else {
            let mut t = Table::new();
            t.insert(field.to_string(), value);
            self.merged.insert(table.to_string(), Value::Table(t));
        }
        self.sources.insert(key.to_string(), source);
        Ok(())
    }

    /// Where `key` was last set.
    pub(crate) fn source(&self, key: &str) -> Source {
        self.sources.get(key).cloned().unwrap_or(Source::Default)
    }

    /// The merged settings, validated.
    ///
    /// # Errors
    ///
    /// A value that cannot work (a port out of range, fewer workers than
    /// allowed, a root that is not a directory), naming the field and
    /// where it came from.
    pub(crate) fn finish(self) -> Result<Settings, SettingsError> {
        let mut settings: Settings = self
            .merged
            .clone()
            .try_into()
            .map_err(|e: toml::de::Error| SettingsError(e.message().to_string()))?;
        for key in &self.cleared {
            match key.as_str() {
                "server.server_header" => settings.server.server_header = None,
                "files.cache_control" => settings.files.cache_control = None,
                "files.spa" => settings.files.spa = None,
                "files.not_found_page" => settings.files.not_found_page = None,
                _ => {}
            }
        }
        if !settings.server.middleware.is_default() {
            return Err(SettingsError(format!(
                "invalid config field `server.middleware` (from {}): set the [log], [cors], \
                 [compression], [rate_limit], [security] and [guards] tables instead",
                self.source("server.middleware")
            )));
        }
        if let Err(e) = settings.server.validate() {
            let key = format!("server.{}", e.field());
            return Err(SettingsError(format!("{} (from {})", e, self.source(&key))));
        }
        if !settings.files.root.is_dir() {
            return Err(SettingsError(format!(
                "invalid config field `files.root` (from {}): {} is not a directory",
                self.source("files.root"),
                settings.files.root.display()
            )));
        }
        self.check_middleware(&settings)?;
        for (key, path) in [
            ("health.livez", &settings.health.livez),
            ("health.readyz", &settings.health.readyz),
            ("health.healthz", &settings.health.healthz),
            ("metrics.path", &settings.metrics.path),
        ] {
            if !path.starts_with('/') || path.contains(['*', ':', '?', '#']) {
                return Err(SettingsError(format!(
                    "invalid config field `{key}` (from {}): {path:?} must be a plain path starting with /",
                    self.source(key)
                )));
            }
        }
        Ok(settings)
    }
}

impl Loader {
    /// Checks the middleware tables as the library does, naming the
    /// table's key and where its value came from.
    fn check_middleware(&self, s: &Settings) -> Result<(), SettingsError> {
        s.middleware().validate().map_err(|e| {
            let key = middleware_key(e.field());
            SettingsError(format!(
                "invalid config field `{key}` (from {}): {}",
                self.source(key),
                e.message()
            ))
        })
    }
}

impl Default for Loader {
    fn default() -> Self {
        Loader::new()
    }
}

/// The part of an environment variable name after `HTTPSERVER_` for a key,
/// lowercase: `server.port` -> `port`, `files.root` -> `files_root`.
fn env_suffix(key: &str) -> String {
    match key.split_once('.') {
        Some(("server", field)) => field.to_string(),
        Some((table, field)) => format!("{table}_{field}"),
        None => key.to_string(),
    }
}

/// Deserializes `table` alone (over the defaults) to find unknown keys and
/// wrong types, blaming `source`.
fn check(table: &Table, source: &Source) -> Result<(), SettingsError> {
    Settings::deserialize(Value::Table(table.clone()))
        .map(|_| ())
        .map_err(|e| SettingsError(format!("{source}: {}", e.message())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn layers_override_in_order() {
        let mut l = Loader::new();
        l.file(
            std::path::Path::new("site.toml"),
            "[server]\nport = 9000\nmax_workers = 8\n[files]\nlisting = false\n",
        )
        .unwrap();
        l.env(env(&[("HTTPSERVER_PORT", "9100"), ("PATH", "/bin")]))
            .unwrap();
        l.flag("files.listing", "--listing", "true").unwrap();
        assert_eq!(
            l.source("server.port"),
            Source::Env("HTTPSERVER_PORT".into())
        );
        assert_eq!(
            l.source("server.max_workers"),
            Source::File("site.toml".into())
        );
        assert_eq!(l.source("server.host"), Source::Default);
        let s = l.finish().unwrap();
        assert_eq!(s.server.port, 9100);
        assert_eq!(s.server.max_workers, 8);
        assert!(s.files.listing);
    }

    #[test]
    fn every_key_has_an_environment_variable() {
        let mut l = Loader::new();
        l.env(env(&[
            ("HTTPSERVER_FILES_CACHE_CONTROL", "max-age=60"),
            ("HTTPSERVER_SERVER_HEADER", "x"),
            ("HTTPSERVER_METRICS_ENABLED", "false"),
            ("HTTPSERVER_DRAIN_DELAY", "5s"),
            ("HTTPSERVER_FILES_SPA", "index.html"),
            ("HTTPSERVER_FILES_NOT_FOUND_PAGE", "404.html"),
        ]))
        .unwrap();
        let s = l.finish().unwrap();
        assert_eq!(s.files.cache_control.as_deref(), Some("max-age=60"));
        assert_eq!(s.server.server_header.as_deref(), Some("x"));
        assert!(!s.metrics.enabled);
        assert_eq!(s.server.drain_delay, std::time::Duration::from_secs(5));
    }

    #[test]
    fn an_empty_value_clears_an_optional_key() {
        let mut l = Loader::new();
        l.file(
            std::path::Path::new("a.toml"),
            "[files]\ncache_control = \"max-age=5\"\n",
        )
        .unwrap();
        l.env(env(&[
            ("HTTPSERVER_SERVER_HEADER", ""),
            ("HTTPSERVER_FILES_CACHE_CONTROL", ""),
            ("HTTPSERVER_FILES_SPA", "index.html"),
        ]))
        .unwrap();
        l.flag("files.spa", "--spa", "").unwrap();
        l.flag("files.not_found_page", "--404", "").unwrap();
        assert_eq!(
            OPTIONAL_STRINGS.len(),
            4,
            "clear new optional keys in finish()"
        );
        let s = l.finish().unwrap();
        assert_eq!(s.server.server_header, None);
        assert_eq!(s.files.cache_control, None);
        assert_eq!(s.files.spa, None);
        assert_eq!(s.files.not_found_page, None);
    }

    #[test]
    fn every_key_is_documented_with_its_default() {
        let doc = include_str!("../docs/configuration.md");
        let defaults = Loader::new();
        for (key, default) in &defaults.known {
            let (table, field) = key.split_once('.').unwrap();
            let section = doc
                .split_once(&format!("## `[{table}]`"))
                .map(|(_, rest)| rest.split("\n## ").next().unwrap_or(""))
                .unwrap_or_else(|| panic!("docs/configuration.md lacks [{table}]"));
            let row = section
                .lines()
                .find(|l| l.starts_with(&format!("| `{field}` |")))
                .unwrap_or_else(|| panic!("docs/configuration.md lacks {key}"));
            if let (Some(Value::Integer(n)), "server") = (default, table) {
                if field != "min_workers" {
                    assert!(
                        row.contains(&format!("`{n}`")),
                        "{key}: default {n} not in {row}"
                    );
                }
            }
            if let Some(Value::Boolean(b)) = default {
                assert!(
                    row.contains(&format!("`{b}`")),
                    "{key}: default {b} not in {row}"
                );
            }
        }
    }

    #[test]
    fn errors_name_the_field_and_the_source() {
        let mut l = Loader::new();
        let e = l
            .file(std::path::Path::new("a.toml"), "[server]\nprot = 1\n")
            .unwrap_err();
        assert!(e.0.contains("a.toml") && e.0.contains("prot"), "{e}");
        let e = l
            .file(std::path::Path::new("a.toml"), "[server]\nport = \"x\"\n")
            .unwrap_err();
        assert!(e.0.contains("a.toml"), "{e}");
        let e = l.env(env(&[("HTTPSERVER_PROT", "1")])).unwrap_err();
        assert!(e.0.contains("HTTPSERVER_PROT"), "{e}");
        let e = l.env(env(&[("HTTPSERVER_PORT", "99999")])).unwrap_err();
        assert!(e.0.contains("HTTPSERVER_PORT"), "{e}");
        let e = l
            .env(env(&[("HTTPSERVER_FILES_LISTING", "maybe")]))
            .unwrap_err();
        assert!(
            e.0.contains("files.listing") && e.0.contains("true or false"),
            "{e}"
        );
        let e = l
            .env(env(&[("HTTPSERVER_HEAD_TIMEOUT", "5 fortnights")]))
            .unwrap_err();
        assert!(e.0.contains("HTTPSERVER_HEAD_TIMEOUT"), "{e}");

        let mut l = Loader::new();
        l.flag("server.max_workers", "--workers-max", "0").unwrap();
        let e = l.finish().unwrap_err();
        assert!(
            e.0.contains("max_workers") && e.0.contains("--workers-max"),
            "{e}"
        );

        let mut l = Loader::new();
        l.flag("files.root", "ROOT", "/definitely/not/here")
            .unwrap();
        let e = l.finish().unwrap_err();
        assert!(e.0.contains("files.root") && e.0.contains("ROOT"), "{e}");
    }

    #[test]
    fn optional_keys_are_real_keys() {
        // If a field is renamed, this list must follow.
        for key in OPTIONAL_STRINGS {
            let mut l = Loader::new();
            l.flag(key, "--x", "value").unwrap();
            l.finish().unwrap();
        }
    }
}
