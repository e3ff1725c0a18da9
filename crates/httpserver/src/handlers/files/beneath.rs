//! Opening paths beneath the root without ever leaving it.
//!
//! On Linux 5.6 and later one `openat2(2)` call with `RESOLVE_BENEATH`
//! resolves and opens a path relative to the root's descriptor, and the
//! kernel refuses any step outside it: the check and the open cannot be
//! separated. Where that call is missing (older kernels, filtering
//! sandboxes), or refuses an absolute symbolic link that does point inside
//! the root, the path is resolved with `realpath`, compared with the real
//! root, opened, and the open descriptor's real path is compared again.

use std::fs::{File, Metadata};
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::runtime::sys;

/// The served directory, open.
#[derive(Debug)]
pub(crate) struct Beneath {
    root: PathBuf,
    /// The root's real path and an open descriptor of it, if it existed
    /// when the handler was built.
    opened: Option<(PathBuf, File)>,
    /// Does `openat2` work here? Cleared at its first `ENOSYS`/`EPERM`.
    openat2: AtomicBool,
}

impl Beneath {
    pub(crate) fn new(root: PathBuf) -> Beneath {
        let opened = std::fs::canonicalize(&root)
            .and_then(|real| File::open(&real).map(|dir| (real, dir)))
            .ok();
        Beneath {
            root,
            opened,
            openat2: AtomicBool::new(true),
        }
    }

    /// The root as configured.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// Opens `rel` (plain names only, or `.` for the root itself) and reads
    /// its metadata from the descriptor; it may be a directory. Symbolic
    /// links are followed while they stay under the root, anywhere when
    /// `follow` says so.
    pub(crate) fn open(&self, rel: &Path, follow: bool) -> io::Result<(File, Metadata)> {
        if let Some((_, dir)) = &self.opened {
            if self.openat2.load(Ordering::Relaxed) {
                match sys::open_beneath(dir, rel, !follow) {
                    Ok(file) => {
                        let meta = file.metadata()?;
                        return Ok((file, meta));
                    }
                    Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EPERM)) => {
                        tracing::debug!("openat2 unavailable; resolving paths with realpath");
                        self.openat2.store(false, Ordering::Relaxed);
                    }
                    // An absolute link may still land inside: check below.
                    Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        self.open_checked(rel, follow)
    }

    /// The fallback: resolve, compare, open, compare again.
    fn open_checked(&self, rel: &Path, follow: bool) -> io::Result<(File, Metadata)> {
        let path = self.root.join(rel);
        let real = self
            .resolve(&path, follow)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "outside the root"))?;
        let file = {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
                .open(&real)?
        };
        if !follow {
            // A directory swapped for a link after `resolve` shows here.
            let at = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()));
            if let (Ok(at), Some(root)) = (at, self.real_root()) {
                if !at.starts_with(&root) {
                    return Err(io::Error::new(
                        io::ErrorKind::NotFound,
                        "left the root after it was checked",
                    ));
                }
            }
        }
        let meta = file.metadata()?;
        Ok((file, meta))
    }

    /// The real path of `path` if it exists and is allowed: under the real
    /// root, or anywhere with `follow`.
    pub(crate) fn resolve(&self, path: &Path, follow: bool) -> Option<PathBuf> {
        let real = std::fs::canonicalize(path).ok()?;
        if follow || real.starts_with(self.real_root()?) {
            Some(real)
        } else {
            tracing::debug!(path = %path.display(), "symbolic link leaves the root; refused");
            None
        }
    }

    fn real_root(&self) -> Option<PathBuf> {
        match &self.opened {
            Some((real, _)) => Some(real.clone()),
            None => std::fs::canonicalize(&self.root).ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_ways_agree_on_what_is_inside() {
        let base = std::env::temp_dir().join(format!("hs-files-beneath-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("www/sub")).unwrap();
        std::fs::write(base.join("www/sub/a.txt"), b"a").unwrap();
        std::fs::write(base.join("outside.txt"), b"o").unwrap();
        let www = base.join("www");
        std::os::unix::fs::symlink(base.join("outside.txt"), www.join("out")).unwrap();
        // An absolute link that stays inside: openat2 refuses it, the
        // fallback lets it through.
        std::os::unix::fs::symlink(www.join("sub/a.txt"), www.join("abs-in")).unwrap();
        std::os::unix::fs::symlink("sub", www.join("dirlink")).unwrap();
        let b = Beneath::new(www.clone());
        for fast in [true, false] {
            b.openat2.store(fast, Ordering::Relaxed);
            let ok = |p: &str, follow: bool| b.open(Path::new(p), follow).is_ok();
            assert!(ok("sub/a.txt", false), "fast={fast}");
            assert!(ok("abs-in", false), "fast={fast}");
            assert!(ok("dirlink/a.txt", false), "fast={fast}");
            assert!(!ok("out", false), "fast={fast}");
            assert!(ok("out", true), "fast={fast}");
            assert!(!ok("missing", false), "fast={fast}");
            let (_, meta) = b.open(Path::new("."), false).unwrap();
            assert!(meta.is_dir());
            let (_, meta) = b.open(Path::new("sub"), false).unwrap();
            assert!(meta.is_dir());
        }
        std::fs::remove_dir_all(&base).unwrap();
    }
}
