//! One Binance market-stream connection over its whole life: connect, stream, reconnect with
//! backoff, forever, on the calling (pinned, blocking) thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::backoff::Backoff;
use super::dialer::{Dialer, Socket};
use super::handler::{ConnectionEvent, DisconnectCause, FrameHandler};
use super::live::Live;
use super::options::ConnectionOptions;
use super::rate_limit::RateLimit;
use super::reply::{Reply, looks_like_reply, parse_reply};
use super::stats::ConnectionStats;
use super::subscriptions::{SubscriptionRequests, Subscriptions};
use super::url::stream_url;

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
}

impl StreamConnection {
    /// `base_url` e.g. `wss://fstream.binance.com/market/stream` (combined-stream endpoint);
    /// `streams` e.g. `btcusdt@aggTrade`. The URL is `base_url?streams=a/b/c` with as many streams
    /// as fit a bounded URL length (~ 8 KiB), the rest are sent with SUBSCRIBE after connect.
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
        }
    }

    /// Connects (and reconnects, with exponential backoff + jitter from backoff_min up to
    /// backoff_max, reset after stable_after or after a connection that outlived its delay ten
    /// times over), reads frames and calls the handler until the handler returns Stop or `stop`
    /// is set; checks `stop` at least every read_tick (a TCP connect in progress can hold it up
    /// to `connect_timeout`).
    pub fn run(&mut self, handler: &mut impl FrameHandler, stop: &AtomicBool) {
        // Tries since the last socket ended (1 = the first try).
        let mut attempt = 0;
        while !stop.load(Ordering::Relaxed) {
            attempt += 1;
            let (url, in_url) = stream_url(&self.base_url, self.subscriptions.streams());
            match self.dialer.dial(&url, stop) {
                Ok(socket) => {
                    let cause = self.stream(socket, url, in_url, attempt, handler, stop);
                    attempt = 0;
                    if cause == DisconnectCause::Stopped {
                        return;
                    }
                }
                Err(error) => {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    self.stats.connect_failures += 1;
                    log::warn!(
                        "{}: connect attempt {attempt} failed: {error}",
                        self.base_url
                    );
                    handler.on_event(&ConnectionEvent::ConnectFailed { attempt, error });
                }
            }
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let delay = self.backoff.next_delay(Instant::now());
            log::info!("{}: reconnecting in {delay:?}", self.base_url);
            handler.on_event(&ConnectionEvent::ReconnectScheduled { delay });
            self.sleep(delay, stop);
        }
    }

    /// Streams from a freshly connected socket until it ends; returns why it ended.
    fn stream(
        &mut self,
        socket: Socket,
        url: String,
        in_url: usize,
        attempt: u32,
        handler: &mut impl FrameHandler,
        stop: &AtomicBool,
    ) -> DisconnectCause {
        let now = Instant::now();
        let carried = self.subscriptions.streams()[..in_url].to_vec();
        self.subscriptions.reset_for(&carried);
        self.limit.clear();
        self.backoff.connected(now);
        self.stats.connects += 1;
        log::info!(
            "connected to {} with {in_url} streams in the url, {} to subscribe (attempt {attempt})",
            self.base_url,
            self.subscriptions.streams().len() - in_url,
        );
        handler.on_event(&ConnectionEvent::Connected { url, attempt });

        let mut live = Live::new(socket, now, now, &self.options);
        let cause = self.drive(&mut live, handler, stop);
        drop(live);
        self.stats.disconnects.record(&cause);
        if cause == DisconnectCause::Stopped {
            log::info!("{}: stopped", self.base_url);
        } else {
            log::warn!("{}: disconnected: {cause}", self.base_url);
        }
        handler.on_event(&ConnectionEvent::Disconnected {
            cause: cause.clone(),
        });
        cause
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

    /// Sleeps `delay` in read-tick slices so a stop request is seen promptly.
    fn sleep(&self, delay: Duration, stop: &AtomicBool) {
        let until = Instant::now() + delay;
        loop {
            let now = Instant::now();
            if now >= until || stop.load(Ordering::Relaxed) {
                return;
            }
            thread::sleep((until - now).min(self.options.tick()));
        }
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
