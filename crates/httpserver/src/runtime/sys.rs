//! The operating system's poller: Linux epoll and an eventfd, called through
//! `libc`. This is the only module with `unsafe` code; each block says why it
//! is sound.
//!
//! `mio` would hide these calls, but its `Poll::poll` takes `&mut self`, so
//! only one thread can wait on it. The runtime's design needs many threads
//! waiting on one epoll set in one-shot mode (see the [`runtime`](super)
//! docs), which epoll supports directly.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// Readiness a registration waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interest {
    /// Readable (or peer closed).
    Read,
}

impl Interest {
    fn bits(self, oneshot: bool) -> u32 {
        let base = match self {
            Interest::Read => libc::EPOLLIN | libc::EPOLLRDHUP,
        };
        let flags = if oneshot { libc::EPOLLONESHOT } else { 0 };
        (base | flags) as u32
    }
}

/// An epoll instance. Any number of threads may wait on it at once.
#[derive(Debug)]
pub(crate) struct Epoll {
    fd: OwnedFd,
}

/// A buffer of events filled by [`Epoll::wait`].
pub(crate) struct Events {
    buf: Vec<libc::epoll_event>,
    len: usize,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events").field("len", &self.len).finish()
    }
}

impl Events {
    /// Room for `capacity` events per wait.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Events {
            buf: vec![libc::epoll_event { events: 0, u64: 0 }; capacity.max(1)],
            len: 0,
        }
    }

    /// The tokens of the events received by the last wait.
    #[cfg(test)]
    pub(crate) fn tokens(&self) -> impl Iterator<Item = u64> + '_ {
        self.iter().map(|(token, _)| token)
    }

    /// The events received by the last wait: token, and whether the peer
    /// closed or reset (then reading on until end of stream is needed,
    /// since an edge-triggered registration reports that only once).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u64, bool)> + '_ {
        // Fields are copied out of the (possibly packed) struct; no
        // reference to them is taken.
        let hup = (libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR) as u32;
        self.buf[..self.len]
            .iter()
            .map(move |e| (e.u64, e.events & hup != 0))
    }
}

/// Wraps a libc return value: -1 becomes the current `errno`.
fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

impl Epoll {
    /// A new epoll instance (close-on-exec).
    pub(crate) fn new() -> io::Result<Self> {
        // SAFETY: epoll_create1 takes no pointers; on success it returns a
        // new file descriptor that nothing else owns, so OwnedFd may own it.
        let fd = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: `fd` is a fresh, valid descriptor owned by no one else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Epoll { fd })
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, events: u32, token: u64) -> io::Result<()> {
        let mut event = libc::epoll_event { events, u64: token };
        // SAFETY: `event` is a valid, initialised epoll_event that lives for
        // the whole call; the kernel only reads it. A bad `fd` gives EBADF,
        // not undefined behaviour.
        cvt(unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), op, fd, &mut event) })?;
        Ok(())
    }

    /// Registers `fd` with `token`.
    pub(crate) fn add(
        &self,
        fd: RawFd,
        token: u64,
        interest: Interest,
        oneshot: bool,
    ) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, interest.bits(oneshot), token)
    }

    /// Registers `fd` with `token`, edge-triggered for reading, writing and
    /// peer close, for good: no re-arming.
    pub(crate) fn add_edge(&self, fd: RawFd, token: u64) -> io::Result<()> {
        let events = libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET;
        self.ctl(libc::EPOLL_CTL_ADD, fd, events as u32, token)
    }

    /// Re-arms a one-shot registration (or changes its interest).
    pub(crate) fn rearm(&self, fd: RawFd, token: u64, interest: Interest) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_MOD, fd, interest.bits(true), token)
    }

    /// Removes `fd`.
    pub(crate) fn delete(&self, fd: RawFd) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_DEL, fd, 0, 0)
    }

    /// Waits for events, at most `timeout` (forever if `None`). An
    /// interrupted wait returns no events.
    pub(crate) fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        let ms = timeout.map_or(-1, |t| t.as_millis().min(i32::MAX as u128) as libc::c_int);
        let max = events.buf.len().min(i32::MAX as usize) as libc::c_int;
        // SAFETY: the pointer and `max` describe `events.buf`, a live,
        // initialised buffer of `max` epoll_event that this call borrows
        // mutably; the kernel writes at most `max` entries into it.
        let ret =
            unsafe { libc::epoll_wait(self.fd.as_raw_fd(), events.buf.as_mut_ptr(), max, ms) };
        match cvt(ret) {
            Ok(n) => {
                events.len = n as usize;
                Ok(events.len)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                events.len = 0;
                Ok(0)
            }
            Err(e) => Err(e),
        }
    }
}

/// An eventfd: a counter other threads can make readable to wake waiters.
#[derive(Debug)]
pub(crate) struct EventFd {
    fd: OwnedFd,
}

impl EventFd {
    /// A new non-blocking eventfd.
    pub(crate) fn new() -> io::Result<Self> {
        // SAFETY: no pointers; on success a fresh descriptor is returned.
        let fd = cvt(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
        // SAFETY: `fd` is fresh and owned by no one else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(EventFd { fd })
    }

    /// Makes the eventfd readable (it stays readable: waiters registered
    /// level-triggered all wake).
    pub(crate) fn notify(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 on the stack, as eventfd
        // requires. A full counter gives EAGAIN, which is fine: it is
        // readable either way.
        let _ = unsafe {
            libc::write(
                self.fd.as_raw_fd(),
                (&one as *const u64).cast(),
                std::mem::size_of::<u64>(),
            )
        };
    }
}

impl AsRawFd for EventFd {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// How many CPUs a `cpu_set_t` can name.
fn cpu_set_bits() -> usize {
    usize::try_from(libc::CPU_SETSIZE).unwrap_or(1024)
}

/// The CPUs this thread may run on (its affinity mask), in order.
pub(crate) fn allowed_cpus() -> io::Result<Vec<usize>> {
    // SAFETY: cpu_set_t is a plain bit array for which all zeroes is the
    // empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid cpu_set_t of the size passed; the kernel
    // writes at most that many bytes into it.
    cvt(unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) })?;
    // SAFETY: CPU_ISSET only reads bit `cpu` of `set`, and `cpu` is below
    // CPU_SETSIZE, the number of bits a cpu_set_t holds.
    Ok((0..cpu_set_bits())
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
        .collect())
}

/// Restricts the calling thread to `cpu`.
pub(crate) fn pin_current_thread(cpu: usize) -> io::Result<()> {
    if cpu >= cpu_set_bits() {
        return Err(io::ErrorKind::InvalidInput.into());
    }
    // SAFETY: all zeroes is the empty set (see `allowed_cpus`).
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `cpu` was checked to be below CPU_SETSIZE, so CPU_SET writes
    // a bit inside `set`.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: `set` is a valid cpu_set_t of the size passed; the kernel
    // only reads it; pid 0 is the calling thread.
    cvt(unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) })
        .map(drop)
}

/// Sets the calling thread's timer slack (`PR_SET_TIMERSLACK`): how much
/// later than asked the kernel may end its sleeps and timeouts, to group
/// wake-ups. The default is 50 µs.
pub(crate) fn set_timer_slack(slack: Duration) -> io::Result<()> {
    // 0 would mean "back to the default"; the slack is at least 1 ns.
    let ns = libc::c_ulong::try_from(slack.as_nanos().max(1)).unwrap_or(libc::c_ulong::MAX);
    // SAFETY: PR_SET_TIMERSLACK takes one integer argument and no pointer;
    // the unused arguments are zero as prctl(2) asks. It changes only this
    // thread's timer slack.
    cvt(unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, ns, 0, 0, 0) }).map(drop)
}

/// Raises the soft limit on open files to the hard limit, returning the new
/// soft limit.
pub(crate) fn raise_nofile_limit() -> io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid rlimit the kernel fills in.
    cvt(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) })?;
    if lim.rlim_cur < lim.rlim_max {
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: `lim` is a valid rlimit the kernel only reads.
        cvt(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) })?;
    }
    Ok(lim.rlim_cur)
}

/// Sends up to `count` bytes of `file`, from `*offset`, to the socket `out`
/// without copying them through user space (`sendfile(2)`), and advances
/// `*offset` by what was sent. A non-blocking socket that is full gives
/// `WouldBlock`.
pub(crate) fn sendfile(
    out: &impl AsRawFd,
    file: &std::fs::File,
    offset: &mut u64,
    count: usize,
) -> io::Result<usize> {
    let mut off = libc::off_t::try_from(*offset)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "file offset too large"))?;
    // SAFETY: both descriptors are borrowed from live owners for the whole
    // call, so they are open; `off` is a local the kernel reads and updates;
    // no other memory is passed (the kernel copies between the two files).
    let n = unsafe { libc::sendfile(out.as_raw_fd(), file.as_raw_fd(), &mut off, count) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    *offset = u64::try_from(off).unwrap_or(*offset);
    // `n` is non-negative and at most `count` here.
    Ok(n.unsigned_abs())
}

/// Tells the kernel that the cached pages of `len` bytes of `file` from
/// `offset` will not be read again (`posix_fadvise(2)`, `DONTNEED`): dirty
/// ones are queued for writeback, clean ones are dropped from the page
/// cache. Advisory: it changes no byte of the file.
pub(crate) fn drop_cached(file: &std::fs::File, offset: u64, len: u64) -> io::Result<()> {
    let (Ok(offset), Ok(len)) = (libc::off_t::try_from(offset), libc::off_t::try_from(len)) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "file range too large",
        ));
    };
    // SAFETY: the descriptor is borrowed from a live `File` for the whole
    // call, so it is open; no memory is passed.
    let err =
        unsafe { libc::posix_fadvise(file.as_raw_fd(), offset, len, libc::POSIX_FADV_DONTNEED) };
    // posix_fadvise returns the error number instead of setting errno.
    if err == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(err))
    }
}

/// How many pages of `file` are in the page cache, and how many it has
/// (`mincore(2)` over a mapping of it), for tests of [`drop_cached`].
#[cfg(test)]
pub(crate) fn cached_pages(file: &std::fs::File) -> io::Result<(usize, usize)> {
    let len = usize::try_from(file.metadata()?.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "file too large"))?;
    if len == 0 {
        return Ok((0, 0));
    }
    // SAFETY: sysconf takes no pointers.
    let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    // SAFETY: a new read-only shared mapping of a descriptor borrowed from
    // a live `File`; the kernel picks the address. It is never read
    // through: it only names the pages for mincore and is unmapped below.
    let addr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ,
            libc::MAP_SHARED,
            file.as_raw_fd(),
            0,
        )
    };
    if addr == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    let mut vec = vec![0u8; len.div_ceil(page)];
    // SAFETY: `addr` is the page-aligned start of a mapping of `len` bytes,
    // and `vec` has one byte for each of its pages, as mincore writes.
    let ret = unsafe { libc::mincore(addr, len, vec.as_mut_ptr()) };
    let err = io::Error::last_os_error();
    // SAFETY: unmaps exactly the mapping made above; nothing refers to it.
    unsafe { libc::munmap(addr, len) };
    if ret != 0 {
        return Err(err);
    }
    Ok((vec.iter().filter(|&&b| b & 1 == 1).count(), vec.len()))
}

/// A file path in the package's own folder, removed when dropped, for
/// tests of the page cache (a temporary directory may be a tmpfs, whose
/// pages cannot be dropped).
#[cfg(test)]
pub(crate) struct ScratchFile(pub(crate) std::path::PathBuf);

#[cfg(test)]
impl ScratchFile {
    pub(crate) fn new(name: &str) -> ScratchFile {
        let dir = std::env::current_dir().unwrap_or_else(|_| ".".into());
        ScratchFile(dir.join(format!(".hs-{name}-{}", std::process::id())))
    }
}

#[cfg(test)]
impl Drop for ScratchFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Opens `path`, relative to the directory `dir`, for reading with
/// `openat2(2)`: non-blocking (so a FIFO cannot hold the caller; reads of
/// regular files ignore the flag), close-on-exec, no controlling terminal.
/// With `beneath`, the kernel refuses (`EXDEV`) any resolution that leaves
/// `dir`: `..`, absolute symbolic links, links to the outside, and /proc
/// magic links; the check and the open are one step, so nothing can be
/// swapped in between. Kernels before 5.6, and sandboxes that filter the
/// call, answer `ENOSYS` (or `EPERM`).
pub(crate) fn open_beneath(
    dir: &std::fs::File,
    path: &std::path::Path,
    beneath: bool,
) -> io::Result<std::fs::File> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in a path"))?;
    let flags = libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY;
    // SAFETY: `open_how` is a C struct of three `u64`s (marked
    // non-exhaustive by libc, so it cannot be built literally); all zeros
    // is a valid value of it, and the fields that matter are set next.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = u64::try_from(flags).unwrap_or(0);
    how.resolve = if beneath {
        libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS
    } else {
        0
    };
    loop {
        // SAFETY: `dir` is borrowed from a live `File`, so its descriptor is
        // open for the whole call; `c_path` is a NUL-terminated string that
        // outlives the call; `how` is a fully initialised `open_how` whose
        // size is passed alongside, as openat2(2) requires. The kernel only
        // reads both.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir.as_raw_fd(),
                c_path.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        if fd < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        let fd = RawFd::try_from(fd).map_err(|_| io::Error::other("descriptor out of range"))?;
        // SAFETY: openat2 returned a new descriptor that nothing else owns;
        // the `File` becomes its only owner and closes it.
        return Ok(unsafe { std::fs::File::from_raw_fd(fd) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};

    #[test]
    fn open_beneath_stays_under_its_directory() {
        let base = std::env::temp_dir().join(format!("hs-beneath-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("root/sub")).unwrap();
        std::fs::write(base.join("root/sub/in.txt"), b"in").unwrap();
        std::fs::write(base.join("secret"), b"out").unwrap();
        std::os::unix::fs::symlink("../secret", base.join("root/rel-out")).unwrap();
        std::os::unix::fs::symlink(base.join("secret"), base.join("root/abs-out")).unwrap();
        std::os::unix::fs::symlink("sub/in.txt", base.join("root/rel-in")).unwrap();
        let dir = std::fs::File::open(base.join("root")).unwrap();
        let open = |p: &str, beneath: bool| {
            open_beneath(&dir, std::path::Path::new(p), beneath).map(|mut f| {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut f, &mut s).unwrap();
                s
            })
        };
        match open("sub/in.txt", true) {
            // A kernel or sandbox without openat2: nothing more to test.
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EPERM)) => return,
            other => assert_eq!(other.unwrap(), "in"),
        }
        assert_eq!(open("rel-in", true).unwrap(), "in");
        for escape in [
            "../secret",
            "rel-out",
            "abs-out",
            "sub/../../secret",
            "/etc/passwd",
        ] {
            let e = open(escape, true).unwrap_err();
            assert_eq!(e.raw_os_error(), Some(libc::EXDEV), "{escape}");
        }
        assert_eq!(open("rel-out", false).unwrap(), "out");
        assert_eq!(
            open("missing", true).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        assert!(open("a\0b", true).is_err());
        // A FIFO opens at once (non-blocking) instead of waiting for a writer.
        let made = std::process::Command::new("mkfifo")
            .arg(base.join("root/fifo"))
            .status()
            .unwrap();
        assert!(made.success());
        let fifo = open_beneath(&dir, std::path::Path::new("fifo"), true).unwrap();
        let kind = fifo.metadata().unwrap().file_type();
        assert!(std::os::unix::fs::FileTypeExt::is_fifo(&kind));
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn one_shot_events_fire_once_until_rearmed() {
        let epoll = Epoll::new().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        epoll
            .add(server.as_raw_fd(), 7, Interest::Read, true)
            .unwrap();
        client.write_all(b"x").unwrap();
        let mut events = Events::with_capacity(4);
        assert_eq!(
            epoll
                .wait(&mut events, Some(Duration::from_secs(5)))
                .unwrap(),
            1
        );
        assert_eq!(events.tokens().collect::<Vec<_>>(), [7]);
        // Still readable, but one-shot: no second event until re-armed.
        assert_eq!(
            epoll
                .wait(&mut events, Some(Duration::from_millis(50)))
                .unwrap(),
            0
        );
        epoll.rearm(server.as_raw_fd(), 8, Interest::Read).unwrap();
        assert_eq!(
            epoll
                .wait(&mut events, Some(Duration::from_secs(5)))
                .unwrap(),
            1
        );
        assert_eq!(events.tokens().next(), Some(8));
        epoll.delete(server.as_raw_fd()).unwrap();
        assert!(epoll.delete(server.as_raw_fd()).is_err());
    }

    #[test]
    fn edge_triggered_events_fire_once_per_arrival() {
        let epoll = Epoll::new().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        epoll.add_edge(server.as_raw_fd(), 3).unwrap();
        let mut events = Events::with_capacity(4);
        // Writable at once: one event, then quiet although still writable.
        assert_eq!(
            epoll
                .wait(&mut events, Some(Duration::from_secs(5)))
                .unwrap(),
            1
        );
        assert_eq!(
            epoll
                .wait(&mut events, Some(Duration::from_millis(50)))
                .unwrap(),
            0
        );
        client.write_all(b"x").unwrap();
        assert_eq!(
            epoll
                .wait(&mut events, Some(Duration::from_secs(5)))
                .unwrap(),
            1
        );
        // Unread data does not fire again by itself ...
        assert_eq!(
            epoll
                .wait(&mut events, Some(Duration::from_millis(50)))
                .unwrap(),
            0
        );
        // ... but a new arrival does, without any re-arming.
        client.write_all(b"y").unwrap();
        assert_eq!(
            epoll
                .wait(&mut events, Some(Duration::from_secs(5)))
                .unwrap(),
            1
        );
        assert_eq!(events.tokens().next(), Some(3));
    }

    #[test]
    fn eventfd_wakes_every_level_triggered_waiter() {
        let epoll = std::sync::Arc::new(Epoll::new().unwrap());
        let efd = EventFd::new().unwrap();
        epoll
            .add(efd.as_raw_fd(), 1, Interest::Read, false)
            .unwrap();
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let epoll = epoll.clone();
                std::thread::spawn(move || {
                    let mut events = Events::with_capacity(1);
                    epoll
                        .wait(&mut events, Some(Duration::from_secs(5)))
                        .unwrap()
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(20));
        efd.notify();
        for w in waiters {
            assert_eq!(w.join().unwrap(), 1);
        }
        assert!(raise_nofile_limit().unwrap() > 0);
    }

    #[test]
    fn a_thread_pinned_to_an_allowed_cpu_runs_only_there() {
        let cpus = allowed_cpus().unwrap();
        assert!(!cpus.is_empty());
        let last = *cpus.last().unwrap();
        // On a thread of its own, so the test runner's threads keep theirs.
        let seen = std::thread::spawn(move || {
            pin_current_thread(last).unwrap();
            allowed_cpus().unwrap()
        })
        .join()
        .unwrap();
        assert_eq!(seen, vec![last]);
        assert_eq!(
            allowed_cpus().unwrap(),
            cpus,
            "other threads keep their mask"
        );
        assert!(pin_current_thread(usize::MAX).is_err());
    }

    #[test]
    fn the_timer_slack_is_set_for_this_thread_only() {
        // SAFETY: PR_GET_TIMERSLACK takes no argument and returns the
        // calling thread's slack; it touches no memory.
        let get = || unsafe { libc::prctl(libc::PR_GET_TIMERSLACK, 0, 0, 0, 0) };
        let here = get();
        std::thread::spawn(move || {
            let before = get();
            set_timer_slack(Duration::from_micros(3)).unwrap();
            assert_eq!(get(), 3000);
            // Zero is not "back to the default" but the smallest slack.
            set_timer_slack(Duration::ZERO).unwrap();
            assert_eq!(get(), 1);
            assert_ne!(before, 1);
        })
        .join()
        .unwrap();
        assert_eq!(get(), here, "another thread's slack changed this one's");
    }

    #[test]
    fn sendfile_copies_a_file_range_to_a_socket() {
        use std::io::Read;
        let path = std::env::temp_dir().join(format!("hs-sendfile-{}", std::process::id()));
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            client.read_to_end(&mut got).unwrap();
            got
        });
        let mut offset = 1000;
        while offset < 150_000 {
            let want = 150_000 - offset as usize;
            let n = sendfile(&server, &file, &mut offset, want).unwrap();
            assert!(n > 0);
        }
        assert_eq!(offset, 150_000);
        drop(server);
        assert_eq!(reader.join().unwrap(), &data[1000..150_000]);
        // At the end of the file: nothing more to send.
        let listener2 = TcpListener::bind("127.0.0.1:0").unwrap();
        let _c = TcpStream::connect(listener2.local_addr().unwrap()).unwrap();
        let (s2, _) = listener2.accept().unwrap();
        let mut end = data.len() as u64;
        assert_eq!(sendfile(&s2, &file, &mut end, 10).unwrap(), 0);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn dropped_pages_leave_the_page_cache_and_the_bytes_stay() {
        use std::io::Write;
        let scratch = ScratchFile::new("drop-cached");
        let path = &scratch.0;
        let data: Vec<u8> = (0..4u32 << 20).map(|i| (i % 253) as u8).collect();
        let mut file = std::fs::File::create(path).unwrap();
        file.write_all(&data).unwrap();
        file.sync_all().unwrap();
        // Mapped for reading by mincore: a reading handle to the same file.
        let file = std::fs::File::open(path).unwrap();
        let (cached, pages) = cached_pages(&file).unwrap();
        assert_eq!(pages, data.len().div_ceil(4096));
        // Just written: in the cache (the count is real, not always 0).
        assert!(cached > pages * 9 / 10, "{cached} of {pages} cached");
        drop_cached(&file, 0, data.len() as u64).unwrap();
        let (cached, _) = cached_pages(&file).unwrap();
        assert!(cached < pages / 10, "{cached} of {pages} still cached");
        assert_eq!(std::fs::read(path).unwrap(), data);
        // Not a file: the kernel's error, not a panic.
        let (r, _w) = std::io::pipe().unwrap();
        let pipe = std::fs::File::from(std::os::fd::OwnedFd::from(r));
        assert!(drop_cached(&pipe, 0, 10).is_err());
    }
}
