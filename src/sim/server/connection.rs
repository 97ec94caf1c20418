//! One WebSocket connection, served by its own thread until the client leaves, a rule or a
//! fault ends it, or the server stops.
//!
//! The socket is non-blocking and the thread waits on the connection's send queue with a
//! short timeout ([`POLL`]): a published frame wakes it at once and goes out within
//! microseconds, while client messages, pings and faults are looked at every [`POLL`]. That
//! interleaves reading and writing on one thread without spinning and without a second thread
//! writing to the same WebSocket.

use std::io::ErrorKind;
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use tungstenite::protocol::CloseFrame;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Bytes, Error, Message, WebSocket};

use super::fault_clock::{FaultClock, Stall};
use super::fault_turns::Order;
use super::garbage::{garbage_frame, oversized_frame};
use super::hub::{Hub, wall_clock_ms};
use super::rate_limit::RateLimit;
use super::requests;
use super::routes::{Outbox, Outgoing};
use super::stats::Counters;
use super::subscriptions::Subscriptions;
use super::symbols::StreamId;
use super::written::WriteKey;
use super::ws_path::Route;

/// Longest wait before client messages, timers and the stop flag are looked at again.
pub(crate) const POLL: Duration = Duration::from_millis(2);
/// Pause while the socket cannot take more bytes (the client is not reading).
const WRITE_BLOCKED_PAUSE: Duration = Duration::from_millis(1);
/// Frames written between two looks at the client and the clock.
const BATCH: usize = 256;
/// Client messages read at one look; the rate limit ends a flood long before this matters.
const READS_PER_LOOK: usize = 64;
/// How long a closing connection waits for the client's close reply.
const CLOSE_LINGER: Duration = Duration::from_millis(50);

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The server is stopping.
    Stopped,
    /// The client closed or the socket failed.
    Client,
    /// The `drop_every` fault.
    Fault,
    /// No pong within the pong timeout.
    NoPong,
    /// The maximum connection age.
    Age,
    /// Too many client messages per second.
    RateLimit,
    /// The send queue or the socket buffer overflowed.
    Slow,
}

/// Serves an accepted WebSocket (non-blocking socket) until it ends.
pub(crate) fn serve(hub: Arc<Hub>, ws: WebSocket<TcpStream>, route: Route) {
    let (sender, queue) = crossbeam_channel::bounded(hub.config.send_queue.max(1));
    let id = hub.connection_id();
    let outbox = Arc::new(Outbox::new(id, route.form, sender));
    hub.routes.open(&outbox);
    if let Some(turns) = &hub.fault_turns {
        turns.opened(id);
    }
    let mut subscriptions = Subscriptions::new(Arc::clone(&hub), Arc::clone(&outbox));
    // The URL's streams were checked against the limit when the path was routed.
    let _ = subscriptions.subscribe(&route.streams);
    let now = Instant::now();
    let mut connection = Connection {
        faults: FaultClock::new(&hub.config.faults, now, id),
        rate: RateLimit::new(hub.config.max_incoming_per_s),
        next_ping: now + hub.config.ping_every,
        hub,
        ws,
        queue,
        unstamped: Vec::new(),
        outbox,
        subscriptions,
        opened: now,
        awaiting_pong: None,
        next_read: now,
        next_turn_check: now,
        data_frames: 0,
        garbage_frames: 0,
    };
    let counters = &connection.hub.counters;
    Counters::bump(&counters.connections_accepted);
    Counters::bump(&counters.connections_open);
    let end = connection.run();
    connection.finish(end);
}

struct Connection {
    hub: Arc<Hub>,
    ws: WebSocket<TcpStream>,
    queue: Receiver<Outgoing>,
    /// Trades whose frames were written but not yet flushed, stamped once they are.
    unstamped: Vec<WriteKey>,
    outbox: Arc<Outbox>,
    subscriptions: Subscriptions,
    rate: RateLimit,
    faults: FaultClock,
    opened: Instant,
    next_ping: Instant,
    /// When the oldest unanswered ping was sent.
    awaiting_pong: Option<Instant>,
    next_read: Instant,
    /// When the server's fault schedule is next asked for an order (faults taken in turns).
    next_turn_check: Instant,
    data_frames: u64,
    garbage_frames: u64,
}

impl Connection {
    fn run(&mut self) -> End {
        loop {
            if let Err(end) = self.step() {
                return end;
            }
        }
    }

    /// One look at everything, then a bounded wait for the next frame.
    fn step(&mut self) -> Result<(), End> {
        if self.hub.is_stopping() {
            return Err(End::Stopped);
        }
        if self.outbox.is_too_slow() {
            return Err(End::Slow);
        }
        let now = Instant::now();
        self.check_deadlines(now)?;
        let until = match self.faults.stall(now) {
            Stall::No => None,
            Stall::Began(until) => {
                Counters::bump(&self.hub.counters.stalls);
                Some(until)
            }
            Stall::Until(until) => Some(until),
        };
        if let Some(until) = until {
            // Nothing is read, written or answered; frames wait in the queue.
            thread::sleep(until.saturating_duration_since(now).min(POLL));
            return Ok(());
        }
        if now >= self.next_read {
            self.next_read = now + POLL;
            self.read_client(now)?;
        }
        if self
            .awaiting_pong
            .is_some_and(|since| now.duration_since(since) >= self.hub.config.pong_timeout)
        {
            return Err(End::NoPong);
        }
        self.send_due(now)?;
        if self.flush()? {
            thread::sleep(WRITE_BLOCKED_PAUSE);
            return Ok(());
        }
        if self.drain()? > 0 {
            return Ok(());
        }
        let wait = self
            .next_read
            .saturating_duration_since(now)
            .clamp(Duration::from_micros(100), POLL);
        match self.queue.recv_timeout(wait) {
            Ok(frame) => {
                self.write_data(frame)?;
                self.flush().map(|_| ())
            }
            Err(RecvTimeoutError::Timeout) => Ok(()),
            // Unreachable while the outbox (holding the sender) lives.
            Err(RecvTimeoutError::Disconnected) => Err(End::Stopped),
        }
    }

    fn check_deadlines(&mut self, now: Instant) -> Result<(), End> {
        if self.faults.drop_due(now) || self.outbox.drop_requested() {
            return Err(End::Fault);
        }
        if let Some(turns) = &self.hub.fault_turns
            && now >= self.next_turn_check
        {
            self.next_turn_check = now + POLL;
            match turns.order_for(self.outbox.connection, now) {
                Some(Order::Drop) => return Err(End::Fault),
                Some(Order::Stall(until)) => self.faults.stall_until(until),
                None => {}
            }
        }
        match self.hub.config.max_connection_age {
            Some(age) if now.duration_since(self.opened) >= age => Err(End::Age),
            _ => Ok(()),
        }
    }

    /// Reads what the client sent (non-blocking) and answers it.
    fn read_client(&mut self, now: Instant) -> Result<(), End> {
        for _ in 0..READS_PER_LOOK {
            match self.ws.read() {
                Ok(message) => self.on_message(message, now)?,
                Err(Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(_) => return Err(End::Client),
            }
        }
        Ok(())
    }

    fn on_message(&mut self, message: Message, now: Instant) -> Result<(), End> {
        match message {
            // tungstenite has queued the close reply; `finish` flushes it.
            Message::Close(_) => return Err(End::Client),
            Message::Frame(_) => return Ok(()),
            _ => {}
        }
        if !self.rate.admit(now) {
            return Err(End::RateLimit);
        }
        match message {
            Message::Text(text) => {
                let reply =
                    requests::handle(text.as_str(), &mut self.subscriptions, &self.hub.symbols);
                if reply.was_subscribe {
                    Counters::bump(&self.hub.counters.subscribe_requests);
                }
                if reply.is_error {
                    Counters::bump(&self.hub.counters.error_replies);
                }
                self.write(Message::text(reply.text))
            }
            Message::Pong(_) => {
                Counters::bump(&self.hub.counters.pongs_received);
                self.awaiting_pong = None;
                Ok(())
            }
            // Pings are answered by tungstenite on the next flush; binary requests are ignored.
            _ => Ok(()),
        }
    }

    /// Sends what is due by the clock: a ping, garbage, an oversized frame. Each is counted
    /// before it is written, so whoever sees the frame also sees the count.
    fn send_due(&mut self, now: Instant) -> Result<(), End> {
        if now >= self.next_ping {
            self.next_ping = now + self.hub.config.ping_every;
            Counters::bump(&self.hub.counters.pings_sent);
            self.write(Message::Ping(Bytes::new()))?;
            self.awaiting_pong.get_or_insert(now);
        }
        for _ in 0..self.faults.garbage_due(now) {
            let symbol = self
                .subscriptions
                .streams()
                .iter()
                .find_map(|stream| match stream {
                    StreamId::AggTrade(index) => self.hub.symbols.get(*index),
                    StreamId::MiniTickers => None,
                });
            let symbol = symbol.or_else(|| self.hub.symbols.get(0));
            let frame = garbage_frame(
                self.garbage_frames,
                self.outbox.form,
                symbol,
                wall_clock_ms(),
            );
            self.garbage_frames += 1;
            Counters::bump(&self.hub.counters.garbage_sent);
            self.write(frame)?;
        }
        if self.faults.oversized_due(now) {
            Counters::bump(&self.hub.counters.oversized_sent);
            self.write(oversized_frame())?;
        }
        Ok(())
    }

    /// Writes up to [`BATCH`] queued frames and flushes; returns how many.
    fn drain(&mut self) -> Result<usize, End> {
        let mut written = 0;
        while written < BATCH {
            let Ok(frame) = self.queue.try_recv() else {
                break;
            };
            self.write_data(frame)?;
            written += 1;
        }
        if written > 0 {
            self.flush()?;
        }
        Ok(written)
    }

    /// Writes a data frame, twice when the duplicate fault says so.
    fn write_data(&mut self, outgoing: Outgoing) -> Result<(), End> {
        let Outgoing {
            message: frame,
            stamp,
        } = outgoing;
        if let Some(key) = stamp {
            self.unstamped.push(key);
        }
        self.data_frames += 1;
        let every = u64::from(self.hub.config.faults.duplicate_every);
        if every > 0 && self.data_frames.is_multiple_of(every) {
            Counters::bump(&self.hub.counters.duplicates_sent);
            Counters::bump(&self.hub.counters.frames_sent);
            self.write(frame.clone())?;
        }
        Counters::bump(&self.hub.counters.frames_sent);
        self.write(frame)
    }

    /// Queues a message on the WebSocket; bytes the socket cannot take yet stay buffered.
    fn write(&mut self, message: Message) -> Result<(), End> {
        match self.ws.write(message) {
            Ok(()) => Ok(()),
            Err(Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => Ok(()),
            Err(Error::WriteBufferFull(_)) => {
                self.outbox.mark_too_slow();
                Err(End::Slow)
            }
            Err(_) => Err(End::Client),
        }
    }

    /// Pushes buffered bytes to the socket; true while the socket cannot take them all. Once
    /// it took them, the trades they carry are stamped as written.
    fn flush(&mut self) -> Result<bool, End> {
        match self.ws.flush() {
            Ok(()) => {
                if !self.unstamped.is_empty() {
                    if let Some(written) = self.hub.written.get() {
                        written.written(&self.unstamped);
                    }
                    self.unstamped.clear();
                }
                Ok(false)
            }
            Err(Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => Ok(true),
            Err(_) => Err(End::Client),
        }
    }

    /// Counts the end and closes the connection the way it ended.
    fn finish(mut self, end: End) {
        let counters = &self.hub.counters;
        let close = match end {
            End::Stopped => Some((CloseCode::Away, "server stopping")),
            End::Client => {
                Counters::bump(&counters.disconnects_client);
                // Sends the close reply tungstenite queued, if the client sent a close frame.
                let _ = self.ws.flush();
                None
            }
            End::Fault => {
                Counters::bump(&counters.disconnects_by_fault);
                self.hub
                    .config
                    .faults
                    .drop_with_close_frame
                    .then_some((CloseCode::Away, "simulated drop"))
            }
            End::NoPong => {
                Counters::bump(&counters.disconnects_no_pong);
                Some((CloseCode::Policy, "no pong"))
            }
            End::Age => {
                Counters::bump(&counters.disconnects_age);
                Some((CloseCode::Normal, "connection age limit"))
            }
            End::RateLimit => {
                Counters::bump(&counters.disconnects_rate_limit);
                Some((CloseCode::Policy, "too many messages"))
            }
            End::Slow => {
                Counters::bump(&counters.disconnects_slow);
                // Its frames from here on are lost to it: a client must hear of that.
                log::warn!(
                    "sim: connection {} dropped as too slow: its send queue ({} frames) or \
                     socket buffer filled ({} frames sent to it)",
                    self.outbox.connection,
                    self.hub.config.send_queue,
                    self.data_frames
                );
                None
            }
        };
        if let Some((code, reason)) = close {
            self.close_gracefully(code, reason);
        }
        let _ = self.ws.get_ref().shutdown(Shutdown::Both);
        self.hub.routes.close(self.outbox.connection);
        if let Some(turns) = &self.hub.fault_turns {
            turns.closed(self.outbox.connection);
        }
        self.hub
            .counters
            .connections_open
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Sends a close frame and gives the client a moment to answer it, so it reads the frame
    /// rather than a reset.
    fn close_gracefully(&mut self, code: CloseCode, reason: &'static str) {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        // Queues the frame and tries to send it; the loop below finishes the job.
        let _ = self.ws.close(Some(frame));
        let deadline = Instant::now() + CLOSE_LINGER;
        while Instant::now() < deadline {
            match self.ws.flush() {
                Ok(()) => {}
                Err(Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => {}
                // The client answered the close (or the socket failed): done.
                Err(_) => return,
            }
            match self.ws.read() {
                Ok(_) => {}
                Err(Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => thread::sleep(POLL),
                Err(_) => return,
            }
        }
    }
}
