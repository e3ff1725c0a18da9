use super::*;

/// A fresh directory tree for one test, removed on drop.
struct Tree(PathBuf);

impl Tree {
    fn new(name: &str) -> Tree {
        let dir = std::env::temp_dir().join(format!("hs-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("www/sub")).unwrap();
        std::fs::write(dir.join("www/hello.txt"), b"hello world\n").unwrap();
        std::fs::write(dir.join("www/page.html"), b"<p>hi</p>").unwrap();
        std::fs::write(dir.join("www/data.bin"), (0..=255u8).collect::<Vec<_>>()).unwrap();
        std::fs::write(dir.join("www/sub/index.html"), b"sub index").unwrap();
        std::fs::write(dir.join("www/.env"), b"SECRET=1").unwrap();
        std::fs::write(dir.join("secret.txt"), b"outside").unwrap();
        Tree(dir)
    }

    fn root(&self) -> PathBuf {
        self.0.join("www")
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn get(files: &StaticFiles, path: &str, headers: &[(&str, &str)]) -> http::Response<Vec<u8>> {
    request(files, Method::GET, path, headers)
}

fn request(
    files: &StaticFiles,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
) -> http::Response<Vec<u8>> {
    let mut builder = http::Request::builder().method(method).uri(path);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let req = Request::from_http(builder.body(Vec::new()).unwrap()).unwrap();
    files.call(&req).into_http().unwrap()
}

#[test]
fn serves_a_file_with_type_validators_and_ranges_advertised() {
    let t = Tree::new("basic");
    let files = StaticFiles::new(t.root());
    let res = get(&files, "/hello.txt", &[]);
    assert_eq!(res.status(), 200);
    assert_eq!(res.body(), b"hello world\n");
    let h = res.headers();
    assert_eq!(h["content-type"], "text/plain; charset=utf-8");
    assert_eq!(h["accept-ranges"], "bytes");
    assert!(h["etag"].to_str().unwrap().starts_with('"'));
    assert!(h.contains_key("last-modified"));
    assert!(!h.contains_key("cache-control"));
    assert_eq!(
        get(&files, "/data.bin", &[]).headers()["content-type"],
        "application/octet-stream"
    );
    assert_eq!(
        get(&files, "/page.html", &[]).headers()["content-type"],
        "text/html; charset=utf-8"
    );
}

#[test]
fn conditional_requests() {
    let t = Tree::new("cond");
    let files = StaticFiles::new(t.root());
    let first = get(&files, "/hello.txt", &[]);
    let etag = first.headers()["etag"].to_str().unwrap().to_string();
    let lm = first.headers()["last-modified"]
        .to_str()
        .unwrap()
        .to_string();
    let res = get(&files, "/hello.txt", &[("if-none-match", &etag)]);
    assert_eq!(res.status(), 304);
    assert!(res.body().is_empty());
    assert_eq!(res.headers()["etag"], etag.as_str());
    assert_eq!(
        get(&files, "/hello.txt", &[("if-modified-since", &lm)]).status(),
        304
    );
    // If-None-Match wins over If-Modified-Since.
    let res = get(
        &files,
        "/hello.txt",
        &[("if-none-match", "\"x\""), ("if-modified-since", &lm)],
    );
    assert_eq!(res.status(), 200);
    // Lists across lines.
    let res = get(
        &files,
        "/hello.txt",
        &[("if-none-match", "\"x\""), ("if-none-match", &etag)],
    );
    assert_eq!(res.status(), 304);
    // `*` on two lines.
    let res = get(
        &files,
        "/hello.txt",
        &[("if-none-match", "*"), ("if-none-match", "*")],
    );
    assert_eq!(res.status(), 304);
    assert_eq!(
        get(&files, "/hello.txt", &[("if-match", "\"x\"")]).status(),
        412
    );
    assert_eq!(
        get(&files, "/hello.txt", &[("if-match", &etag)]).status(),
        200
    );
    let res = get(
        &files,
        "/hello.txt",
        &[("if-unmodified-since", "Thu, 01 Jan 1970 00:00:00 GMT")],
    );
    assert_eq!(res.status(), 412);
}

#[test]
fn ranges() {
    let t = Tree::new("range");
    let files = StaticFiles::new(t.root());
    let res = get(&files, "/data.bin", &[("range", "bytes=10-19")]);
    assert_eq!(res.status(), 206);
    assert_eq!(res.headers()["content-range"], "bytes 10-19/256");
    assert_eq!(res.body(), &(10..20u8).collect::<Vec<_>>());
    let res = get(&files, "/data.bin", &[("range", "bytes=-6")]);
    assert_eq!(res.headers()["content-range"], "bytes 250-255/256");
    let res = get(&files, "/data.bin", &[("range", "bytes=300-")]);
    assert_eq!(res.status(), 416);
    assert_eq!(res.headers()["content-range"], "bytes */256");
    let res = get(&files, "/data.bin", &[("range", "bytes=0-1,254-")]);
    assert_eq!(res.status(), 206);
    let ct = res.headers()["content-type"].to_str().unwrap().to_string();
    let boundary = ct.strip_prefix("multipart/byteranges; boundary=").unwrap();
    let body = res.body();
    let text = String::from_utf8_lossy(body);
    assert!(text.contains(&format!("--{boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 0-1/256\r\n\r\n")));
    assert!(text.ends_with(&format!("\r\n--{boundary}--\r\n")));
    // If-Range: a matching tag honours the range, another sends it all.
    let etag = get(&files, "/data.bin", &[]).headers()["etag"]
        .to_str()
        .unwrap()
        .to_string();
    let res = get(
        &files,
        "/data.bin",
        &[("range", "bytes=0-0"), ("if-range", &etag)],
    );
    assert_eq!(res.status(), 206);
    let res = get(
        &files,
        "/data.bin",
        &[("range", "bytes=0-0"), ("if-range", "\"old\"")],
    );
    assert_eq!(res.status(), 200);
    assert_eq!(res.body().len(), 256);
    // HEAD ignores Range.
    let res = request(&files, Method::HEAD, "/data.bin", &[("range", "bytes=0-0")]);
    assert_eq!(res.status(), 200);
}

#[test]
fn directories_index_listing_and_redirect() {
    let t = Tree::new("dirs");
    let files = StaticFiles::new(t.root());
    let res = get(&files, "/sub", &[]);
    assert_eq!(res.status(), 308);
    assert_eq!(res.headers()["location"], "/sub/");
    assert_eq!(get(&files, "/sub/", &[]).body(), b"sub index");
    assert_eq!(get(&files, "/", &[]).status(), 403);
    let listing = StaticFiles::new(t.root()).listing(true);
    let res = get(&listing, "/", &[]);
    assert_eq!(res.status(), 200);
    let html = String::from_utf8(res.body().clone()).unwrap();
    assert!(html.contains("href=\"hello.txt\""));
    assert!(!html.contains(".env"));
    assert!(res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
    // A file named with a trailing slash is not found.
    assert_eq!(get(&files, "/hello.txt/", &[]).status(), 404);
}

#[test]
fn escapes_and_hidden_files_are_refused() {
    let t = Tree::new("escape");
    let files = StaticFiles::new(t.root());
    for path in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/sub/%2e%2e%2f..%2fsecret.txt",
        "/a%5c..%5csecret.txt",
        "/hello.txt%00",
    ] {
        let res = get(&files, path, &[]);
        assert!(
            matches!(res.status().as_u16(), 400 | 404),
            "{path}: {}",
            res.status()
        );
        assert!(
            !String::from_utf8_lossy(res.body()).contains("outside"),
            "{path}"
        );
    }
    assert_eq!(get(&files, "/.env", &[]).status(), 404);
    assert_eq!(
        StaticFiles::new(t.root())
            .hidden(true)
            .call_path("/.env")
            .status(),
        200
    );
}

#[cfg(unix)]
#[test]
fn symlinks_leaving_the_root_need_permission() {
    let t = Tree::new("links");
    std::os::unix::fs::symlink(t.0.join("secret.txt"), t.root().join("out.txt")).unwrap();
    std::os::unix::fs::symlink(t.root().join("hello.txt"), t.root().join("in.txt")).unwrap();
    std::os::unix::fs::symlink(&t.0, t.root().join("updir")).unwrap();
    let files = StaticFiles::new(t.root());
    assert_eq!(get(&files, "/out.txt", &[]).status(), 404);
    assert_eq!(get(&files, "/updir/secret.txt", &[]).status(), 404);
    assert_eq!(get(&files, "/in.txt", &[]).body(), b"hello world\n");
    let open = StaticFiles::new(t.root()).follow_symlinks(true);
    assert_eq!(get(&open, "/out.txt", &[]).body(), b"outside");
}

#[cfg(unix)]
#[test]
fn a_fifo_does_not_hold_the_worker() {
    let t = Tree::new("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(t.root().join("hello.txt.gz"))
        .arg(t.root().join("pipe"))
        .status()
        .unwrap();
    assert!(made.success());
    let files = StaticFiles::new(t.root()).spa("pipe");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let sibling = get(&files, "/hello.txt", &[("accept-encoding", "gzip")]);
        let spa = get(&files, "/missing", &[]);
        let _ = tx.send((sibling.status(), sibling.body().clone(), spa.status()));
    });
    let (status, body, spa) = rx
        .recv_timeout(std::time::Duration::from_secs(5))
        .expect("opening a FIFO blocked the handler");
    // The FIFO sibling is skipped; the SPA file is not a file: 404.
    assert_eq!(
        (status, body.as_slice()),
        (StatusCode::OK, &b"hello world\n"[..])
    );
    assert_eq!(spa, StatusCode::NOT_FOUND);
}

#[test]
fn precompressed_siblings() {
    let t = Tree::new("precomp");
    std::fs::write(t.root().join("hello.txt.gz"), b"GZDATA").unwrap();
    std::fs::write(t.root().join("hello.txt.br"), b"BRDATA").unwrap();
    let files = StaticFiles::new(t.root());
    let res = get(&files, "/hello.txt", &[("accept-encoding", "gzip, br")]);
    assert_eq!(res.body(), b"BRDATA");
    assert_eq!(res.headers()["content-encoding"], "br");
    assert_eq!(res.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(res.headers()["vary"], "Accept-Encoding");
    let plain_etag = get(&files, "/hello.txt", &[]).headers()["etag"].clone();
    assert_ne!(res.headers()["etag"], plain_etag);
    let res = get(&files, "/hello.txt", &[("accept-encoding", "gzip")]);
    assert_eq!(res.body(), b"GZDATA");
    let res = get(&files, "/hello.txt", &[]);
    assert_eq!(res.body(), b"hello world\n");
    assert_eq!(res.headers()["vary"], "Accept-Encoding");
    assert!(!res.headers().contains_key("content-encoding"));
    let off = StaticFiles::new(t.root()).precompressed(false);
    assert_eq!(
        get(&off, "/hello.txt", &[("accept-encoding", "br")]).body(),
        b"hello world\n"
    );
}

#[test]
fn spa_fallback_404_page_cache_control_and_prefix() {
    let t = Tree::new("spa");
    std::fs::write(t.root().join("404.html"), b"custom 404").unwrap();
    let spa = StaticFiles::new(t.root()).spa("page.html");
    let res = get(&spa, "/app/route/42", &[]);
    assert_eq!(
        (res.status().as_u16(), res.body().as_slice()),
        (200, &b"<p>hi</p>"[..])
    );
    let custom = StaticFiles::new(t.root()).not_found_page("404.html");
    let res = get(&custom, "/missing", &[]);
    assert_eq!(
        (res.status().as_u16(), res.body().as_slice()),
        (404, &b"custom 404"[..])
    );
    let cached = StaticFiles::new(t.root()).cache_control("max-age=60");
    assert_eq!(
        get(&cached, "/hello.txt", &[]).headers()["cache-control"],
        "max-age=60"
    );
    let mounted = StaticFiles::new(t.root()).prefix("/static/");
    assert_eq!(get(&mounted, "/static/hello.txt", &[]).status(), 200);
    assert_eq!(get(&mounted, "/static", &[]).status(), 308);
    assert_eq!(get(&mounted, "/staticx/hello.txt", &[]).status(), 404);
    assert_eq!(
        request(&files_post(&t), Method::POST, "/hello.txt", &[]).status(),
        405
    );
}

fn files_post(t: &Tree) -> StaticFiles {
    StaticFiles::new(t.root())
}

impl StaticFiles {
    fn call_path(&self, path: &str) -> http::Response<Vec<u8>> {
        get(self, path, &[])
    }
}

/// The static fast path names the same types as parsing the guessed type
/// would.
#[test]
fn content_types_match_the_parsed_guess() {
    let parsed = |path: &Path| -> String {
        let mime = mime_guess::from_path(path).first_or_octet_stream();
        let textual = mime.type_() == mime_guess::mime::TEXT
            || matches!(
                mime.essence_str(),
                "application/javascript"
                    | "application/json"
                    | "application/xml"
                    | "image/svg+xml"
                    | "application/manifest+json"
            );
        if textual && mime.get_param(mime_guess::mime::CHARSET).is_none() {
            format!("{}; charset=utf-8", mime.essence_str())
        } else {
            mime.essence_str().to_string()
        }
    };
    for ext in [
        "html",
        "HTM",
        "css",
        "js",
        "mjs",
        "json",
        "xml",
        "svg",
        "txt",
        "md",
        "csv",
        "png",
        "jpg",
        "jpeg",
        "gif",
        "webp",
        "avif",
        "ico",
        "woff",
        "woff2",
        "ttf",
        "otf",
        "wasm",
        "pdf",
        "zip",
        "gz",
        "br",
        "mp4",
        "webm",
        "mp3",
        "ogg",
        "webmanifest",
        "ics",
        "vtt",
        "tsv",
        "yaml",
        "toml",
        "bin",
        "exe",
        "unknownext",
        "",
    ] {
        let path = PathBuf::from(format!("dir/file.{ext}"));
        assert_eq!(content_type(&path), parsed(&path), "{ext}");
    }
    assert_eq!(
        content_type(Path::new("README")),
        "application/octet-stream"
    );
}
