//! The HTML directory listing.
//!
//! Names are HTML-escaped where they are shown and percent-encoded where
//! they are linked, so no name can break out of its element or attribute;
//! the page carries a Content-Security-Policy that allows no script at all.

use std::fmt::Write as _;
use std::io;
use std::path::Path;
use std::time::SystemTime;

use super::path::encode;

/// One row of the listing.
struct Entry {
    name: Vec<u8>,
    is_dir: bool,
    len: u64,
    modified: Option<SystemTime>,
}

/// The Content-Security-Policy sent with a listing: inline style only.
pub(crate) const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/// Most entries shown; a larger directory's listing says how many more
/// there are (reading and sorting them all would hold the worker).
const MAX_ENTRIES: usize = 10_000;

/// Renders the listing of `dir`, shown as `shown_path` (the decoded request
/// path, ending in `/`). Hidden (dot) entries are left out unless `hidden`.
///
/// # Errors
///
/// An error reading the directory.
pub(crate) fn render(
    dir: &Path,
    shown_path: &str,
    hidden: bool,
    link_allowed: impl Fn(&Path) -> bool,
) -> io::Result<String> {
    let mut entries = Vec::new();
    let mut left_out = 0usize;
    for item in std::fs::read_dir(dir)? {
        let Ok(item) = item else { continue };
        let name = name_bytes(&item.file_name());
        if !hidden && name.first() == Some(&b'.') {
            continue;
        }
        // A link the handler would refuse is not shown either.
        if item.file_type().is_ok_and(|t| t.is_symlink()) && !link_allowed(&item.path()) {
            continue;
        }
        if entries.len() >= MAX_ENTRIES {
            left_out += 1;
            continue;
        }
        // Follow links for the kind and size, as a browser user expects.
        let Ok(meta) = std::fs::metadata(item.path()) else {
            continue;
        };
        entries.push(Entry {
            name,
            is_dir: meta.is_dir(),
            len: meta.len(),
            modified: meta.modified().ok(),
        });
    }
    entries.sort_by(|a, b| {
        b.is_dir
            .cmp(&a.is_dir)
            .then_with(|| lower(&a.name).cmp(&lower(&b.name)))
            .then_with(|| a.name.cmp(&b.name))
    });

    let title = escape(shown_path);
    let mut html = String::with_capacity(1024 + entries.len() * 160);
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Index of {title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>Index of {title}</h1>\n<table>\n\
         <thead><tr><th>Name</th><th class=\"size\">Size</th><th class=\"time\">Modified</th></tr></thead>\n<tbody>\n"
    );
    if shown_path != "/" {
        html.push_str(
            "<tr><td><a href=\"../\">../</a></td><td class=\"size\">-</td><td class=\"time\"></td></tr>\n",
        );
    }
    for e in &entries {
        let mut href = String::new();
        encode(&e.name, &mut href);
        let mut shown = escape(&String::from_utf8_lossy(&e.name));
        if e.is_dir {
            href.push('/');
            shown.push('/');
        }
        let size = if e.is_dir {
            "-".to_string()
        } else {
            human_size(e.len)
        };
        let time = e.modified.map(format_time).unwrap_or_default();
        let class = if e.is_dir { "dir" } else { "file" };
        let _ = writeln!(
            html,
            "<tr><td><a class=\"{class}\" href=\"{href}\">{shown}</a></td>\
             <td class=\"size\">{size}</td><td class=\"time\">{time}</td></tr>"
        );
    }
    html.push_str("</tbody>\n</table>\n");
    if left_out > 0 {
        let _ = writeln!(html, "<p>{left_out} more entries not shown.</p>");
    }
    html.push_str("</body>\n</html>\n");
    Ok(html)
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1rem;color:#222}\
h1{font-size:1.2rem;word-break:break-all}\
table{border-collapse:collapse;width:100%}\
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #eee}\
td a{word-break:break-all}a.dir{font-weight:600}\
.size,.time{white-space:nowrap;color:#555}.size{text-align:right}\
@media (max-width:600px){.time{display:none}}";

#[cfg(unix)]
fn name_bytes(name: &std::ffi::OsStr) -> Vec<u8> {
    std::os::unix::ffi::OsStrExt::as_bytes(name).to_vec()
}

#[cfg(not(unix))]
fn name_bytes(name: &std::ffi::OsStr) -> Vec<u8> {
    name.to_string_lossy().into_owned().into_bytes()
}

fn lower(name: &[u8]) -> Vec<u8> {
    name.to_ascii_lowercase()
}

/// Escapes `&`, `<`, `>`, `"` and `'` for HTML text and attributes.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `1234` -> `1.2 KiB`.
fn human_size(len: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    if len < 1024 {
        return format!("{len} B");
    }
    let mut size = len as f64;
    let mut unit = 0;
    while size >= 1024.0 && unit < UNITS.len() - 1 {
        size /= 1024.0;
        unit += 1;
    }
    format!("{size:.1} {}", UNITS[unit])
}

/// `YYYY-MM-DD HH:MM` in UTC.
fn format_time(t: SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's
/// algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
    }

    #[test]
    fn sizes_and_dates_read_well() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(5 * 1024 * 1024 * 1024), "5.0 GiB");
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        assert_eq!(format_time(t), "2023-11-14 22:13");
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn lists_directories_first_with_safe_links() {
        let dir = std::env::temp_dir().join(format!("hs-listing-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("zdir")).unwrap();
        std::fs::write(dir.join("a <b>.txt"), b"x").unwrap();
        std::fs::write(dir.join("100% #1.txt"), b"xy").unwrap();
        std::fs::write(dir.join(".secret"), b"s").unwrap();
        let html = render(&dir, "/sub/<x>/", false, |_| true).unwrap();
        assert!(html.contains("<title>Index of /sub/&lt;x&gt;/</title>"));
        assert!(html.contains("href=\"../\""));
        assert!(html.contains("href=\"zdir/\">zdir/</a>"));
        assert!(html.contains("href=\"a%20%3Cb%3E.txt\">a &lt;b&gt;.txt</a>"));
        assert!(html.contains("href=\"100%25%20%231.txt\">100% #1.txt</a>"));
        assert!(!html.contains("secret"));
        let zdir = html.find("zdir").unwrap();
        assert!(zdir < html.find("a%20").unwrap() && zdir < html.find("100%25").unwrap());
        assert!(render(&dir, "/", true, |_| true)
            .unwrap()
            .contains(".secret"));
        assert!(!render(&dir, "/", false, |_| true)
            .unwrap()
            .contains("href=\"../\""));
        // Links the handler refuses are not listed; other entries are not
        // asked about.
        std::os::unix::fs::symlink("/etc", dir.join("out")).unwrap();
        let html = render(&dir, "/", false, |p| !p.ends_with("out")).unwrap();
        assert!(!html.contains("out") && html.contains("zdir"));
        assert!(render(&dir, "/", false, |_| true)
            .unwrap()
            .contains("href=\"out/\""));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
