use super::*;
use crate::middleware::{run_chain, RequestIdLayer};
use std::sync::Arc;

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);
impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
impl Buf {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

fn request(target: &str, headers: &[(&str, &str)]) -> Request {
    let mut b = http::Request::get(target);
    for (n, v) in headers {
        b = b.header(*n, *v);
    }
    Request::from_http(b.body(Vec::new()).unwrap()).unwrap()
}

/// Runs one request through `chain` (Logging first) and returns the line.
fn log_one(
    format: LogFormat,
    extra: Vec<Arc<dyn Middleware>>,
    req: &mut Request,
    handler: &dyn Fn(&mut Request) -> Response,
) -> (Response, String) {
    let buf = Buf::default();
    let logging = Arc::new(Logging::new(format).colour(false).to_writer(buf.clone()));
    let mut chain: Vec<Arc<dyn Middleware>> = vec![logging.clone()];
    chain.extend(extra);
    let res = run_chain(&chain, req, handler);
    logging.flush();
    (res, buf.text())
}

fn ok_body(_: &mut Request) -> Response {
    Response::new(StatusCode::OK).with_text("hello")
}

#[test]
fn json_lines_carry_every_field() {
    let mut req = request(
        "/users/7?x=1&y=%22",
        &[
            ("user-agent", "curl/8 \"quoted\" \\ back"),
            ("referer", "https://example.com/"),
        ],
    );
    let (_, line) = log_one(
        LogFormat::Json,
        vec![Arc::new(RequestIdLayer::new())],
        &mut req,
        &ok_body,
    );
    assert!(
        line.ends_with('\n') && line.lines().count() == 1,
        "{line:?}"
    );
    let v: serde_json::Value = serde_json::from_str(line.trim_end()).unwrap();
    assert_eq!(v["method"], "GET");
    assert_eq!(v["path"], "/users/7");
    assert_eq!(v["query"], "x=1&y=%22");
    assert_eq!(v["status"], 200);
    assert_eq!(v["bytes"], 5);
    assert_eq!(v["user_agent"], "curl/8 \"quoted\" \\ back");
    assert_eq!(v["referer"], "https://example.com/");
    assert_eq!(v["request_id"].as_str().unwrap().len(), 16);
    assert!(v["remote"].is_null());
    assert!(v["duration_ms"].as_f64().unwrap() >= 0.0);
    let time = v["time"].as_str().unwrap();
    assert_eq!(time.len(), "2026-12-01T20:41:07.123Z".len(), "{time}");
    assert!(time.ends_with('Z'));
}

#[test]
fn json_without_optional_fields_uses_null() {
    let (_, line) = log_one(LogFormat::Json, vec![], &mut request("/", &[]), &ok_body);
    let v: serde_json::Value = serde_json::from_str(line.trim_end()).unwrap();
    for field in ["request_id", "query", "user_agent", "referer"] {
        assert!(v[field].is_null(), "{field}: {line}");
    }
}

#[test]
fn json_escapes_control_characters_and_bad_utf8() {
    let mut out = Vec::new();
    json_str(&mut out, b"a\x01b\nc\xffd\x7f");
    let out = String::from_utf8(out).unwrap();
    assert_eq!(out, "\"a\\u0001b\\nc\u{fffd}d\\u007f\"");
    let parsed: String = serde_json::from_str(&out).unwrap();
    assert_eq!(parsed, "a\u{1}b\nc\u{fffd}d\u{7f}");
}

#[test]
fn common_and_combined_formats() {
    let headers = [
        ("user-agent", "Mozilla/5.0 (X11)"),
        ("referer", "http://a/b"),
    ];
    let (_, common) = log_one(
        LogFormat::Common,
        vec![],
        &mut request("/a?b=c", &headers),
        &ok_body,
    );
    // host - - [dd/Mon/yyyy:HH:MM:SS +0000] "GET /a?b=c HTTP/1.1" 200 5
    let (start, rest) = common.split_once(" [").unwrap();
    assert_eq!(start, "- - -");
    let (time, rest) = rest.split_once("] ").unwrap();
    assert_eq!(time.len(), "01/Dec/2026:20:41:07 +0000".len(), "{time}");
    assert!(time.ends_with(" +0000"));
    assert_eq!(rest, "\"GET /a?b=c HTTP/1.1\" 200 5\n");

    let (_, combined) = log_one(
        LogFormat::Combined,
        vec![],
        &mut request("/a?b=c", &headers),
        &ok_body,
    );
    assert!(
        combined.ends_with("\"GET /a?b=c HTTP/1.1\" 200 5 \"http://a/b\" \"Mozilla/5.0 (X11)\"\n"),
        "{combined}"
    );
    // No body: `-`, as in Apache's %b. No headers: "-".
    let (_, empty) = log_one(LogFormat::Combined, vec![], &mut request("/", &[]), &|_| {
        Response::new(StatusCode::NO_CONTENT)
    });
    assert!(empty.ends_with("\" 204 - \"-\" \"-\"\n"), "{empty}");
}

#[test]
fn combined_escapes_quotes_and_bytes_like_nginx() {
    let mut out = Vec::new();
    clf_escape(&mut out, b"say \"hi\" \\ \x1b[31m \xc3\xa9");
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "say \\x22hi\\x22 \\x5C \\x1B[31m \\xC3\\xA9"
    );
}

#[test]
fn pretty_format() {
    let (_, line) = log_one(
        LogFormat::Pretty,
        vec![Arc::new(RequestIdLayer::new())],
        &mut request("/x", &[("x-request-id", "abc")]),
        &ok_body,
    );
    // 20:41:07.123 200 GET /x 0.004 ms 5 B abc
    let parts: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(parts[0].len(), "20:41:07.123".len(), "{line}");
    assert_eq!(&parts[1..4], ["200", "GET", "/x"]);
    assert_eq!(parts[5], "ms");
    assert_eq!(&parts[6..], ["5", "B", "abc"]);
    assert!(!line.contains('\x1b'));

    let buf = Buf::default();
    let logging = Arc::new(
        Logging::new(LogFormat::Pretty)
            .colour(true)
            .to_writer(buf.clone()),
    );
    let chain: Vec<Arc<dyn Middleware>> = vec![logging.clone(), Arc::new(RequestIdLayer::new())];
    run_chain(
        &chain,
        &mut request("/", &[("x-request-id", "abc")]),
        &|_| Response::new(StatusCode::NOT_FOUND),
    );
    logging.flush();
    let text = buf.text();
    assert!(text.contains("\x1b[33m404\x1b[0m"), "{text:?}");
    assert!(text.ends_with(" \x1b[2mabc\x1b[0m\n"), "{text:?}");
}

#[test]
fn streamed_bodies_of_unknown_length() {
    let handler = |_: &mut Request| {
        Response::new(StatusCode::OK).with_reader(std::io::Cursor::new(vec![1u8; 10]), None)
    };
    let (_, line) = log_one(LogFormat::Json, vec![], &mut request("/", &[]), &handler);
    assert!(line.contains("\"bytes\":null"), "{line}");
    let (_, line) = log_one(LogFormat::Common, vec![], &mut request("/", &[]), &handler);
    assert!(line.ends_with(" 200 -\n"), "{line}");
}

#[test]
fn a_panicking_handler_is_logged_as_500() {
    let (res, line) = log_one(LogFormat::Json, vec![], &mut request("/boom", &[]), &|_| {
        panic!("kaboom")
    });
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(line.contains("\"status\":500"), "{line}");
}

#[test]
fn id_comes_from_the_response_when_no_layer_runs_inside() {
    let (_, line) = log_one(LogFormat::Json, vec![], &mut request("/", &[]), &|_| {
        Response::new(StatusCode::OK).with_header("x-request-id", "from-handler")
    });
    assert!(line.contains("\"request_id\":\"from-handler\""), "{line}");
}

#[test]
fn civil_dates_match_httpdate() {
    // Every day for ~130 years, at varying times of day.
    let mut secs = 0u64;
    while secs < 4_102_444_800 {
        let (y, mo, d, h, mi, s) = civil(secs);
        let http = httpdate::fmt_http_date(UNIX_EPOCH + std::time::Duration::from_secs(secs));
        // "Thu, 01 Jan 1970 00:00:00 GMT"
        let months = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let mine = format!(
            "{d:02} {} {y:04} {h:02}:{mi:02}:{s:02}",
            months[mo as usize - 1]
        );
        assert_eq!(&http[5..25], mine, "at {secs}");
        secs += 86_400 + 3_607;
    }
}

#[test]
fn format_names_parse() {
    assert_eq!("json".parse::<LogFormat>(), Ok(LogFormat::Json));
    assert_eq!("Combined".parse::<LogFormat>(), Ok(LogFormat::Combined));
    assert_eq!("common".parse::<LogFormat>(), Ok(LogFormat::Common));
    assert_eq!("pretty".parse::<LogFormat>(), Ok(LogFormat::Pretty));
    assert!("xml".parse::<LogFormat>().unwrap_err().contains("xml"));
}

#[test]
fn wall_clock_of_an_instant_follows_the_system_clock() {
    // Each result is checked against system-clock reads taken right before
    // and right after it, so a preempted test thread widens the window
    // instead of failing the test. `slack` covers rounding to microseconds.
    let micros = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap().as_micros() as u64;
    let slack = 2;
    let within = |got: u64, lo: SystemTime, hi: SystemTime, widen: u64| {
        let (lo, hi) = (micros(lo), micros(hi));
        assert!(
            got + slack + widen >= lo && got <= hi + slack + widen,
            "{got} not within {lo}..={hi} (widened by {widen} µs)"
        );
    };
    // The anchor is set here: `now` maps to a system-clock read inside the
    // call, and `before` to 250 ms earlier.
    let lo = SystemTime::now();
    let now = Instant::now();
    let before = now - Duration::from_millis(250);
    let got = wall_clock(before, now);
    let hi = SystemTime::now();
    let quarter = 250_000;
    within(got + quarter, lo, hi, 0);
    // How far the anchor can be from the truth: both `now` and the clock
    // read for it lie between `lo` and `hi`.
    let anchor_error = micros(hi).saturating_sub(micros(lo));
    // With the anchor set, a later instant is placed after it.
    std::thread::sleep(Duration::from_millis(30));
    let lo = SystemTime::now();
    let later = Instant::now();
    let got = wall_clock(later, later);
    let hi = SystemTime::now();
    within(got, lo, hi, anchor_error);
    // An anchor from before a clock step (here: one that is an hour off)
    // is used for at most ANCHOR_FOR, then renewed.
    let now = Instant::now();
    let skewed = SystemTime::now() - Duration::from_secs(3600);
    ANCHOR.with(|a| a.set(Some((now, micros(skewed)))));
    assert_eq!(wall_clock(now, now), micros(skewed));
    let stale = now - ANCHOR_FOR - Duration::from_millis(1);
    ANCHOR.with(|a| a.set(Some((stale, micros(skewed)))));
    let lo = SystemTime::now();
    let got = wall_clock(now, now);
    let hi = SystemTime::now();
    within(got, lo, hi, 0);
}

#[test]
fn addresses_are_written_as_the_standard_library_writes_them() {
    let addrs = [
        "0.0.0.0:0",
        "1.2.3.4:5",
        "9.10.99.100:80",
        "127.0.0.1:54814",
        "255.255.255.255:65535",
        "10.0.200.7:8080",
        "[::1]:443",
        "[2001:db8::ff00:42:8329]:1",
    ];
    for text in addrs {
        let addr: std::net::SocketAddr = text.parse().unwrap();
        let mut out = Vec::new();
        push_addr(&mut out, addr);
        assert_eq!(String::from_utf8(out).unwrap(), addr.to_string());
        let mut out = Vec::new();
        push_ip(&mut out, addr.ip());
        assert_eq!(String::from_utf8(out).unwrap(), addr.ip().to_string());
    }
    // Every octet value.
    for o in 0..=255u8 {
        let ip = std::net::IpAddr::from([o, 0, o, 255 - o]);
        let mut out = Vec::new();
        push_ip(&mut out, ip);
        assert_eq!(String::from_utf8(out).unwrap(), ip.to_string());
    }
}
