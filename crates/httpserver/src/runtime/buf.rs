//! The read buffer of a connection.
//!
//! Bytes live in `buf[start..end]`; the vector's length is its whole
//! initialised capacity, so reading into the free tail needs neither
//! zeroing nor `unsafe`. Between requests the buffer moves into the
//! [`Request`](crate::Request) and back, so parsing and reading a request
//! copies nothing.

/// Smallest buffer handed to a connection.
pub(crate) const INITIAL_READ_BUFFER: usize = 8 * 1024;

/// A connection's read buffer.
#[derive(Debug, Default)]
pub(crate) struct ReadBuf {
    pub(crate) buf: Vec<u8>,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl ReadBuf {
    /// The unconsumed bytes.
    #[inline]
    pub(crate) fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Number of unconsumed bytes.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.end - self.start
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Marks `n` bytes consumed.
    #[inline]
    pub(crate) fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start >= self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Makes room for at least `min` more bytes without letting the buffer
    /// grow past `cap` bytes of data; returns the free tail (possibly empty
    /// when the cap is reached).
    pub(crate) fn spare(&mut self, min: usize, cap: usize) -> &mut [u8] {
        if self.buf.len() - self.end < min && self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < min {
            let want = (self.buf.len() * 2)
                .max(self.end + min)
                .max(INITIAL_READ_BUFFER)
                .min(cap.max(self.end));
            if want > self.buf.len() {
                self.buf.resize(want, 0);
            }
        }
        &mut self.buf[self.end..]
    }

    /// Drops the unconsumed bytes `from..to`, keeping those on either side
    /// (the decoded part of a chunked body, whose raw form is no longer
    /// needed).
    pub(crate) fn cut(&mut self, from: usize, to: usize) {
        let (a, b) = (self.start + from, self.start + to);
        debug_assert!(a <= b && b <= self.end);
        self.buf.copy_within(b..self.end, a);
        self.end -= b - a;
    }

    /// Records that `n` bytes were written into the tail given by `spare`.
    #[inline]
    pub(crate) fn filled(&mut self, n: usize) {
        self.end += n;
    }

    /// Is there allocated room?
    pub(crate) fn has_capacity(&self) -> bool {
        !self.buf.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_compacts_and_caps() {
        let mut b = ReadBuf::default();
        assert_eq!(b.spare(100, 1 << 20).len(), INITIAL_READ_BUFFER);
        b.spare(100, 1 << 20)[..5].copy_from_slice(b"hello");
        b.filled(5);
        b.consume(2);
        assert_eq!(b.data(), b"llo");
        // Asking for more than is free compacts first.
        let free = b.spare(INITIAL_READ_BUFFER - 3, 1 << 20).len();
        assert_eq!(
            (b.start, b.data(), free),
            (0, &b"llo"[..], INITIAL_READ_BUFFER - 3)
        );
        // Growth stops at the cap.
        b.filled(INITIAL_READ_BUFFER - 3);
        assert_eq!(b.spare(1, INITIAL_READ_BUFFER + 10).len(), 10);
        b.filled(10);
        assert_eq!(b.spare(1, INITIAL_READ_BUFFER + 10).len(), 0);
        b.consume(b.len());
        assert!(b.is_empty() && b.start == 0);
    }

    #[test]
    fn cut_keeps_both_sides() {
        let mut b = ReadBuf::default();
        b.spare(16, 1 << 20)[..11].copy_from_slice(b"xxHEADbodyT");
        b.filled(11);
        b.consume(2);
        b.cut(4, 8);
        assert_eq!(b.data(), b"HEADT");
        b.cut(4, 5);
        assert_eq!(b.data(), b"HEAD");
        b.cut(0, 0);
        assert_eq!(b.data(), b"HEAD");
    }
}
