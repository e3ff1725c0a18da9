//! Byte classes from the HTTP grammar, as const lookup tables.
//!
//! Each table answers "may this byte appear here?" in one indexed load. The
//! ABNF each one encodes is quoted above it.

/// Builds a 256-entry table from a const predicate.
macro_rules! table {
    ($pred:ident) => {{
        let mut t = [false; 256];
        let mut i = 0;
        while i < 256 {
            t[i] = $pred(i as u8);
            i += 1;
        }
        t
    }};
}

/// `tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
///          "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA` (RFC 9110 section 5.6.2)
const fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.'
        | b'^' | b'_' | b'`' | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

/// Bytes allowed in a request-target: visible ASCII (`%x21-7E`) but `#`,
/// which starts a fragment, never sent in a request (RFC 9112 section 3.2).
/// The finer URI grammar (RFC 3986) is not enforced, as browsers send `|`,
/// `{` and `"` unescaped; controls, space, DEL and non-ASCII are refused.
const fn is_target_byte(b: u8) -> bool {
    b > 0x20 && b < 0x7f && b != b'#'
}

/// `field-vchar = VCHAR / obs-text`, plus SP and HTAB inside a value
/// (RFC 9110 section 5.5). NUL, CR, LF and other controls are refused.
const fn is_value_byte(b: u8) -> bool {
    b == b'\t' || (b >= 0x20 && b != 0x7f)
}

/// Bytes allowed in a Host value: `unreserved / pct-encoded / sub-delims`,
/// `:` for the port and `[` `]` for IP literals (RFC 3986 section 3.2.2).
const fn is_host_byte(b: u8) -> bool {
    matches!(b,
        b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'%'
        | b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
        | b':' | b'[' | b']')
}

static TCHAR: [bool; 256] = table!(is_tchar);
static TARGET: [bool; 256] = table!(is_target_byte);
static VALUE: [bool; 256] = table!(is_value_byte);
static HOST: [bool; 256] = table!(is_host_byte);

/// Is `b` a `tchar`?
#[inline]
pub(crate) fn tchar(b: u8) -> bool {
    TCHAR[b as usize]
}

/// May `b` appear in a request-target?
#[inline]
pub(crate) fn target_byte(b: u8) -> bool {
    TARGET[b as usize]
}

/// May `b` appear in a field value?
#[inline]
pub(crate) fn value_byte(b: u8) -> bool {
    VALUE[b as usize]
}

/// May `b` appear in a Host value?
#[inline]
pub(crate) fn host_byte(b: u8) -> bool {
    HOST[b as usize]
}

/// Word-at-a-time byte-class tests (SWAR) for one integer width.
macro_rules! swar {
    ($name:ident, $t:ty, $n:expr) => {
        mod $name {
            const LO: $t = <$t>::MAX / 0xff;
            const HI: $t = LO << 7;
            /// The word type.
            #[allow(dead_code)]
            pub(super) type Word = $t;
            /// Bytes per word.
            #[allow(dead_code)]
            pub(super) const WIDTH: usize = $n;

            /// The `WIDTH` bytes of `s` from `i` as a little-endian word.
            #[inline]
            pub(super) fn word(s: &[u8], i: usize) -> Option<$t> {
                let chunk: [u8; $n] = s.get(i..i + $n)?.try_into().ok()?;
                Some(<$t>::from_le_bytes(chunk))
            }

            /// High bit set in each byte of `x` below `n` (`n <= 128`).
            /// The lowest flag is exact: a byte at or above `n` borrows from
            /// nothing unless a lower byte was below `n`, so only flags above
            /// the first real one can be spurious.
            #[inline]
            fn less(x: $t, n: u8) -> $t {
                x.wrapping_sub(LO * <$t>::from(n)) & !x & HI
            }

            /// High bit set in each byte of `x` equal to `b` (lowest flag
            /// exact, as for `less`).
            #[inline]
            fn equal(x: $t, b: u8) -> $t {
                let y = x ^ (LO * <$t>::from(b));
                y.wrapping_sub(LO) & !y & HI
            }

            /// Index of the first byte that is not a field-value byte other
            /// than HTAB, or `WIDTH` if all are.
            #[inline]
            pub(super) fn first_non_value(x: $t) -> usize {
                let flags = less(x, 0x20) | equal(x, 0x7f);
                (flags.trailing_zeros() / 8) as usize
            }

            /// Index of the first byte outside `%x21-7E` or `#`, or `WIDTH`.
            #[inline]
            pub(super) fn first_non_target(x: $t) -> usize {
                let flags = less(x, 0x21) | (x & HI) | equal(x, 0x7f) | equal(x, b'#');
                (flags.trailing_zeros() / 8) as usize
            }

            /// Index of the first `?`, or `WIDTH`.
            #[inline]
            pub(super) fn first_mark(x: $t) -> usize {
                (equal(x, b'?').trailing_zeros() / 8) as usize
            }

            /// Index of the first `:`, or `WIDTH`.
            #[allow(dead_code)]
            #[inline]
            pub(super) fn first_colon(x: $t) -> usize {
                (equal(x, b':').trailing_zeros() / 8) as usize
            }
        }
    };
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
swar!(wide, u128, 16);
swar!(narrow, u64, 8);

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
swar!(mid, u64, 8);
// The portable words, built on x86_64 too so the tests can hold them to the
// SIMD ones.
#[cfg(all(test, target_arch = "x86_64", target_feature = "sse2"))]
swar!(swar_wide, u128, 16);

/// Word tests with SSE2, which every x86_64 CPU has: `wide` takes 32 bytes
/// (two vectors, one branch), `mid` 16. They answer exactly what the `swar`
/// functions of the same names answer.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[allow(unsafe_code)]
mod simd {
    use std::arch::x86_64::{
        __m128i, _mm_add_epi8, _mm_andnot_si128, _mm_cmpeq_epi8, _mm_cmpgt_epi8, _mm_cmplt_epi8,
        _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8, _mm_set_epi64x,
    };

    /// Defines the tests over a word of `$n` vectors.
    macro_rules! tests_over {
        ($name:ident, $n:literal, $word:ty, |$x:ident, $f:ident| $flags:expr) => {
            pub(in crate::codec::token) mod $name {
                use super::*;

                /// Bytes per word.
                pub(in crate::codec::token) const WIDTH: usize = 16 * $n;
                /// The word type.
                pub(in crate::codec::token) type Word = $word;

                /// The `WIDTH` bytes of `s` from `i`.
                #[inline]
                pub(in crate::codec::token) fn word(s: &[u8], i: usize) -> Option<Word> {
                    let chunk: &[u8; 16 * $n] = s.get(i..i + WIDTH)?.try_into().ok()?;
                    let mut v = [0u128; $n];
                    for (k, part) in chunk.chunks_exact(16).enumerate() {
                        v[k] = u128::from_le_bytes(part.try_into().ok()?);
                    }
                    // SAFETY: `load` needs only SSE2, which this module is
                    // compiled with (`cfg(target_feature = "sse2")`, part of
                    // the x86_64 baseline). The same holds for every call
                    // into `sse2` below.
                    Some(v.map(|x| unsafe { sse2::load(x) }).into())
                }

                /// Index of the first byte that is not a field-value byte
                /// other than HTAB, or `WIDTH` if all are.
                #[inline]
                pub(in crate::codec::token) fn first_non_value(x: Word) -> usize {
                    // SAFETY: as in `word`.
                    unsafe {
                        let ($x, $f) = (x, sse2::non_value);
                        $flags
                    }
                }

                /// Index of the first byte outside `%x21-7E` or `#`, or `WIDTH`.
                #[inline]
                pub(in crate::codec::token) fn first_non_target(x: Word) -> usize {
                    // SAFETY: as in `word`.
                    unsafe {
                        let ($x, $f) = (x, sse2::non_target);
                        $flags
                    }
                }

                /// Index of the first `?`, or `WIDTH`.
                #[inline]
                pub(in crate::codec::token) fn first_mark(x: Word) -> usize {
                    // SAFETY: as in `word`.
                    unsafe {
                        let ($x, $f) = (x, sse2::mark);
                        $flags
                    }
                }

                /// Index of the first `:`, or `WIDTH`.
                #[inline]
                pub(in crate::codec::token) fn first_colon(x: Word) -> usize {
                    // SAFETY: as in `word`.
                    unsafe {
                        let ($x, $f) = (x, sse2::colon);
                        $flags
                    }
                }
            }
        };
    }

    tests_over!(wide, 2, [__m128i; 2], |x, f| sse2::first(f(x[0]), f(x[1])));
    // A second mask of all ones caps the answer at 16.
    tests_over!(mid, 1, [__m128i; 1], |x, f| sse2::first(f(x[0]), -1));

    /// The tests on one vector, each a mask with one bit per flagged byte.
    /// Functions with `#[target_feature]` may use the intrinsics safely;
    /// calling them needs the feature, hence the wrappers above.
    mod sse2 {
        use super::*;

        /// `x` as a vector, low byte first (one `movdqu` in practice).
        #[inline]
        #[target_feature(enable = "sse2")]
        pub(super) fn load(x: u128) -> __m128i {
            _mm_set_epi64x((x >> 64) as i64, x as i64)
        }

        /// Index of the first flagged byte of two vectors' masks, or 32.
        #[inline]
        #[target_feature(enable = "sse2")]
        pub(super) fn first(lo: i32, hi: i32) -> usize {
            let mask = (lo as u32 & 0xffff) | (hi as u32) << 16;
            // `| 1 << 32` stops the count at 32 when no flag is set.
            (u64::from(mask) | 1 << 32).trailing_zeros() as usize
        }

        /// Sixteen copies of `b`.
        #[inline]
        #[target_feature(enable = "sse2")]
        fn splat(b: u8) -> __m128i {
            _mm_set1_epi8(b as i8)
        }

        /// Controls (`<= 0x1f`, HTAB included) and DEL.
        #[inline]
        #[target_feature(enable = "sse2")]
        pub(super) fn non_value(x: __m128i) -> i32 {
            // Unsigned `x <= 0x1f` as `min(x, 0x1f) == x`.
            let control = _mm_cmpeq_epi8(_mm_min_epu8(x, splat(0x1f)), x);
            let del = _mm_cmpeq_epi8(x, splat(0x7f));
            _mm_movemask_epi8(_mm_or_si128(control, del))
        }

        /// Bytes outside `%x21-7E`, and `#`.
        #[inline]
        #[target_feature(enable = "sse2")]
        pub(super) fn non_target(x: __m128i) -> i32 {
            // As signed bytes, 0x80-0xff are negative, so `x > 0x20` keeps
            // exactly 0x21-0x7f; then DEL and `#` are taken out.
            let visible = _mm_cmpgt_epi8(x, splat(0x20));
            let excluded = _mm_or_si128(
                _mm_cmpeq_epi8(x, splat(0x7f)),
                _mm_cmpeq_epi8(x, splat(b'#')),
            );
            let ok = _mm_andnot_si128(excluded, visible);
            !_mm_movemask_epi8(ok)
        }

        /// `?`.
        #[inline]
        #[target_feature(enable = "sse2")]
        pub(super) fn mark(x: __m128i) -> i32 {
            _mm_movemask_epi8(_mm_cmpeq_epi8(x, splat(b'?')))
        }

        /// `:`.
        #[inline]
        #[target_feature(enable = "sse2")]
        pub(super) fn colon(x: __m128i) -> i32 {
            _mm_movemask_epi8(_mm_cmpeq_epi8(x, splat(b':')))
        }
    }

    /// One bit per byte of the 16 at `s[i..]` that is not a Host byte, or
    /// `None` if `s` is shorter. The Host set is four ranges and five single
    /// bytes; a byte is in `lo..=hi` when adding `0x80 - lo` (wrapping) puts
    /// it among the `hi - lo + 1` lowest signed bytes. (Written out here, not
    /// as an `sse2` function: that one was not inlined into the parser.)
    #[inline(always)]
    pub(in crate::codec::token) fn non_host_mask(s: &[u8], i: usize) -> Option<u32> {
        let [x] = mid::word(s, i)?;
        // SAFETY: the intrinsics need only SSE2, which this module is
        // compiled with (see `word`).
        let ok = unsafe {
            let splat = |b: u8| _mm_set1_epi8(b as i8);
            let in_range = |lo: u8, hi: u8| {
                let shifted = _mm_add_epi8(x, splat(0x80u8.wrapping_sub(lo)));
                _mm_cmplt_epi8(shifted, splat(0x80u8.wrapping_add(hi - lo + 1)))
            };
            let is = |b: u8| _mm_cmpeq_epi8(x, splat(b));
            let ranges = _mm_or_si128(
                _mm_or_si128(in_range(b'$', b'.'), in_range(b'0', b';')),
                _mm_or_si128(in_range(b'A', b'['), in_range(b'a', b'z')),
            );
            let singles = _mm_or_si128(
                _mm_or_si128(is(b'!'), is(b'=')),
                _mm_or_si128(_mm_or_si128(is(b']'), is(b'_')), is(b'~')),
            );
            _mm_movemask_epi8(_mm_or_si128(ranges, singles))
        };
        Some(!ok as u32 & 0xffff)
    }

    /// For the 16 bytes at `s[i..]`, or `None` if `s` is shorter, one bit
    /// per byte: `[`, `]` or `%` (an IP literal or percent-encoding); `:`;
    /// and not a digit.
    #[inline(always)]
    pub(in crate::codec::token) fn host_shape_masks(s: &[u8], i: usize) -> Option<(u32, u32, u32)> {
        let [x] = mid::word(s, i)?;
        // SAFETY: the intrinsics need only SSE2, which this module is
        // compiled with (see `word`).
        let (odd, colon, digit) = unsafe {
            let splat = |b: u8| _mm_set1_epi8(b as i8);
            let is = |b: u8| _mm_cmpeq_epi8(x, splat(b));
            let odd = _mm_or_si128(_mm_or_si128(is(b'['), is(b']')), is(b'%'));
            // `'0'..='9'` moved to the ten lowest signed bytes, as in
            // `non_host_mask`.
            let shifted = _mm_add_epi8(x, splat(0x80u8.wrapping_sub(b'0')));
            let digit = _mm_cmplt_epi8(shifted, splat(0x80 + 10));
            (
                _mm_movemask_epi8(odd),
                _mm_movemask_epi8(is(b':')),
                _mm_movemask_epi8(digit),
            )
        };
        Some((odd as u32, colon as u32, !digit as u32 & 0xffff))
    }
}
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
use simd::{mid, wide};

/// Is the Host value `s[start..end]`, whose bytes are known to be Host
/// bytes, shaped as `uri-host [":" port]` with a port of digits only?
/// `None` when this cannot tell and the byte-at-a-time check must: the
/// value is empty or longer than sixteen bytes, `s` has fewer than sixteen
/// bytes up to its end, or it holds `[`, `]` or `%`.
///
/// On x86_64 the value is tested in the one vector of sixteen bytes that
/// ends where it ends, as in [`all_host`]; elsewhere in one 128-bit word.
#[inline(always)]
pub(crate) fn host_shape_short(s: &[u8], start: usize, end: usize) -> Option<bool> {
    let len = end.checked_sub(start)?;
    if !(1..=16).contains(&len) {
        return None;
    }
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    let (odd, colon, non_digit) = simd::host_shape_masks(s, end.checked_sub(16)?)?;
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    let (odd, colon, non_digit) = host_shape_masks_swar(s, end.checked_sub(16)?)?;
    // The window's top `len` bits are the value's bytes.
    let value = 0xffff & (0xffff << (16 - len));
    if odd & value != 0 {
        return None;
    }
    let colons = colon & value;
    if colons == 0 {
        return Some(true);
    }
    // The port: every byte above the first colon (`first <= 15`).
    let first = colons.trailing_zeros();
    let port = value & !((2 << first) - 1);
    Some(port & non_digit == 0)
}

/// The three masks of `simd::host_shape_masks` (`[`, `]` or `%`; `:`;
/// non-digits) from one 128-bit word. Exact per byte for bytes
/// below 0x80, as every Host byte is: the high bits are cleared first, so
/// no sum carries from one byte into the next.
#[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
#[inline]
fn host_shape_masks_swar(s: &[u8], i: usize) -> Option<(u32, u32, u32)> {
    const LO: u128 = u128::MAX / 0xff;
    const HI: u128 = LO << 7;
    let chunk: [u8; 16] = s.get(i..i + 16)?.try_into().ok()?;
    let x = u128::from_le_bytes(chunk) & !HI;
    // High bit set in each byte of `x` that is at least `n` (`n <= 0x80`).
    let at_least = |n: u8| x.wrapping_add(LO * u128::from(0x80 - n)) & HI;
    // High bit set in each byte of `x` equal to `b`.
    let equal = |b: u8| {
        let y = x ^ (LO * u128::from(b));
        !(y.wrapping_add(LO * 0x7f) | y) & HI
    };
    // One bit per byte, from each byte's high bit.
    let bits =
        |flags: u128| (0..16).fold(0u32, |m, k| m | (((flags >> (8 * k + 7)) & 1) as u32) << k);
    let digit = at_least(b'0') & !at_least(b'9' + 1);
    Some((
        bits(equal(b'[') | equal(b']') | equal(b'%')),
        bits(equal(b':')),
        bits(!digit & HI),
    ))
}

/// Index of the first byte of `s` at or after `i` that `first` (a word
/// test) rejects: a wide word (32 bytes, or 16 without SSE2) per step,
/// then eight bytes, then one at a time
/// with `ok` near the end of the input.
#[inline(always)]
fn scan(
    s: &[u8],
    mut i: usize,
    wide_first: fn(wide::Word) -> usize,
    mid_first: fn(mid::Word) -> usize,
    narrow_first: fn(u64) -> usize,
    ok: fn(u8) -> bool,
) -> usize {
    while let Some(x) = wide::word(s, i) {
        let k = wide_first(x);
        if k < wide::WIDTH {
            return i + k;
        }
        i += wide::WIDTH;
    }
    if let Some(x) = mid::word(s, i) {
        let k = mid_first(x);
        if k < mid::WIDTH {
            return i + k;
        }
        i += mid::WIDTH;
    }
    while let Some(x) = narrow::word(s, i) {
        let k = narrow_first(x);
        if k < narrow::WIDTH {
            return i + k;
        }
        i += narrow::WIDTH;
    }
    i + s[i..].iter().position(|&b| !ok(b)).unwrap_or(s.len() - i)
}

/// Is `b` a field-value byte other than HTAB?
#[inline]
fn value_byte_no_tab(b: u8) -> bool {
    b != b'\t' && value_byte(b)
}

/// Length of the longest prefix of `s` made of `tchar`s, four bytes per
/// step while all four are.
#[inline]
pub(crate) fn token_run(s: &[u8]) -> usize {
    let mut i = 0;
    while let Some(&[a, b, c, d]) = s.get(i..i + 4) {
        if !(tchar(a) & tchar(b) & tchar(c) & tchar(d)) {
            break;
        }
        i += 4;
    }
    i + s[i..]
        .iter()
        .position(|&b| !tchar(b))
        .unwrap_or(s.len() - i)
}

/// Length of a field name: the `tchar` run at the start of `s`.
///
/// Names are short and end in `:`, so the colon is looked for a word at a
/// time in the first word and the bytes before it are checked without a
/// branch each; anything else (no colon there, a bad byte) takes
/// [`token_run`], which gives the same answer.
#[inline(always)]
pub(crate) fn name_run(s: &[u8]) -> usize {
    let colon = match wide::word(s, 0) {
        Some(x) => wide::first_colon(x),
        None => mid::word(s, 0).map_or(usize::MAX, mid::first_colon),
    };
    match s.get(..colon) {
        Some(name)
            if s.get(colon) == Some(&b':') && name.iter().fold(true, |all, &b| all & tchar(b)) =>
        {
            colon
        }
        _ => token_run_cold(s),
    }
}

/// [`token_run`] out of line, for [`name_run`]'s rare slow path.
#[cold]
#[inline(never)]
fn token_run_cold(s: &[u8]) -> usize {
    token_run(s)
}

/// Length of the longest prefix of `s` made of request-target bytes, and the
/// index of the first `?` in it, in one pass a word at a time.
#[inline]
pub(crate) fn target_run_and_query(s: &[u8]) -> (usize, Option<usize>) {
    let mut mark = None;
    let mut i = 0;
    // The mark is only taken before the end, where the word's flags are
    // exact.
    macro_rules! step {
        ($w:ident, $x:expr) => {{
            let x = $x;
            let k = $w::first_non_target(x);
            if mark.is_none() {
                let m = $w::first_mark(x);
                if m < k {
                    mark = Some(i + m);
                }
            }
            if k < $w::WIDTH {
                return (i + k, mark);
            }
            i += $w::WIDTH;
        }};
    }
    while let Some(x) = wide::word(s, i) {
        step!(wide, x);
    }
    if let Some(x) = mid::word(s, i) {
        step!(mid, x);
    }
    while let Some(x) = narrow::word(s, i) {
        step!(narrow, x);
    }
    while let Some(&b) = s.get(i) {
        if !target_byte(b) {
            break;
        }
        if b == b'?' && mark.is_none() {
            mark = Some(i);
        }
        i += 1;
    }
    (i, mark)
}

/// Length of the longest prefix of `s` made of field-value bytes, a word at
/// a time (HTAB, allowed but rare, restarts the scan after it).
#[inline]
pub(crate) fn value_run(s: &[u8]) -> usize {
    let mut i = 0;
    loop {
        i = scan(
            s,
            i,
            wide::first_non_value,
            mid::first_non_value,
            narrow::first_non_value,
            value_byte_no_tab,
        );
        if s.get(i) == Some(&b'\t') {
            i += 1;
        } else {
            return i;
        }
    }
}

/// Are all of `s[start..end]` Host bytes?
///
/// On x86_64 a value of up to sixteen bytes is tested in the one vector of
/// sixteen bytes that ends where it ends, with the flags of the bytes
/// before it dropped: a value such as `localhost` costs one vector test, as
/// a Host value in a request always has sixteen bytes of input before its
/// end (the request line is there). Longer values go sixteen bytes a time.
#[inline(always)]
pub(crate) fn all_host(s: &[u8], start: usize, end: usize) -> bool {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        let len = end.saturating_sub(start);
        if len <= 16 {
            if let Some(mask) = end.checked_sub(16).and_then(|w| simd::non_host_mask(s, w)) {
                // The window's top `len` bits are the value's bytes.
                return mask >> (16 - len) == 0;
            }
        } else {
            return all_host_long(s, start, end);
        }
    }
    all_host_bytes(s.get(start..end).unwrap_or_default())
}

/// [`all_host`] for values longer than sixteen bytes.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(never)]
fn all_host_long(s: &[u8], start: usize, end: usize) -> bool {
    let mut i = start;
    while i + 16 <= end {
        match simd::non_host_mask(s, i) {
            Some(0) => i += 16,
            _ => return false,
        }
    }
    // What is left, under sixteen bytes, ends a window that starts at or
    // after `start`.
    i == end || all_host(s, i, end)
}

/// [`all_host`] a byte at a time.
#[inline]
fn all_host_bytes(s: &[u8]) -> bool {
    s.iter().fold(true, |all, &b| all & host_byte(b))
}

/// Is the field name `name` equal to `lower`, ignoring ASCII case?
///
/// `lower` must hold only lowercase letters and `-`, and `name` only
/// `tchar`s, as every name [`name_run`] measures does. Then setting bit 5
/// of each byte of `name` is an exact case fold: it makes a `tchar` a given
/// lowercase letter only if the `tchar` is that letter in either case, and
/// makes it `-` only if it is `-` (the other byte it maps there is CR, not a
/// `tchar`). So the names are compared a word at a time: two overlapping
/// words of eight bytes, or of four below eight.
#[inline(always)]
pub(crate) fn name_eq(name: &[u8], lower: &[u8]) -> bool {
    debug_assert!(lower.iter().all(|&b| b.is_ascii_lowercase() || b == b'-'));
    debug_assert!(name.iter().all(|&b| tchar(b)));
    let n = lower.len();
    if name.len() != n {
        return false;
    }
    let w8 = |s: &[u8], i: usize| {
        s.get(i..i + 8)
            .and_then(|w| w.try_into().ok())
            .map(u64::from_le_bytes)
    };
    let w4 = |s: &[u8], i: usize| {
        s.get(i..i + 4)
            .and_then(|w| w.try_into().ok())
            .map(u32::from_le_bytes)
    };
    if n >= 8 {
        let mut i = 0;
        loop {
            let at = i.min(n - 8);
            match (w8(name, at), w8(lower, at)) {
                (Some(a), Some(b)) if a | 0x2020_2020_2020_2020 == b => {}
                _ => return false,
            }
            if at == n - 8 {
                return true;
            }
            i += 8;
        }
    }
    if n >= 4 {
        return [0, n - 4]
            .iter()
            .all(|&at| match (w4(name, at), w4(lower, at)) {
                (Some(a), Some(b)) => a | 0x2020_2020 == b,
                _ => false,
            });
    }
    name.iter().zip(lower).all(|(&a, &b)| a | 0x20 == b)
}

/// Strips optional whitespace (`OWS = *( SP / HTAB )`) from both ends.
#[inline]
pub(crate) fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_match_the_grammar() {
        assert!(tchar(b'G') && tchar(b'~') && tchar(b'!'));
        assert!(!tchar(b'(') && !tchar(b' ') && !tchar(b':') && !tchar(0) && !tchar(0x80));
        assert!(target_byte(b'/') && target_byte(b'%') && !target_byte(b' ') && !target_byte(0x7f));
        assert!(!target_byte(b'#'));
        assert!(!target_byte(0x80) && !target_byte(0));
        assert!(value_byte(b'\t') && value_byte(b' ') && value_byte(0x80) && value_byte(0xff));
        assert!(!value_byte(0) && !value_byte(b'\r') && !value_byte(b'\n') && !value_byte(0x7f));
        assert!(host_byte(b'[') && host_byte(b':') && !host_byte(b'/') && !host_byte(b'@'));
    }

    #[test]
    fn runs_agree_with_the_tables() {
        let inputs: [&[u8]; 6] = [
            b"",
            b"plain value with spaces and more than eight bytes",
            b"tab\there and after\r\n",
            b"0123456\x7f89",
            b"\xc3\xa9t\xc3\xa9 obs-text\x00nul",
            b"/path?q=1&r=%20 HTTP/1.1",
        ];
        for s in inputs {
            let slow_value = s.iter().position(|&b| !value_byte(b)).unwrap_or(s.len());
            assert_eq!(value_run(s), slow_value, "{s:?}");
            let slow_target = s.iter().position(|&b| !target_byte(b)).unwrap_or(s.len());
            let slow_mark = s[..slow_target].iter().position(|&b| b == b'?');
            assert_eq!(target_run_and_query(s), (slow_target, slow_mark), "{s:?}");
            assert_eq!(name_run(s), token_run(s), "{s:?}");
            for cut in 0..s.len() {
                let t = &s[cut..];
                assert_eq!(
                    value_run(t),
                    t.iter().position(|&b| !value_byte(b)).unwrap_or(t.len())
                );
                assert_eq!(
                    target_run_and_query(t).0,
                    t.iter().position(|&b| !target_byte(b)).unwrap_or(t.len())
                );
            }
        }
        // Every byte value at every position, with a second bad byte after
        // it (whose flag may be spurious), in inputs that take the wide,
        // narrow and byte-by-byte paths.
        for len in [40, 16, 11, 5] {
            for b in 0..=255u8 {
                for at in 0..len {
                    let mut s = vec![b'a'; len];
                    s[at] = b;
                    if at + 1 < len {
                        s[at + 1] = 0;
                    }
                    let next_bad = if at + 1 < len { at + 1 } else { len };
                    let want_v = if value_byte(b) { next_bad } else { at };
                    let want_t = if target_byte(b) { next_bad } else { at };
                    assert_eq!(value_run(&s), want_v, "byte {b:#x} at {at} of {len}");
                    let want_m = if b == b'?' { Some(at) } else { None };
                    assert_eq!(
                        target_run_and_query(&s),
                        (want_t, want_m),
                        "byte {b:#x} at {at} of {len}"
                    );
                    // A colon after the byte, near and far.
                    for colon in [at + 1, len - 1] {
                        if colon > at && colon < len {
                            let mut n = s.clone();
                            n[colon] = b':';
                            assert_eq!(name_run(&n), token_run(&n), "{n:?}");
                        }
                    }
                }
            }
        }
    }

    /// The SIMD words (x86_64) and the portable SWAR words give the same
    /// answers on every byte value at every position.
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    #[test]
    fn simd_and_swar_words_agree() {
        for b in 0..=255u8 {
            for at in 0..32 {
                for second in [0u8, b'a', b'?', b':', 0x7f, 0x80] {
                    let mut s = [b'a'; 32];
                    s[at] = b;
                    if at + 1 < 32 {
                        s[at + 1] = second;
                    }
                    let w = wide::word(&s, 0).unwrap();
                    let m = mid::word(&s, 0).unwrap();
                    let p = swar_wide::word(&s, 0).unwrap();
                    let n = narrow::word(&s, 0).unwrap();
                    // The 32-byte answer, from two 16-byte portable words.
                    let p2 = swar_wide::word(&s, 16).unwrap();
                    let both = |f: fn(u128) -> usize| match f(p) {
                        16 => 16 + f(p2),
                        k => k,
                    };
                    let cap = |k: usize, width: usize| k.min(width);
                    assert_eq!(wide::first_non_value(w), both(swar_wide::first_non_value));
                    assert_eq!(wide::first_non_target(w), both(swar_wide::first_non_target));
                    assert_eq!(wide::first_mark(w), both(swar_wide::first_mark));
                    assert_eq!(wide::first_colon(w), both(swar_wide::first_colon));
                    assert_eq!(mid::first_non_value(m), swar_wide::first_non_value(p));
                    assert_eq!(mid::first_non_target(m), swar_wide::first_non_target(p));
                    assert_eq!(mid::first_mark(m), swar_wide::first_mark(p));
                    assert_eq!(mid::first_colon(m), swar_wide::first_colon(p));
                    assert_eq!(
                        cap(swar_wide::first_non_value(p), 8),
                        narrow::first_non_value(n)
                    );
                }
            }
        }
    }

    /// `all_host` answers what the table does for every byte value at
    /// every position, for values short and long, with and without sixteen
    /// bytes of input before their end.
    #[test]
    fn all_host_agrees_with_the_table() {
        for lead in [0usize, 3, 16, 20] {
            for len in 0..40 {
                for at in 0..len.max(1) {
                    for b in 0..=255u8 {
                        let mut s = vec![b'/'; lead];
                        s.extend(std::iter::repeat_n(b'a', len));
                        // A byte that is no Host byte after the value, so
                        // a window that reached past the end would fail.
                        s.extend_from_slice(b"/\r\n");
                        if len > 0 {
                            s[lead + at] = b;
                        }
                        let want = len == 0 || host_byte(b);
                        assert_eq!(
                            all_host(&s, lead, lead + len),
                            want,
                            "byte {b:#x} at {at} of {len} after {lead}"
                        );
                    }
                }
            }
        }
    }

    /// The vector and the portable word give the same three masks for
    /// every Host byte at every place of the window, and the vector's
    /// flag exactly the bytes they name.
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    #[test]
    fn host_shape_masks_agree() {
        let host_bytes: Vec<u8> = (0..=255u8).filter(|&b| host_byte(b)).collect();
        for at in 0..16 {
            for &b in &host_bytes {
                for &fill in b"a0:" {
                    let mut s = [fill; 16];
                    s[at] = b;
                    assert_eq!(
                        simd::host_shape_masks(&s, 0),
                        host_shape_masks_swar(&s, 0),
                        "{b:#x} at {at} among {fill:#x}"
                    );
                }
            }
        }
        // And the vector's bits are what they say, for every byte value.
        for at in 0..16 {
            for b in 0..=255u8 {
                let mut s = [b'a'; 16];
                s[at] = b;
                let (odd, colon, non_digit) = simd::host_shape_masks(&s, 0).unwrap();
                let bit = |m: u32| (m >> at) & 1 == 1;
                assert_eq!(bit(odd), matches!(b, b'[' | b']' | b'%'), "{b:#x}");
                assert_eq!(bit(colon), b == b':', "{b:#x}");
                assert_eq!(bit(non_digit), !b.is_ascii_digit(), "{b:#x}");
            }
        }
        assert_eq!(simd::host_shape_masks(&[0; 15], 0), None);
    }

    /// `name_eq` is `eq_ignore_ascii_case` on `tchar` names against the
    /// lowercase names the parser looks for.
    #[test]
    fn name_eq_is_a_case_insensitive_compare() {
        let names: [&[u8]; 6] = [
            b"host",
            b"expect",
            b"connection",
            b"content-length",
            b"transfer-encoding",
            b"te",
        ];
        let tchars: Vec<u8> = (0..=255u8).filter(|&b| tchar(b)).collect();
        for want in names {
            for name in names {
                assert_eq!(name_eq(name, want), name == want);
            }
            // Every single-byte change to any tchar, and every case.
            for at in 0..want.len() {
                for &b in &tchars {
                    let mut n = want.to_vec();
                    n[at] = b;
                    assert_eq!(
                        name_eq(&n, want),
                        n.eq_ignore_ascii_case(want),
                        "{n:?} against {want:?}"
                    );
                }
            }
            let upper = want.to_ascii_uppercase();
            assert!(name_eq(&upper, want));
            assert!(!name_eq(&want[1..], want));
            let mut longer = want.to_vec();
            longer.push(b'x');
            assert!(!name_eq(&longer, want));
        }
    }

    #[test]
    fn trims_ows_only() {
        assert_eq!(trim_ows(b" \t a b \t"), b"a b");
        assert_eq!(trim_ows(b""), b"");
        assert_eq!(trim_ows(b"  "), b"");
        assert_eq!(
            (token_run(b"chunked"), token_run(b""), token_run(b"a b")),
            (7, 0, 1)
        );
    }
}
