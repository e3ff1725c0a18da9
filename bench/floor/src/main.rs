//! The floor: the least work an HTTP/1.1 server on this machine can do per
//! request, as a lower bound for the benchmark (not a server).
//!
//! One thread, level-triggered epoll. For each readable connection it reads
//! what is available once, counts the `\r\n\r\n` terminators in those bytes
//! (a terminator split across reads is carried over), appends one canned
//! plaintext response per terminator to an output buffer and sends the batch
//! with one write. No parsing, no routing, no Date formatting. TCP_NODELAY
//! on accepted sockets; 127.0.0.1:$PORT; exits on SIGTERM (via signalfd).

use std::collections::HashMap;
use std::io;
use std::mem;
use std::os::fd::RawFd;

const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\n\
Content-Length: 13\r\n\
Content-Type: text/plain\r\n\
Date: Thu, 01 Jan 2026 00:00:00 GMT\r\n\
\r\n\
Hello, World!";

const TERMINATOR: &[u8; 4] = b"\r\n\r\n";
const LISTENER: u64 = u64::MAX;
const SIGNAL: u64 = u64::MAX - 1;

struct Conn {
    /// How many bytes of a terminator the previous read ended with (0..=3).
    matched: usize,
    /// Responses not yet accepted by the socket.
    pending: Vec<u8>,
}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Counts terminators in `buf`, continuing a partial match of `*matched`
/// bytes from the previous read.
fn count_terminators(buf: &[u8], matched: &mut usize) -> usize {
    let mut n = 0;
    let mut m = *matched;
    for &b in buf {
        if b == TERMINATOR[m] {
            m += 1;
            if m == 4 {
                n += 1;
                m = 0;
            }
        } else {
            // The only self-overlap of "\r\n\r\n" that can restart a match
            // here is a fresh '\r'.
            m = usize::from(b == b'\r');
        }
    }
    *matched = m;
    n
}

fn epoll_ctl(ep: RawFd, op: libc::c_int, fd: RawFd, events: u32, token: u64) -> io::Result<()> {
    let mut ev = libc::epoll_event { events, u64: token };
    // SAFETY: `ev` is a valid epoll_event for the duration of the call.
    cvt(unsafe { libc::epoll_ctl(ep, op, fd, &mut ev) }).map(|_| ())
}

fn listen(port: u16) -> io::Result<RawFd> {
    // SAFETY: plain socket syscalls on values owned by this function.
    unsafe {
        let fd = cvt(libc::socket(
            libc::AF_INET,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        ))?;
        let one: libc::c_int = 1;
        cvt(libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            &one as *const _ as *const libc::c_void,
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        ))?;
        let mut addr: libc::sockaddr_in = mem::zeroed();
        addr.sin_family = libc::AF_INET as libc::sa_family_t;
        addr.sin_port = port.to_be();
        addr.sin_addr.s_addr = u32::from_be_bytes([127, 0, 0, 1]).to_be();
        cvt(libc::bind(
            fd,
            &addr as *const _ as *const libc::sockaddr,
            mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        ))?;
        cvt(libc::listen(fd, 4096))?;
        Ok(fd)
    }
}

/// Blocks SIGTERM for normal delivery and returns a signalfd for it.
fn sigterm_fd() -> io::Result<RawFd> {
    // SAFETY: the sigset is initialised by sigemptyset before use.
    unsafe {
        let mut set: libc::sigset_t = mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        cvt(libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()))?;
        cvt(libc::signalfd(-1, &set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC))
    }
}

fn close(fd: RawFd) {
    // SAFETY: `fd` is owned by the caller and not used after this.
    unsafe { libc::close(fd) };
}

/// Writes as much of `buf` as the socket takes; returns the count, 0 on
/// EAGAIN, an error otherwise.
fn write_some(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for `buf.len()` bytes.
    let n = unsafe { libc::write(fd, buf.as_ptr() as *const libc::c_void, buf.len()) };
    if n >= 0 {
        return Ok(n as usize);
    }
    let err = io::Error::last_os_error();
    if err.kind() == io::ErrorKind::WouldBlock {
        Ok(0)
    } else {
        Err(err)
    }
}

fn main() -> io::Result<()> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let sfd = sigterm_fd()?;
    let lfd = listen(port)?;
    // SAFETY: epoll_create1 has no memory-safety preconditions.
    let ep = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
    epoll_ctl(ep, libc::EPOLL_CTL_ADD, lfd, libc::EPOLLIN as u32, LISTENER)?;
    epoll_ctl(ep, libc::EPOLL_CTL_ADD, sfd, libc::EPOLLIN as u32, SIGNAL)?;

    let mut conns: HashMap<RawFd, Conn> = HashMap::new();
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
    let mut inbuf = vec![0u8; 64 * 1024];
    let mut out: Vec<u8> = Vec::with_capacity(64 * 1024);

    loop {
        // SAFETY: `events` has room for `events.len()` entries.
        let n = unsafe { libc::epoll_wait(ep, events.as_mut_ptr(), events.len() as i32, -1) };
        if n < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        for ev in &events[..n as usize] {
            let (flags, token) = (ev.events, ev.u64);
            match token {
                SIGNAL => return Ok(()),
                LISTENER => loop {
                    // SAFETY: null address arguments are allowed.
                    let fd = unsafe {
                        libc::accept4(
                            lfd,
                            std::ptr::null_mut(),
                            std::ptr::null_mut(),
                            libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                        )
                    };
                    if fd < 0 {
                        break; // EAGAIN, or EMFILE and the like: retry later
                    }
                    let one: libc::c_int = 1;
                    // SAFETY: valid fd and option buffer.
                    unsafe {
                        libc::setsockopt(
                            fd,
                            libc::IPPROTO_TCP,
                            libc::TCP_NODELAY,
                            &one as *const _ as *const libc::c_void,
                            mem::size_of::<libc::c_int>() as libc::socklen_t,
                        )
                    };
                    if epoll_ctl(ep, libc::EPOLL_CTL_ADD, fd, libc::EPOLLIN as u32, fd as u64)
                        .is_err()
                    {
                        close(fd);
                        continue;
                    }
                    conns.insert(
                        fd,
                        Conn {
                            matched: 0,
                            pending: Vec::new(),
                        },
                    );
                },
                _ => {
                    let fd = token as RawFd;
                    if !handle(ep, fd, flags, &mut conns, &mut inbuf, &mut out) {
                        conns.remove(&fd);
                        close(fd); // also removes it from the epoll set
                    }
                }
            }
        }
    }
}

/// Serves one readiness event; false when the connection is to be closed.
fn handle(
    ep: RawFd,
    fd: RawFd,
    flags: u32,
    conns: &mut HashMap<RawFd, Conn>,
    inbuf: &mut [u8],
    out: &mut Vec<u8>,
) -> bool {
    let Some(conn) = conns.get_mut(&fd) else {
        return false;
    };
    if flags & libc::EPOLLOUT as u32 != 0 && !conn.pending.is_empty() {
        match write_some(fd, &conn.pending) {
            Ok(w) => {
                conn.pending.drain(..w);
            }
            Err(_) => return false,
        }
        if conn.pending.is_empty() {
            let _ = epoll_ctl(ep, libc::EPOLL_CTL_MOD, fd, libc::EPOLLIN as u32, fd as u64);
        }
        return true;
    }
    if flags & (libc::EPOLLIN | libc::EPOLLHUP | libc::EPOLLERR) as u32 == 0 {
        return true;
    }
    // SAFETY: `inbuf` is valid for `inbuf.len()` bytes.
    let r = unsafe { libc::read(fd, inbuf.as_mut_ptr() as *mut libc::c_void, inbuf.len()) };
    if r == 0 {
        return false;
    }
    if r < 0 {
        return io::Error::last_os_error().kind() == io::ErrorKind::WouldBlock;
    }
    let requests = count_terminators(&inbuf[..r as usize], &mut conn.matched);
    if requests == 0 {
        return true;
    }
    if !conn.pending.is_empty() {
        // The socket is still full: queue behind what is waiting.
        for _ in 0..requests {
            conn.pending.extend_from_slice(RESPONSE);
        }
        return true;
    }
    out.clear();
    for _ in 0..requests {
        out.extend_from_slice(RESPONSE);
    }
    match write_some(fd, out) {
        Ok(w) if w == out.len() => true,
        Ok(w) => {
            conn.pending.extend_from_slice(&out[w..]);
            epoll_ctl(
                ep,
                libc::EPOLL_CTL_MOD,
                fd,
                (libc::EPOLLIN | libc::EPOLLOUT) as u32,
                fd as u64,
            )
            .is_ok()
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::count_terminators;

    #[test]
    fn counts_across_splits() {
        let req = b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n".repeat(3);
        for split in 0..req.len() {
            let mut m = 0;
            let n = count_terminators(&req[..split], &mut m) + count_terminators(&req[split..], &mut m);
            assert_eq!(n, 3, "split at {split}");
            assert_eq!(m, 0);
        }
        let mut m = 0;
        assert_eq!(count_terminators(b"\r\r\n\r\n", &mut m), 1);
    }
}
