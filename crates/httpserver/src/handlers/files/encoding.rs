//! Choosing a precompressed sibling (`file.br`, `file.zst`, `file.gz`) from
//! `Accept-Encoding` (RFC 9110 section 12.5.3).

/// A content coding with a precompressed sibling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    /// `br`, sibling `.br`
    Brotli,
    /// `zstd`, sibling `.zst`
    Zstd,
    /// `gzip`, sibling `.gz`
    Gzip,
}

impl Coding {
    /// Server preference order: smallest output first.
    pub(crate) const ALL: [Coding; 3] = [Coding::Brotli, Coding::Zstd, Coding::Gzip];

    /// The token in `Accept-Encoding` and `Content-Encoding`.
    pub(crate) fn token(self) -> &'static str {
        match self {
            Coding::Brotli => "br",
            Coding::Zstd => "zstd",
            Coding::Gzip => "gzip",
        }
    }

    /// The sibling file's extension, dot included.
    pub(crate) fn extension(self) -> &'static str {
        match self {
            Coding::Brotli => ".br",
            Coding::Zstd => ".zst",
            Coding::Gzip => ".gz",
        }
    }
}

/// The codings the client accepts, best first (highest q, then server
/// preference). Codings with q=0 (explicitly or through `*;q=0`) are left
/// out; `x-gzip` counts as `gzip`.
pub(crate) fn acceptable(accept_encoding: Option<&str>) -> Vec<Coding> {
    let Some(header) = accept_encoding else {
        return Vec::new();
    };
    let mut star: Option<u16> = None;
    let mut explicit: [Option<u16>; 3] = [None; 3];
    for item in header.split(',') {
        let mut parts = item.split(';');
        let token = parts.next().unwrap_or_default().trim();
        let mut q = 1000;
        for param in parts {
            if let Some((k, v)) = param.split_once('=') {
                if k.trim().eq_ignore_ascii_case("q") {
                    q = qvalue(v.trim()).unwrap_or(0);
                }
            }
        }
        if token == "*" {
            star = Some(q);
            continue;
        }
        for (i, coding) in Coding::ALL.iter().enumerate() {
            let matches = token.eq_ignore_ascii_case(coding.token())
                || (*coding == Coding::Gzip && token.eq_ignore_ascii_case("x-gzip"));
            if matches {
                explicit[i] = Some(q);
            }
        }
    }
    let mut ranked: Vec<(u16, usize)> = Coding::ALL
        .iter()
        .enumerate()
        .filter_map(|(i, _)| {
            let q = explicit[i].or(star)?;
            (q > 0).then_some((q, i))
        })
        .collect();
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    ranked.into_iter().map(|(_, i)| Coding::ALL[i]).collect()
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )` in
/// thousandths.
fn qvalue(s: &str) -> Option<u16> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths: u16 = 0;
    for (i, b) in frac.bytes().enumerate() {
        thousandths += u16::from(b - b'0') * [100, 10, 1][i];
    }
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Coding::*;

    #[test]
    fn picks_by_q_then_preference() {
        assert_eq!(acceptable(None), vec![]);
        assert_eq!(
            acceptable(Some("gzip, deflate, br, zstd")),
            vec![Brotli, Zstd, Gzip]
        );
        assert_eq!(acceptable(Some("gzip;q=1, br;q=0.5")), vec![Gzip, Brotli]);
        assert_eq!(acceptable(Some("br;q=0, gzip")), vec![Gzip]);
        assert_eq!(acceptable(Some("*")), vec![Brotli, Zstd, Gzip]);
        assert_eq!(acceptable(Some("*;q=0, gzip")), vec![Gzip]);
        assert_eq!(acceptable(Some("identity")), vec![]);
        assert_eq!(acceptable(Some("x-gzip")), vec![Gzip]);
        assert_eq!(acceptable(Some("GZIP;Q=0.8, zstd;q=0.9")), vec![Zstd, Gzip]);
        assert_eq!(acceptable(Some("gzip;q=2")), vec![]);
        assert_eq!(acceptable(Some("gzip;q=0.0001")), vec![]);
    }
}
