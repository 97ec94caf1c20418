//! One Binance market-stream connection over its whole life: connect, stream, reconnect with
//! backoff, forever. It is a state machine the owning thread steps: [`StreamConnection::step`]
//! does what is due (read frames, periodic work, start or finish a dial) and returns, so one
//! thread can run several connections beside shards and consumers; [`StreamConnection::run`]
//! steps it alone on the calling thread, sleeping in its blocking read.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use mio::{Registry, Token};

use super::backoff::Backoff;
use super::dial::PendingDial;
use super::dialer::{Dialer, Socket};
use super::handler::{ConnectionEvent, DisconnectCause, FrameHandler};
use super::live::Live;
use super::options::ConnectionOptions;
use super::rate_limit::RateLimit;
use super::readiness::{Notify, Readiness};
use super::reply::{Reply, looks_like_reply, parse_reply};
use super::stats::ConnectionStats;
use super::subscriptions::{SubscriptionRequests, Subscriptions};
use super::url::stream_url;

/// What one [`StreamConnection::step`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// This many messages were read (data frames, pings, pongs); more may be waiting.
    Read(usize),
    /// Nothing arrived: waiting for data, a dial or the end of a backoff.
    Idle,
    /// The connection has stopped (the stop flag or the handler); it will do nothing more.
    Stopped,
}

/// Where a connection is in its life.
enum State {
    /// Waiting until then before the next connect attempt (the first one at once).
    Backoff(Instant),
    /// A helper thread is opening the socket.
    Dialing(PendingDial),
    /// Streaming.
    Live(Box<Live>),
    /// Stopped for good.
    Stopped,
}

/// One market-stream connection: a socket (two during a rotation), its subscriptions, its
/// reconnect policy and its counters.
pub struct StreamConnection {
    pub(super) base_url: String,
    pub(super) options: ConnectionOptions,
    pub(super) dialer: Dialer,
    pub(super) subscriptions: Subscriptions,
    pub(super) requests: SubscriptionRequests,
    pub(super) limit: RateLimit,
    pub(super) backoff: Backoff,
    pub(super) rotation_backoff: Backoff,
    pub(super) stats: ConnectionStats,
    /// Origin of the timestamps carried in our ping payloads (for the round-trip time).
    pub(super) epoch: Instant,
    pub(super) readiness: Readiness,
    state: State,
    /// Tries since the last socket ended (1 = the first try).
    attempt: u32,
}

impl StreamConnection {
    /// `base_url` e.g. `wss://fstream.binance.com/market/stream` (combined-stream endpoint);
    /// `streams` e.g. `btcusdt@aggTrade`. The URL is `base_url?streams=a/b/c` with as many streams
    /// as fit a bounded URL length (~ 8 KiB), the rest are sent with SUBSCRIBE after connect.
    /// Its sockets block in their reads until [`StreamConnection::register`] says otherwise.
    pub fn new(
        base_url: &str,
        streams: Vec<String>,
        options: ConnectionOptions,
    ) -> StreamConnection {
        let backoff = Backoff::new(
            options.backoff_min,
            options.backoff_max,
            options.stable_after,
        );
        StreamConnection {
            base_url: base_url.to_string(),
            dialer: Dialer::new(&options),
            subscriptions: Subscriptions::new(streams),
            requests: SubscriptionRequests::default(),
            limit: RateLimit::new(options.subscribe_per_s),
            rotation_backoff: backoff.clone(),
            backoff,
            stats: ConnectionStats::default(),
            epoch: Instant::now(),
            options,
            readiness: Readiness::Blocking,
            state: State::Backoff(Instant::now()),
            attempt: 0,
        }
    }

    /// Makes every socket of this connection non-blocking and registered with `registry` under
    /// `token`, for a thread that sleeps in that registry's `Poll`; `notify` must wake that
    /// thread (a helper thread calls it when a dial or rotation has finished). Call it before
    /// the first step.
    ///
    /// # Errors
    ///
    /// The registry cannot be cloned.
    pub fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        notify: Notify,
    ) -> std::io::Result<()> {
        self.readiness = Readiness::Polled {
            registry: registry.try_clone()?,
            token,
            notify,
        };
        Ok(())
    }

    /// Connects (and reconnects, with exponential backoff + jitter from backoff_min up to
    /// backoff_max, reset after stable_after or after a connection that outlived its delay ten
    /// times over), reads frames and calls the handler until the handler returns Stop or `stop`
    /// is set, on the calling thread; checks `stop` at least every read tick.
    pub fn run(&mut self, handler: &mut impl FrameHandler, stop: &AtomicBool) {
        while self.step(handler, stop) != Step::Stopped {}
    }

    /// Does what is due and returns: reads what has arrived (a blocking socket waits up to a
    /// read tick for one message; a registered one reads what is there, at most a batch), then
    /// the periodic work (liveness, pings, subscriptions, rotation); or starts, finishes or
    /// waits for a dial. Without a registry every wait here is bounded by the read tick; with
    /// one nothing waits, and the owning thread sleeps in its `Poll` until
    /// [`StreamConnection::wake_at`] at the latest.
    pub fn step(&mut self, handler: &mut impl FrameHandler, stop: &AtomicBool) -> Step {
        let state = std::mem::replace(&mut self.state, State::Stopped);
        if stop.load(Ordering::Relaxed) {
            if let State::Live(mut live) = state {
                let cause = live.close();
                self.end_socket(&mut live, cause, handler);
            }
            return Step::Stopped;
        }
        let (state, step) = match state {
            State::Stopped => (State::Stopped, Step::Stopped),
            State::Backoff(until) => (self.await_backoff(until, handler), Step::Idle),
            State::Dialing(dial) => (self.await_dial(dial, handler), Step::Idle),
            State::Live(mut live) => match self.drive(&mut live, handler) {
                Ok(read) => (State::Live(live), Step::Read(read)),
                Err(DisconnectCause::Stopped) => {
                    self.end_socket(&mut live, DisconnectCause::Stopped, handler);
                    (State::Stopped, Step::Stopped)
                }
                Err(cause) => {
                    self.end_socket(&mut live, cause, handler);
                    (self.schedule_reconnect(handler), Step::Idle)
                }
            },
        };
        self.state = state;
        step
    }

    /// The latest time the owning thread should step this connection again when nothing
    /// arrives: the end of a backoff, or a read tick from now (liveness and pings).
    pub fn wake_at(&self, now: Instant) -> Instant {
        match &self.state {
            State::Backoff(until) => (*until).min(now + self.options.tick()),
            _ => now + self.options.tick(),
        }
    }

    /// Waits (blocking mode: up to a read tick) for the backoff to end, then starts a dial.
    fn await_backoff(&mut self, until: Instant, handler: &mut impl FrameHandler) -> State {
        let now = Instant::now();
        if now < until {
            if !self.readiness.is_polled() {
                thread::sleep((until - now).min(self.options.tick()));
            }
            return State::Backoff(until);
        }
        self.attempt += 1;
        let (url, in_url) = stream_url(&self.base_url, self.subscriptions.streams());
        match PendingDial::start(self.dialer.clone(), url, in_url, self.readiness.notify()) {
            Ok(dial) => State::Dialing(dial),
            Err(error) => self.connect_failed(error, handler),
        }
    }

    /// Takes the dial's socket once it is open (blocking mode: waits up to a read tick).
    fn await_dial(&mut self, dial: PendingDial, handler: &mut impl FrameHandler) -> State {
        let wait = if self.readiness.is_polled() {
            Duration::ZERO
        } else {
            self.options.tick()
        };
        match dial.poll(wait) {
            None => State::Dialing(dial),
            Some(Err(error)) => self.connect_failed(error, handler),
            Some(Ok(mut socket)) => match self.readiness.adopt(&mut socket) {
                Ok(()) => self.connected(socket, dial, handler),
                Err(e) => self.connect_failed(format!("socket setup: {e}"), handler),
            },
        }
    }

    fn connect_failed(&mut self, error: String, handler: &mut impl FrameHandler) -> State {
        self.stats.connect_failures += 1;
        let attempt = self.attempt;
        log::warn!(
            "{}: connect attempt {attempt} failed: {error}",
            self.base_url
        );
        handler.on_event(&ConnectionEvent::ConnectFailed { attempt, error });
        self.schedule_reconnect(handler)
    }

    fn schedule_reconnect(&mut self, handler: &mut impl FrameHandler) -> State {
        let delay = self.backoff.next_delay(Instant::now());
        log::info!("{}: reconnecting in {delay:?}", self.base_url);
        handler.on_event(&ConnectionEvent::ReconnectScheduled { delay });
        State::Backoff(Instant::now() + delay)
    }

    /// A freshly connected socket starts streaming.
    fn connected(
        &mut self,
        socket: Socket,
        dial: PendingDial,
        handler: &mut impl FrameHandler,
    ) -> State {
        let now = Instant::now();
        let in_url = dial.in_url;
        let carried = self.subscriptions.streams()[..in_url].to_vec();
        self.subscriptions.reset_for(&carried);
        self.limit.clear();
        self.backoff.connected(now);
        self.stats.connects += 1;
        log::info!(
            "connected to {} with {in_url} streams in the url, {} to subscribe (attempt {})",
            self.base_url,
            self.subscriptions.streams().len() - in_url,
            self.attempt,
        );
        handler.on_event(&ConnectionEvent::Connected {
            url: dial.url.clone(),
            attempt: self.attempt,
        });
        self.attempt = 0;
        State::Live(Box::new(Live::new(
            socket,
            now,
            now,
            &self.options,
            self.readiness.is_polled(),
        )))
    }

    /// Counts and reports the end of a socket.
    fn end_socket(
        &mut self,
        live: &mut Live,
        cause: DisconnectCause,
        handler: &mut impl FrameHandler,
    ) {
        live.rotation = None;
        self.stats.disconnects.record(&cause);
        if cause == DisconnectCause::Stopped {
            log::info!("{}: stopped", self.base_url);
        } else {
            log::warn!("{}: disconnected: {cause}", self.base_url);
        }
        handler.on_event(&ConnectionEvent::Disconnected { cause });
    }

    /// Counters since `new`.
    pub fn stats(&self) -> &ConnectionStats {
        &self.stats
    }

    /// The streams this connection carries or has been asked to (subscribed set, updated as
    /// soon as the handler asks; rejected SUBSCRIBEs are removed).
    pub fn streams(&self) -> &[String] {
        self.subscriptions.streams()
    }

    /// A text frame: a subscription reply is matched and consumed, anything else goes to the
    /// handler untouched. The reply test reads the first key only (see `reply`).
    #[inline]
    pub(super) fn deliver_text(&mut self, payload: &[u8], handler: &mut impl FrameHandler) {
        if looks_like_reply(payload)
            && let Some(reply) = parse_reply(payload)
        {
            self.on_reply(reply, handler);
            return;
        }
        self.stats.text_frames += 1;
        self.stats.payload_bytes += payload.len() as u64;
        handler.on_text(payload);
    }

    /// A binary frame, straight to the handler.
    #[inline]
    pub(super) fn deliver_binary(&mut self, payload: &[u8], handler: &mut impl FrameHandler) {
        self.stats.binary_frames += 1;
        self.stats.payload_bytes += payload.len() as u64;
        handler.on_binary(payload);
    }

    fn on_reply(&mut self, reply: Reply, handler: &mut impl FrameHandler) {
        let event = self.subscriptions.on_reply(reply);
        self.count_reply(&event);
        handler.on_event(&event);
    }

    /// Counts and logs a reply event (also those a rotation helper saw).
    pub(super) fn count_reply(&mut self, event: &ConnectionEvent) {
        match event {
            ConnectionEvent::SubscribeAcked { id, streams }
            | ConnectionEvent::UnsubscribeAcked { id, streams } => {
                self.stats.replies_acked += 1;
                log::debug!("{}: request {id} ({streams} streams) acked", self.base_url);
            }
            ConnectionEvent::SubscribeFailed { id, code, msg } => {
                self.stats.replies_failed += 1;
                log::warn!("{}: request {id} rejected: {code} {msg}", self.base_url);
            }
            ConnectionEvent::UnmatchedReply { id } => {
                self.stats.replies_unmatched += 1;
                // The server decides how many of these come: log the 1st, 2nd, 4th, 8th...
                let count = self.stats.replies_unmatched;
                if count.is_power_of_two() {
                    log::warn!(
                        "{}: reply to no request in flight (id {id:?}, {count} so far)",
                        self.base_url
                    );
                }
            }
            _ => {}
        }
    }
}
