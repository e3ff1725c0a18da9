//! Helpers shared by the fuzz targets.

use http::{HeaderName, HeaderValue};

/// A `name:value` line as a header field, or `None` when it has no colon
/// or `http` refuses the name or the value.
pub fn header_field(line: &[u8]) -> Option<(HeaderName, HeaderValue)> {
    let colon = line.iter().position(|&b| b == b':')?;
    let name = HeaderName::from_bytes(&line[..colon]).ok()?;
    let value = HeaderValue::from_bytes(&line[colon + 1..]).ok()?;
    Some((name, value))
}
