use super::*;

/// Decodes `input` fed in the given pieces; returns (body, consumed, done).
fn feed(input: &[u8], cuts: &[usize]) -> Result<(Vec<u8>, usize, bool), ParseError> {
    let mut dec = ChunkedDecoder::new(ChunkedLimits::default());
    let mut out = Vec::new();
    let mut pos = 0;
    let mut bounds: Vec<usize> = cuts.to_vec();
    bounds.push(input.len());
    for end in bounds {
        while pos < end {
            let d = dec.decode(&input[pos..end], &mut out)?;
            pos += d.consumed;
            if d.done {
                return Ok((out, pos, true));
            }
            if d.consumed == 0 {
                break;
            }
        }
    }
    Ok((out, pos, dec.is_done()))
}

/// Feeds `input` whole, at every single split point and byte by byte, and
/// checks all agree with `expect`.
fn check(input: &[u8], expect: Result<(&[u8], usize), ParseError>) {
    let want = expect.map(|(b, n)| (b.to_vec(), n, true));
    assert_eq!(
        feed(input, &[]),
        want,
        "whole: {:?}",
        String::from_utf8_lossy(input)
    );
    for cut in 1..input.len() {
        assert_eq!(
            feed(input, &[cut]),
            want,
            "split at {cut}: {:?}",
            String::from_utf8_lossy(input)
        );
    }
    let all: Vec<usize> = (1..input.len()).collect();
    assert_eq!(
        feed(input, &all),
        want,
        "bytewise: {:?}",
        String::from_utf8_lossy(input)
    );
}

#[test]
fn valid_bodies() {
    let cases: &[(&[u8], &[u8])] = &[
        (b"0\r\n\r\n", b""),
        (b"5\r\nhello\r\n0\r\n\r\n", b"hello"),
        (b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", b"hello world"),
        (b"A\r\n0123456789\r\n0\r\n\r\n", b"0123456789"),
        (b"a\r\n0123456789\r\n0\r\n\r\n", b"0123456789"),
        (b"005\r\nhello\r\n0000\r\n\r\n", b"hello"),
        (b"5;a=b\r\nhello\r\n0;last\r\n\r\n", b"hello"),
        (b"5 ;a=b\r\nhello\r\n0\r\n\r\n", b"hello"),
        (b"5\t;a\r\nhello\r\n0\r\n\r\n", b"hello"),
        (b"5;a=\"x;y\"\r\nhello\r\n0\r\n\r\n", b"hello"),
        (
            b"5\r\nhello\r\n0\r\nX-T: 1\r\nY: two words\r\n\r\n",
            b"hello",
        ),
        (b"3\r\n\r\n\n\r\n0\r\n\r\n", b"\r\n\n"),
    ];
    for (input, body) in cases {
        check(input, Ok((body, input.len())));
    }
}

#[test]
fn stops_at_end_of_body() {
    let input = b"1\r\nx\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
    check(input, Ok((b"x", 11)));
}

#[test]
fn invalid_bodies() {
    use ParseError::*;
    let cases: &[(&[u8], ParseError)] = &[
        (b"0x5\r\nhello\r\n0\r\n\r\n", InvalidChunkSize),
        (b"-5\r\nhello\r\n0\r\n\r\n", InvalidChunkSize),
        (b"+5\r\nhello\r\n0\r\n\r\n", InvalidChunkSize),
        (b"Z\r\n", InvalidChunkSize),
        (b"\r\n", InvalidChunkSize),
        (b" 5\r\nhello\r\n", InvalidChunkSize),
        (b"5 \r\nhello\r\n", InvalidChunkSize),
        (b"5 x\r\n", InvalidChunkSize),
        (b"5\nhello\r\n0\r\n\r\n", InvalidChunkSize),
        (b"5\rhello", InvalidChunkSize),
        (b"5;a\nhello", InvalidChunkSize),
        (b"5;a\x00b\r\n", InvalidChunkSize),
        (b"11111111111111111\r\n", InvalidChunkSize),
        (b"5\r\nhelloX\r\n", InvalidChunk),
        (b"5\r\nhello\n0\r\n\r\n", InvalidChunk),
        (b"5\r\nhello\rX", InvalidChunk),
        (b"0\r\n X: folded\r\n\r\n", ObsFold),
        (b"0\r\nX : 1\r\n\r\n", WhitespaceBeforeColon),
        (b"0\r\nnocolon\r\n\r\n", InvalidHeaderName),
        (b"0\r\nX: 1\n\r\n", InvalidLineEnding),
        (b"0\r\nX: 1\rY\r\n", InvalidTrailer),
        (b"0\r\n\rX", InvalidTrailer),
        (b"100001\r\n", BodyTooLarge),
    ];
    for (input, err) in cases {
        check(input, Err(*err));
    }
}

#[test]
fn bounds_extensions_and_trailers() {
    let mut long_ext = b"1;".to_vec();
    long_ext.extend(std::iter::repeat_n(b'a', 5000));
    long_ext.extend_from_slice(b"\r\nx\r\n0\r\n\r\n");
    assert_eq!(feed(&long_ext, &[]), Err(ParseError::ChunkExtensionTooLong));

    let mut long_trailer = b"0\r\nX: ".to_vec();
    long_trailer.extend(std::iter::repeat_n(b'a', 9000));
    long_trailer.extend_from_slice(b"\r\n\r\n");
    assert_eq!(feed(&long_trailer, &[]), Err(ParseError::TrailersTooLarge));
}

#[test]
fn body_limit_counts_all_chunks() {
    let mut dec = ChunkedDecoder::new(ChunkedLimits {
        max_body: 8,
        ..ChunkedLimits::default()
    });
    let mut out = Vec::new();
    assert!(dec.decode(b"5\r\nhello\r\n", &mut out).is_ok());
    assert_eq!(
        dec.decode(b"4\r\n", &mut out),
        Err(ParseError::BodyTooLarge)
    );
}

#[test]
fn largest_size_does_not_overflow() {
    let mut dec = ChunkedDecoder::new(ChunkedLimits {
        max_body: u64::MAX,
        ..ChunkedLimits::default()
    });
    let mut out = Vec::new();
    assert!(dec.decode(b"ffffffffffffffff\r\n", &mut out).is_ok());
    let mut dec = ChunkedDecoder::new(ChunkedLimits::default());
    assert_eq!(
        dec.decode(b"10000000000000000\r\n", &mut out),
        Err(ParseError::InvalidChunkSize)
    );
}

#[test]
fn leading_zeros_are_bounded() {
    let mut zeros = vec![b'0'; 31];
    zeros.extend_from_slice(b"5\r\nhello\r\n0\r\n\r\n");
    let n = zeros.len();
    check(&zeros, Ok((b"hello", n)));
    let mut too_many = vec![b'0'; 33];
    too_many.extend_from_slice(b"5\r\nhello\r\n0\r\n\r\n");
    assert_eq!(feed(&too_many, &[]), Err(ParseError::InvalidChunkSize));
    // Counted per size line, not per body.
    let mut many_lines = Vec::new();
    for _ in 0..100 {
        many_lines.extend_from_slice(b"0000000000000000000000000001\r\na\r\n");
    }
    many_lines.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(feed(&many_lines, &[]).map(|r| r.0.len()), Ok(100));
}

#[test]
fn whitespace_after_the_size_counts_as_extension() {
    let mut spaces = b"5".to_vec();
    spaces.extend(std::iter::repeat_n(b' ', 5000));
    spaces.extend_from_slice(b";a\r\nhello\r\n0\r\n\r\n");
    assert_eq!(feed(&spaces, &[]), Err(ParseError::ChunkExtensionTooLong));
}

#[test]
fn the_extension_limit_is_exact() {
    let line = |ext: &[u8]| {
        let mut input = b"5".to_vec();
        input.extend_from_slice(ext);
        input.extend_from_slice(b"\r\nhello\r\n0\r\n\r\n");
        input
    };
    let with = |head: &[u8], fill: u8, n: usize, tail: &[u8]| {
        let mut ext = head.to_vec();
        ext.extend(std::iter::repeat_n(fill, n));
        ext.extend_from_slice(tail);
        line(&ext)
    };
    // 4096 bytes between the size and the CR: at the limit.
    for input in [with(b";", b'a', 4095, b""), with(b"", b' ', 4095, b";")] {
        let n = input.len();
        check(&input, Ok((b"hello", n)));
    }
    // 4097: over it.
    for input in [
        with(b";", b'a', 4096, b""),
        with(b"", b' ', 4096, b";"),
        with(b"\t", b' ', 4095, b";"),
    ] {
        assert_eq!(feed(&input, &[]), Err(ParseError::ChunkExtensionTooLong));
    }
}

#[test]
fn extensions_are_bounded_over_the_whole_body() {
    let ext = "e".repeat(4000);
    let chunk = format!("1;{ext}\r\na\r\n");
    // 16 chunks of 4001 extension bytes: within 64 KiB.
    let mut ok = chunk.repeat(16).into_bytes();
    ok.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(feed(&ok, &[]).map(|r| r.0.len()), Ok(16));
    // 17: over it, though each line is within its own limit.
    let mut over = chunk.repeat(17).into_bytes();
    over.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(feed(&over, &[]), Err(ParseError::ChunkExtensionTooLong));
}
