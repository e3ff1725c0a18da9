//! A buffered, non-blocking writer for access log lines.
//!
//! Each thread that logs formats its lines straight into a thread-local
//! chunk (no lock, no atomic). A chunk that reaches [`STAGE_AT`] bytes is
//! handed whole to the thread's queue, in exchange for an empty one: a
//! pointer swap under an uncontended lock of the thread's own, once every
//! few dozen lines, and no copy. A thread about to wait for work hands off
//! what it has staged too ([`hand_off`]); a small remainder is appended to
//! the last queued chunk when it fits, so quiet traffic does not queue
//! nearly empty chunks.
//!
//! A flusher thread takes every queue every [`FLUSH_INTERVAL`] (every
//! [`BUSY_INTERVAL`] while the last round found more than [`BUSY_AT`]
//! bytes), writes the chunks with vectored writes, and gives them back
//! emptied, the last written on top, so the next lines are formatted into
//! memory that is mapped and still in cache. A request's line therefore
//! costs its formatting and never a syscall: the flusher is never woken by
//! the workers, it polls.
//!
//! Lines of one thread stay in order; lines of different threads are
//! written queue by queue, so across threads they can be out of order by
//! up to one flush interval (each line carries its time). A queue that
//! reaches [`MAX_BUFFERED`] bytes because the output is stuck drops further
//! lines and counts them; the count is reported in the output once it
//! drains.
//!
//! A log file ([`Logging::to_file`](super::Logging::to_file)) keeps only
//! its last [`FILE_CACHE_BEHIND`] bytes in the page cache: every
//! [`FILE_CACHE_STEP`] bytes the flusher advises the older pages away, so
//! they are dropped once written back and reused, warm, for the next lines.
//!
//! Dropping the last [`LogWriter`] handle, or calling [`LogWriter::flush`],
//! writes out everything handed off (and the calling thread's staged
//! lines). A server that has drained waits for its workers to hand off
//! theirs before the last flush, so a graceful shutdown loses no line.

use std::io::{self, IoSlice, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};

use super::lock;
use std::time::Duration;

/// How often buffered lines are written out.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(100);
/// How often buffered lines are written out while traffic is heavy: often
/// enough that the chunks in flight stay small enough to be reused from
/// the cache.
pub const BUSY_INTERVAL: Duration = Duration::from_millis(20);
/// A round that wrote more than this is "heavy".
pub const BUSY_AT: usize = 64 * 1024;
/// Most bytes of chunks (their capacity) one thread may have queued and
/// not yet taken by the flusher before further lines are dropped.
pub const MAX_BUFFERED: usize = 8 * 1024 * 1024;

/// Where the flushed bytes go.
pub(crate) type Output = Box<dyn Write + Send>;

/// Aligned to two cache lines so that two threads' queues never share
/// one: each thread locks its own at every hand-off, and a shared line
/// would bounce between cores.
#[repr(align(128))]
struct ThreadBuf {
    chunks: Mutex<Chunks>,
}

/// A thread's handed-off chunks and the emptied ones it may stage into.
#[derive(Default)]
struct Chunks {
    /// Waiting to be written, oldest first.
    full: Vec<Vec<u8>>,
    /// Capacity of the chunks in `full`: what [`MAX_BUFFERED`] bounds.
    queued: usize,
    /// Written and emptied; the last written (warmest) on top.
    free: Vec<Vec<u8>>,
}

/// Staged lines up to this size join the last queued chunk when it has
/// room, instead of being queued as a chunk of their own.
const MERGE_AT: usize = STAGE_AT / 4;
/// Capacity of a staging chunk: room for [`STAGE_AT`] and one more line.
const CHUNK: usize = STAGE_AT + 1024;
/// Most emptied chunks a thread keeps for reuse (about 2 MiB).
const KEEP_CHUNKS: usize = 224;
/// Most buffers given to one vectored write.
const MAX_IOV: usize = 1024;

struct Inner {
    id: u64,
    /// Every thread's buffer (a thread registers on its first line).
    bufs: Mutex<Vec<Arc<ThreadBuf>>>,
    out: Mutex<Output>,
    dropped: AtomicU64,
    /// Set to wake the flusher early; guarded by `wake`.
    wake_flag: Mutex<bool>,
    wake: Condvar,
    stop: AtomicBool,
}

/// A cloneable handle to one log output. See the [module docs](self).
#[derive(Clone)]
pub struct LogWriter {
    inner: Arc<Handle>,
}

/// Owns the flusher; dropping it flushes and stops the thread.
struct Handle {
    inner: Arc<Inner>,
    flusher: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl std::fmt::Debug for LogWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogWriter")
            .field("id", &self.inner.inner.id)
            .field("dropped", &self.inner.inner.dropped.load(Ordering::Relaxed))
            .finish()
    }
}

/// What a thread holds for one writer: lines staged without any lock, and
/// its queue, which the flusher empties.
struct Local {
    id: u64,
    writer: Weak<Inner>,
    buf: Arc<ThreadBuf>,
    staged: Vec<u8>,
}

impl Local {
    /// Queues the staged lines for the flusher (one lock, no copy of a
    /// full chunk).
    fn hand_off(&mut self) {
        if self.staged.is_empty() {
            return;
        }
        let mut chunks = lock(&self.buf.chunks);
        // A small remainder (a thread about to sleep) joins the last chunk;
        // a full one is queued as it is, never copied.
        if let Some(last) = chunks.full.last_mut() {
            if self.staged.len() <= MERGE_AT && last.capacity() - last.len() >= self.staged.len() {
                last.extend_from_slice(&self.staged);
                self.staged.clear();
                return;
            }
        }
        if chunks.queued + self.staged.capacity() > MAX_BUFFERED {
            drop(chunks);
            if let Some(w) = self.writer.upgrade() {
                let lines = self.staged.iter().filter(|&&b| b == b'\n').count();
                w.dropped.fetch_add(lines as u64, Ordering::Relaxed);
            }
            self.staged.clear();
            return;
        }
        let next = chunks
            .free
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(CHUNK));
        let full = std::mem::replace(&mut self.staged, next);
        chunks.queued += full.capacity();
        chunks.full.push(full);
    }
}

/// This thread's staging for each writer; handed off when the thread exits.
struct Locals(Vec<Local>);

impl Drop for Locals {
    fn drop(&mut self) {
        for l in &mut self.0 {
            l.hand_off();
        }
    }
}

thread_local! {
    static LOCAL: std::cell::RefCell<Locals> =
        const { std::cell::RefCell::new(Locals(Vec::new())) };
    /// Set when a line is staged, cleared by [`hand_off`]: lets the runtime
    /// skip the hand-off (and the wait that precedes it) when there is none.
    static STAGED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Staged lines are queued for the flusher once they reach this size, when
/// the thread is about to wait for work ([`hand_off`]), and when it exits.
pub const STAGE_AT: usize = 8 * 1024;

/// Hands this thread's staged lines to the flusher. The runtime calls it
/// before a worker waits for events and before it exits, so lines never
/// sit in an idle thread.
pub fn hand_off() {
    let _ = STAGED.try_with(|s| s.set(false));
    let _ = LOCAL.try_with(|local| {
        if let Ok(mut local) = local.try_borrow_mut() {
            for l in &mut local.0 {
                l.hand_off();
            }
        }
    });
}

/// Whether this thread may hold staged lines that [`hand_off`] would pass
/// on (a thread-local flag: no lock, no atomic).
pub(crate) fn has_staged() -> bool {
    STAGED.try_with(std::cell::Cell::get).unwrap_or(false)
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Every live writer, so that shutdown can flush them all.
static LIVE: Mutex<Vec<Weak<Inner>>> = Mutex::new(Vec::new());

/// Writes out the buffered lines of every live writer (called when a
/// server has finished draining).
pub(crate) fn flush_all_writers() {
    hand_off();
    let live: Vec<Arc<Inner>> = {
        let mut all = lock(&LIVE);
        all.retain(|w| w.strong_count() > 0);
        all.iter().filter_map(Weak::upgrade).collect()
    };
    for inner in live {
        inner.flush_all();
    }
}

impl LogWriter {
    /// A writer to `out`, with its flusher thread started.
    ///
    /// # Errors
    ///
    /// If the flusher thread cannot be spawned.
    pub(crate) fn new(out: Output) -> io::Result<LogWriter> {
        let inner = Arc::new(Inner {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            bufs: Mutex::new(Vec::new()),
            out: Mutex::new(out),
            dropped: AtomicU64::new(0),
            wake_flag: Mutex::new(false),
            wake: Condvar::new(),
            stop: AtomicBool::new(false),
        });
        let weak = Arc::downgrade(&inner);
        lock(&LIVE).push(weak.clone());
        let flusher = std::thread::Builder::new()
            .name("httpserver-log".into())
            .spawn(move || flusher_loop(&weak))?;
        Ok(LogWriter {
            inner: Arc::new(Handle {
                inner,
                flusher: Mutex::new(Some(flusher)),
            }),
        })
    }

    /// Appends one line (the caller ends it with `\n`) to this thread's
    /// buffer.
    #[cfg(test)]
    pub(crate) fn write_line(&self, line: &[u8]) {
        self.write_with(|staged| staged.extend_from_slice(line));
    }

    /// Lets `line` append one line (ended with `\n`) to this thread's
    /// buffer in place: formatted there, it is never copied on the worker.
    /// Not called if the thread is exiting or already inside `line`.
    pub(crate) fn write_with(&self, line: impl FnOnce(&mut Vec<u8>)) {
        let inner = &self.inner.inner;
        let _ = LOCAL.try_with(|local| {
            let Ok(mut local) = local.try_borrow_mut() else {
                return;
            };
            let local = &mut local.0;
            let pos = match local.iter().position(|l| l.id == inner.id) {
                Some(pos) => pos,
                None => {
                    // Forget what belonged to writers that are gone.
                    local.retain(|l| l.writer.strong_count() > 0);
                    let buf = Arc::new(ThreadBuf {
                        chunks: Mutex::new(Chunks::default()),
                    });
                    lock(&inner.bufs).push(buf.clone());
                    local.push(Local {
                        id: inner.id,
                        writer: Arc::downgrade(inner),
                        buf,
                        staged: Vec::with_capacity(CHUNK),
                    });
                    local.len() - 1
                }
            };
            let l = &mut local[pos];
            line(&mut l.staged);
            let _ = STAGED.try_with(|s| s.set(true));
            if l.staged.len() >= STAGE_AT {
                l.hand_off();
            }
        });
    }

    /// Writes out everything buffered so far, from every thread.
    pub fn flush(&self) {
        hand_off();
        self.inner.inner.flush_all();
    }

    /// Lines dropped because the output could not keep up, since the count
    /// was last reported in the output.
    pub fn dropped(&self) -> u64 {
        self.inner.inner.dropped.load(Ordering::Relaxed)
    }
}

impl Inner {
    /// Wakes the flusher (only to stop it).
    fn wake_early(&self) {
        let mut flag = lock(&self.wake_flag);
        if !*flag {
            *flag = true;
            self.wake.notify_one();
        }
    }

    /// Takes every thread's queue and writes it; returns the bytes
    /// written.
    fn flush_all(&self) -> usize {
        let bufs: Vec<Arc<ThreadBuf>> = {
            let mut all = lock(&self.bufs);
            // A thread that has exited leaves only this list's reference
            // (and its last lines, written below before it is forgotten).
            all.retain(|b| Arc::strong_count(b) > 1 || !lock(&b.chunks).full.is_empty());
            all.clone()
        };
        let mut out = lock(&self.out);
        let mut total = 0;
        for buf in bufs {
            let mut full = {
                let mut chunks = lock(&buf.chunks);
                chunks.queued = 0;
                std::mem::take(&mut chunks.full)
            };
            if full.is_empty() {
                continue;
            }
            total += full.iter().map(Vec::len).sum::<usize>();
            if let Err(e) = write_chunks(&mut **out, &full) {
                tracing::warn!(error = %e, "access log write failed");
            }
            let mut chunks = lock(&buf.chunks);
            for mut chunk in full.drain(..) {
                if chunks.free.len() < KEEP_CHUNKS && chunk.capacity() == CHUNK {
                    chunk.clear();
                    chunks.free.push(chunk);
                }
            }
            // The emptied list keeps its capacity for the next round.
            if chunks.full.is_empty() {
                chunks.full = full;
            }
        }
        let dropped = self.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            let _ = writeln!(
                out,
                "httpserver: {dropped} access log line(s) dropped: the log output could not keep up"
            );
        }
        let _ = out.flush();
        total
    }
}

/// How often (in bytes written) a log file's older pages are let go of.
pub const FILE_CACHE_STEP: u64 = 2 * 1024 * 1024;
/// How far behind its end a log file's pages may stay in the page cache:
/// older ones are dropped once written back.
pub const FILE_CACHE_BEHIND: u64 = 4 * FILE_CACHE_STEP;

/// A log file opened for appending that does not fill the page cache.
///
/// A busy access log writes gigabytes that are never read back; left in
/// the page cache they push out what is read (the files a server serves).
/// Every [`FILE_CACHE_STEP`] bytes, the pages of the last
/// [`FILE_CACHE_BEHIND`] bytes are advised away (`posix_fadvise`
/// `DONTNEED`): the dirty ones are queued for writeback, the ones already
/// written back are dropped, so a page gets a few chances to be dropped
/// after it is written. The freed pages are the next ones the kernel hands
/// out, still warm, for the following lines. Nothing waits for the disk;
/// on a disk too slow to keep up, the pages it has not written stay cached
/// as they would without this.
pub(crate) struct LogFile {
    file: std::fs::File,
    /// End of the file when it was last advised.
    advised: u64,
}

impl LogFile {
    pub(crate) fn new(file: std::fs::File) -> LogFile {
        // Opened for appending: the first write goes to the current end.
        let advised = file.metadata().map_or(0, |m| m.len());
        LogFile { file, advised }
    }

    /// Lets go of the older pages once [`FILE_CACHE_STEP`] bytes have been
    /// written since the last time.
    fn trim(&mut self) {
        use std::io::Seek;
        // Appending: the position is the end of what was written.
        let Ok(end) = self.file.stream_position() else {
            return;
        };
        if end < self.advised {
            // Truncated from outside (log rotation by copy and truncate).
            self.advised = end;
        }
        if end - self.advised < FILE_CACHE_STEP {
            return;
        }
        let from = end.saturating_sub(FILE_CACHE_BEHIND);
        if let Err(e) = crate::runtime::sys::drop_cached(&self.file, from, end - from) {
            tracing::debug!(error = %e, "access log: cannot advise the page cache");
        }
        self.advised = end;
    }
}

impl Write for LogFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.file.write_vectored(bufs)
    }

    /// The flusher calls this once per round: the place to trim.
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()?;
        self.trim();
        Ok(())
    }
}

/// Writes every chunk, in order, [`MAX_IOV`] to a vectored write.
fn write_chunks(out: &mut dyn Write, chunks: &[Vec<u8>]) -> io::Result<()> {
    let mut slices = Vec::with_capacity(chunks.len().min(MAX_IOV));
    for group in chunks.chunks(MAX_IOV) {
        slices.clear();
        slices.extend(
            group
                .iter()
                .filter(|c| !c.is_empty())
                .map(|c| IoSlice::new(c)),
        );
        let mut rest = &mut slices[..];
        while !rest.is_empty() {
            match out.write_vectored(rest) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => IoSlice::advance_slices(&mut rest, n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.inner.stop.store(true, Ordering::Relaxed);
        self.inner.wake_early();
        if let Some(t) = lock(&self.flusher).take() {
            let _ = t.join();
        }
        self.inner.flush_all();
    }
}

fn flusher_loop(inner: &Weak<Inner>) {
    let mut pause = FLUSH_INTERVAL;
    loop {
        let Some(inner) = inner.upgrade() else { return };
        {
            let flag = lock(&inner.wake_flag);
            let (mut flag, _) = inner
                .wake
                .wait_timeout_while(flag, pause, |woken| !*woken)
                .unwrap_or_else(|e| e.into_inner());
            *flag = false;
        }
        let written = inner.flush_all();
        pause = if written > BUSY_AT {
            BUSY_INTERVAL
        } else {
            FLUSH_INTERVAL
        };
        if inner.stop.load(Ordering::Relaxed) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// An output that blocks while the test holds the gate.
    struct Gated(Arc<Mutex<()>>, Shared);
    impl Write for Gated {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            let _g = self.0.lock().unwrap();
            self.1.write(b)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_from_every_thread_arrives_by_drop() {
        let out = Shared::default();
        let writer = LogWriter::new(Box::new(out.clone())).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let w = writer.clone();
                std::thread::spawn(move || {
                    for i in 0..5000 {
                        w.write_line(format!("t{t} line {i}\n").as_bytes());
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(writer);
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 20_000);
        for t in 0..4 {
            // Each thread's lines stay in order.
            let mine: Vec<&str> = text
                .lines()
                .filter(|l| l.starts_with(&format!("t{t} ")))
                .collect();
            assert_eq!(mine.len(), 5000);
            assert_eq!(mine[4999], format!("t{t} line 4999"));
        }
    }

    #[test]
    fn handed_off_lines_appear_within_the_flush_interval_without_a_flush_call() {
        let out = Shared::default();
        let writer = LogWriter::new(Box::new(out.clone())).unwrap();
        writer.write_line(b"hello\n");
        // What a worker does before it waits for events.
        hand_off();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while out.0.lock().unwrap().is_empty() {
            assert!(std::time::Instant::now() < deadline, "never flushed");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(&out.0.lock().unwrap()[..], b"hello\n");
    }

    #[test]
    fn a_line_per_wakeup_joins_the_last_chunk_instead_of_queueing_one_each() {
        // A worker that sleeps after every request hands off one line at a
        // time; queued one chunk each, 20,000 of them would pass the cap.
        let gate = Arc::new(Mutex::new(()));
        let out = Shared::default();
        let held = gate.lock().unwrap();
        let writer = LogWriter::new(Box::new(Gated(gate.clone(), out.clone()))).unwrap();
        for i in 0..20_000 {
            writer.write_line(format!("line {i}\n").as_bytes());
            hand_off();
        }
        assert_eq!(writer.dropped(), 0);
        drop(held);
        drop(writer);
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 20_000);
        assert_eq!(lines[19_999], "line 19999");
    }

    #[test]
    fn a_stuck_output_drops_and_counts_lines_instead_of_growing() {
        let gate = Arc::new(Mutex::new(()));
        let out = Shared::default();
        let held = gate.lock().unwrap();
        let writer = LogWriter::new(Box::new(Gated(gate.clone(), out.clone()))).unwrap();
        // Wait until the flusher is blocked on the gate with an empty batch
        // or not; either way at most one buffer's worth can be in flight.
        let line = vec![b'x'; 1023];
        let mut line = line;
        line.push(b'\n');
        let n = (3 * MAX_BUFFERED) / line.len();
        for _ in 0..n {
            writer.write_line(&line);
        }
        assert!(writer.dropped() > 0, "nothing was dropped");
        drop(held);
        drop(writer);
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("access log line(s) dropped"));
        assert!(out.0.lock().unwrap().len() <= 3 * MAX_BUFFERED);
    }

    #[test]
    fn a_log_file_keeps_only_its_last_megabytes_in_the_page_cache() {
        use crate::runtime::sys::ScratchFile;
        let (log_scratch, plain_scratch) =
            (ScratchFile::new("log-file"), ScratchFile::new("log-plain"));
        let (path, plain_path) = (&log_scratch.0, &plain_scratch.0);
        let open = |p: &std::path::Path| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .unwrap()
        };
        let round = vec![b'x'; 64 * 1024];
        let total = 6 * FILE_CACHE_BEHIND;
        let mut log = LogFile::new(open(path));
        let mut plain = open(plain_path);
        let mut written = 0;
        while written < total {
            log.write_all(&round).unwrap();
            written += round.len() as u64;
            if written % FILE_CACHE_STEP == 0 {
                // A disk that keeps up: what was written is written back
                // before the flush that advises it away (without this, how
                // much is still under writeback depends on the machine).
                log.file.sync_data().unwrap();
            }
            log.flush().unwrap();
            plain.write_all(&round).unwrap();
        }
        // (The page cache is the file's: a reading handle sees it.)
        let cached_pages = |p: &std::path::Path| {
            crate::runtime::sys::cached_pages(&std::fs::File::open(p).unwrap())
        };
        let (cached, pages) = cached_pages(path).unwrap();
        let (plain_cached, plain_pages) = cached_pages(plain_path).unwrap();
        assert_eq!(pages, plain_pages);
        assert!(
            plain_cached > plain_pages * 9 / 10,
            "{plain_cached} of {plain_pages}"
        );
        // At most the last FILE_CACHE_BEHIND and the step being written, and
        // a few pages that were under writeback each time they were advised.
        let bound = ((FILE_CACHE_BEHIND + 2 * FILE_CACHE_STEP) / 4096) as usize;
        assert!(cached <= bound, "{cached} of {pages} cached; bound {bound}");
        assert_eq!(std::fs::metadata(path).unwrap().len(), total);
        // Truncated from outside: it starts counting again, no panic.
        log.file.set_len(0).unwrap();
        log.write_all(b"after\n").unwrap();
        log.flush().unwrap();
        assert_eq!(std::fs::read(path).unwrap(), b"after\n");
    }
}
