//! The two directions of a stream connection. A [`Channel`] carries bytes from one socket (the
//! writer) to the other (the reader) through a bounded buffer; a connected socket holds its
//! receiving channel (`rx`) and its sending channel (`tx`), which are its peer's `tx` and `rx`.
//! Sockets never hold each other: closing one only marks the channels, so the peer sees end of
//! file, `ECONNRESET` or `EPIPE` as Linux reports them.

use crate::events::Events;
use crate::{Errno, Result};
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use spin::Mutex;

/// Bytes a direction buffers before writers block (what Linux calls the receive buffer).
pub const STREAM_CAPACITY: usize = 256 * 1024;
/// Free room for which a stream socket counts as writable (poll, epoll): as on Linux, some
/// room (a third of the buffer), not a single byte, so writers do not wake for every read.
const WRITABLE_ROOM: usize = STREAM_CAPACITY / 3;

pub(crate) struct Channel {
    state: Mutex<ChannelState>,
    /// The reading socket's events (woken by new data, end of file, errors).
    reader: Arc<Events>,
    /// The writing socket's events (woken by room, or by the reader going away).
    writer: Arc<Events>,
}

#[derive(Default)]
struct ChannelState {
    data: VecDeque<u8>,
    /// The writer sends no more (`shutdown(SHUT_WR)` or an orderly close): end of file after
    /// the data.
    fin: bool,
    /// The connection was aborted: end of file once the reader has seen `error`.
    reset: bool,
    /// The reading socket's pending error (`ECONNRESET`, or `EPIPE` once a write after the
    /// peer's close was answered by a reset), reported once by its next call or `SO_ERROR`.
    error: Option<Errno>,
    /// The reader is closed (or shut down for reading, on Unix sockets): writes fail.
    reader_gone: bool,
    /// TCP: the peer's reset for data written after its close has come back, so writes now
    /// fail with `EPIPE` (the first such write "succeeds", as on Linux).
    answered: bool,
}

/// How a socket's end of a connection closes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Close {
    /// Orderly close (TCP FIN): the peer reads to end of file; a TCP peer's next write is
    /// discarded and the one after fails with `EPIPE`, a Unix peer's fails at once.
    Orderly,
    /// Abortive close (TCP RST: unread data, `SO_LINGER` 0, a connection never accepted): the
    /// peer reads what was sent, then `ECONNRESET`, then end of file; its writes fail.
    Abort,
}

/// A connected socket's two channels.
#[derive(Clone)]
pub(crate) struct Endpoint {
    pub rx: Arc<Channel>,
    pub tx: Arc<Channel>,
}

/// A new connection between sockets with events `a` and `b`: (`a`'s end, `b`'s end).
pub(crate) fn connection(a: &Arc<Events>, b: &Arc<Events>) -> (Endpoint, Endpoint) {
    let a_to_b = Arc::new(Channel::new(b.clone(), a.clone()));
    let b_to_a = Arc::new(Channel::new(a.clone(), b.clone()));
    (
        Endpoint {
            rx: b_to_a.clone(),
            tx: a_to_b.clone(),
        },
        Endpoint {
            rx: a_to_b,
            tx: b_to_a,
        },
    )
}

/// What a read found.
pub(crate) enum ReadOutcome {
    /// Bytes copied (0: end of file).
    Done(usize),
    /// Nothing yet.
    Empty,
}

impl Channel {
    fn new(reader: Arc<Events>, writer: Arc<Events>) -> Channel {
        Channel {
            state: Mutex::new(ChannelState::default()),
            reader,
            writer,
        }
    }

    fn notify_both(&self) {
        self.reader.notify();
        self.writer.notify();
    }

    /// Reads (or, with `peek`, copies without consuming) into `buf`, for the reading socket,
    /// which has shut down reading if `shut`.
    pub(crate) fn read(&self, buf: &mut [u8], peek: bool, shut: bool) -> Result<ReadOutcome> {
        let mut st = self.state.lock();
        if !st.data.is_empty() {
            let n = buf.len().min(st.data.len());
            let (a, b) = st.data.as_slices();
            let from_a = n.min(a.len());
            buf[..from_a].copy_from_slice(&a[..from_a]);
            buf[from_a..n].copy_from_slice(&b[..n - from_a]);
            if !peek {
                st.data.drain(..n);
                if st.data.is_empty() {
                    // Give the memory back when drained (connections may idle for long).
                    st.data = VecDeque::new();
                }
                drop(st);
                self.writer.notify();
            }
            return Ok(ReadOutcome::Done(n));
        }
        if st.fin {
            return Ok(ReadOutcome::Done(0));
        }
        if let Some(e) = st.error.take() {
            return Err(e);
        }
        if st.reset || shut {
            return Ok(ReadOutcome::Done(0));
        }
        Ok(ReadOutcome::Empty)
    }

    /// Bytes waiting to be read.
    pub(crate) fn available(&self) -> usize {
        self.state.lock().data.len()
    }

    /// Readable: data, end of file, or an error to report.
    pub(crate) fn readable(&self, shut: bool) -> bool {
        let st = self.state.lock();
        !st.data.is_empty() || st.fin || st.reset || st.error.is_some() || shut
    }

    /// The writer sends no more: end of file (orderly or after a reset) comes after the data.
    pub(crate) fn write_closed(&self) -> bool {
        let st = self.state.lock();
        st.fin || st.reset
    }

    /// The reader closed or shut down reading: nothing written is read any more.
    pub(crate) fn reader_gone(&self) -> bool {
        self.state.lock().reader_gone
    }

    /// The connection was reset (aborted by the writer).
    pub(crate) fn is_reset(&self) -> bool {
        self.state.lock().reset
    }

    /// Writable: room, or a write would fail at once.
    pub(crate) fn writable(&self) -> bool {
        let st = self.state.lock();
        st.reader_gone || STREAM_CAPACITY - st.data.len() >= WRITABLE_ROOM
    }

    /// The reading socket's pending error, taken.
    pub(crate) fn take_error(&self) -> Option<Errno> {
        self.state.lock().error.take()
    }

    pub(crate) fn has_error(&self) -> bool {
        self.state.lock().error.is_some()
    }

    /// Puts as much of `data` as fits; `Ok(0)` means no room now. `tcp` selects TCP's answer
    /// to writing after the peer closed; `rx` is the writer's own receiving channel (where
    /// that answer lands as a pending `EPIPE`).
    pub(crate) fn write(&self, data: &[u8], tcp: bool, rx: &Channel) -> Result<usize> {
        let mut st = self.state.lock();
        if st.reader_gone {
            if tcp && !st.answered {
                // The data leaves; the closed peer answers with a reset, which makes the
                // writer's later writes (and SO_ERROR) report EPIPE.
                st.answered = true;
                drop(st);
                rx.state.lock().error.get_or_insert(Errno::EPIPE);
                self.writer.notify();
                return Ok(data.len());
            }
            return Err(Errno::EPIPE);
        }
        let room = STREAM_CAPACITY - st.data.len();
        let n = room.min(data.len());
        if n == 0 {
            return Ok(0);
        }
        if st.data.try_reserve(n).is_err() {
            return Err(Errno::ENOBUFS);
        }
        st.data.extend(&data[..n]);
        drop(st);
        self.reader.notify();
        Ok(n)
    }

    /// The writer sends no more: the reader gets end of file after the data.
    pub(crate) fn finish(&self) {
        self.state.lock().fin = true;
        self.notify_both();
    }

    /// The reader shuts down reading (Unix sockets): the peer's writes fail with `EPIPE`;
    /// what is buffered can still be read.
    pub(crate) fn refuse_writes(&self) {
        {
            let mut st = self.state.lock();
            st.reader_gone = true;
            st.answered = true;
        }
        self.notify_both();
    }

    /// Whether the reader left data unread.
    pub(crate) fn has_unread(&self) -> bool {
        !self.state.lock().data.is_empty()
    }
}

impl Endpoint {
    /// Closes this end: `rx` stops reading, `tx` ends orderly or aborts. `tcp`: TCP's
    /// semantics (the peer's next write after an orderly close is discarded, not refused).
    pub(crate) fn close(&self, how: Close, tcp: bool) {
        {
            let mut st = self.rx.state.lock();
            st.reader_gone = true;
            st.data = VecDeque::new();
            // After an abort (or on Unix sockets) the peer's writes fail at once.
            if how == Close::Abort || !tcp {
                st.answered = true;
            }
        }
        self.rx.notify_both();
        match how {
            Close::Orderly => self.tx.finish(),
            Close::Abort => {
                {
                    let mut st = self.tx.state.lock();
                    st.reset = true;
                    st.error = Some(Errno::ECONNRESET);
                }
                self.tx.notify_both();
            }
        }
    }
}
