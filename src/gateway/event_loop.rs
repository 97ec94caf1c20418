//! The gateway thread: one mio `Poll` over the listener and every client socket. Every
//! `push_interval` the shards are asked what changed; their answers are picked up on the turns
//! of the loop that follow, so the loop never waits for the engine.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};

use super::catalog_index::CatalogIndex;
use super::client::{Client, MAX_INPUT, Phase, ReadState};
use super::config::GatewayConfig;
use super::event_frames::{EventFrames, StreamKey};
use super::history::History;
use super::pull::EnginePull;
use super::slot_map::SlotMap;
use super::stats::{SharedStats, add, sub};

/// The listener's token; clients get 1, 2, ...
const LISTENER: Token = Token(0);
/// The token a shard's answer to a held pull wakes the loop with.
pub(super) const WAKE: Token = Token(usize::MAX);
/// Longest poll wait, so a stop request is seen promptly.
const MAX_WAIT: Duration = Duration::from_millis(50);
/// Shortest time between two pulls (what `push_interval = 0` means) and first wait for an
/// answer: the poll's resolution, so that awaiting the shards never spins.
const MIN_WAIT: Duration = Duration::from_millis(1);
/// Full input buffers one client gets answered per turn of the loop; a client with more
/// waiting is served again on the next turn, so one busy client cannot hold up the others.
const READS_PER_TURN: usize = 4;

/// Everything the gateway thread owns.
pub(super) struct EventLoop {
    pub(super) poll: Poll,
    pub(super) listener: TcpListener,
    pub(super) config: GatewayConfig,
    pub(super) clients: HashMap<usize, Client>,
    pub(super) next_token: usize,
    /// Clients with input left unread when their turn ended (readiness is edge-triggered, so
    /// no new event would come for it).
    pub(super) unfinished: Vec<usize>,
    /// Client tokens subscribed to each slot, per event format.
    pub(super) subscribers: SlotMap<StreamKey, Vec<usize>>,
    pub(super) index: CatalogIndex,
    pub(super) history: History,
    /// Closed klines from before this run, for REST.
    pub(super) store: Option<crate::store::KlineStore>,
    /// `None` once the engine is gone (REST and connections are still served).
    pub(super) pull: Option<EnginePull>,
    /// The event being fanned out (or sent as a snapshot), with its frames.
    pub(super) frames: EventFrames,
    pub(super) stats: Arc<SharedStats>,
    pub(super) stop: Arc<AtomicBool>,
    /// When the shards are next asked (without held pulls).
    pub(super) next_push: Instant,
    /// Readiness events, reused from turn to turn.
    pub(super) events: Events,
}

impl EventLoop {
    /// Runs until `stop` is set, then makes a final pull and closes every client: the gateway
    /// on a thread of its own, sleeping in its `Poll`.
    pub(super) fn run(mut self) {
        while !self.stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            self.pull_if_due(now);
            let wait = self.wait(now, self.next_push);
            self.turn(wait);
        }
        self.finish();
    }

    /// Asks the shards what changed when a push is due (always, with held pulls: a shard
    /// answers them only when it has news).
    pub(super) fn pull_if_due(&mut self, now: Instant) {
        let push_every = self.config.push_interval.max(MIN_WAIT);
        let held = self.pull.as_ref().is_some_and(EnginePull::held);
        if held || now >= self.next_push {
            self.request_pull(now);
            self.next_push = now + push_every;
        }
    }

    /// Polls up to `wait`, serves every ready client and the listener, and pushes every answer
    /// that has come; true if anything was served or pushed.
    pub(super) fn turn(&mut self, wait: Duration) -> bool {
        let served = self.serve_sockets(wait);
        self.collect_pulls() || served
    }

    /// Polls up to `wait` and serves every ready client and the listener; true if any was.
    pub(super) fn serve_sockets(&mut self, wait: Duration) -> bool {
        let mut events = std::mem::replace(&mut self.events, Events::with_capacity(0));
        let served = self.serve_events(&mut events, wait);
        self.events = events;
        served
    }

    fn serve_events(&mut self, events: &mut Events, wait: Duration) -> bool {
        if let Err(e) = self.poll.poll(events, Some(wait)) {
            if e.kind() != io::ErrorKind::Interrupted {
                log::error!("gateway: poll failed: {e}");
                std::thread::sleep(Duration::from_millis(10));
            }
            return false;
        }
        let mut worked = !self.unfinished.is_empty();
        for token in std::mem::take(&mut self.unfinished) {
            self.serve(token, true, false);
        }
        for event in events.iter() {
            if event.token() == WAKE {
                continue;
            }
            worked = true;
            if event.token() == LISTENER {
                self.accept();
            } else {
                self.serve(event.token().0, event.is_readable(), event.is_writable());
            }
        }
        worked
    }

    /// How long the next poll may sleep: until the next push (at least 1 ms away, as the loop
    /// just pushed if one was due) and, while an answer is awaited, no longer than it has been
    /// awaited (1 ms, then 1, 2, 4 ms...), so an answer is picked up within a few milliseconds
    /// of its arrival however long the shard took.
    pub(super) fn wait(&self, now: Instant, next_push: Instant) -> Duration {
        if !self.unfinished.is_empty() {
            return Duration::ZERO;
        }
        let mut wait = next_push.saturating_duration_since(now).min(MAX_WAIT);
        if self.pull.as_ref().is_some_and(EnginePull::held) {
            // An answer wakes the loop.
            return MAX_WAIT;
        }
        if let Some(since) = self.pull.as_ref().and_then(EnginePull::waiting_since) {
            wait = wait.min(now.saturating_duration_since(since).max(MIN_WAIT));
        }
        wait
    }

    /// Accepts every waiting connection, closing those past `max_clients`.
    fn accept(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((mut stream, _)) => {
                    if self.clients.len() >= self.config.max_clients {
                        add(&self.stats.clients_rejected, 1);
                        continue;
                    }
                    let token = self.next_token;
                    self.next_token += 1;
                    let _ = stream.set_nodelay(true);
                    let interest = Interest::READABLE | Interest::WRITABLE;
                    if let Err(e) =
                        self.poll
                            .registry()
                            .register(&mut stream, Token(token), interest)
                    {
                        log::warn!("gateway: cannot register a client: {e}");
                        continue;
                    }
                    self.clients.insert(token, Client::new(stream));
                    add(&self.stats.clients_accepted, 1);
                    add(&self.stats.clients, 1);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    log::warn!("gateway: accept failed: {e}");
                    return;
                }
            }
        }
    }

    /// Handles readiness of one client.
    fn serve(&mut self, token: usize, readable: bool, writable: bool) {
        let Some(mut client) = self.clients.remove(&token) else {
            return;
        };
        let mut open = true;
        let mut error = false;
        let mut reads = 0;
        while readable && !client.closing && !client.slow {
            let state = match client.read_available() {
                Ok(state) => state,
                Err(_) => {
                    error = true;
                    open = false;
                    break;
                }
            };
            self.handle_input(token, &mut client);
            reads += 1;
            match state {
                ReadState::Drained => break,
                ReadState::Closed => {
                    open = false;
                    break;
                }
                // A whole buffer and not one complete request or frame in it.
                ReadState::Full if client.input.len() >= MAX_INPUT => {
                    client.protocol_error = true;
                    open = false;
                    break;
                }
                ReadState::Full if reads == READS_PER_TURN => {
                    self.unfinished.push(token);
                    break;
                }
                ReadState::Full => {}
            }
        }
        // A peer that shut its side down may still read what it asked for.
        if !error && !client.slow && (writable || client.pending() > 0) {
            match client.flush() {
                Ok(n) => add(&self.stats.bytes_sent, n as u64),
                Err(_) if open => {
                    error = true;
                    open = false;
                }
                // The peer had closed: that, not the failed write, is why it goes.
                Err(_) => {}
            }
        }
        if open && !client.slow && !client.finished() {
            self.clients.insert(token, client);
        } else {
            self.forget(token, client, error);
        }
    }

    /// Consumes complete requests or frames from a client's input, as long as the answers stay
    /// within the client's write-buffer bound.
    fn handle_input(&mut self, token: usize, client: &mut Client) {
        loop {
            if client.closing {
                client.input.clear();
                return;
            }
            let progressed = match client.phase {
                Phase::Http => self.handle_http(token, client),
                Phase::WebSocket(_) => self.handle_frame(token, client),
            };
            let written = client.enforce_bound(self.config.max_write_buffer);
            add(&self.stats.bytes_sent, written as u64);
            if client.slow {
                client.input.clear();
                return;
            }
            if !progressed {
                return;
            }
        }
    }

    /// Closes a client that is no longer in `clients`, removes its subscriptions and counts
    /// why it went (`error`: a socket error).
    pub(super) fn forget(&mut self, token: usize, mut client: Client, error: bool) {
        let _ = self.poll.registry().deregister(&mut client.stream);
        for (_, key) in &client.streams {
            if let Some(tokens) = self.subscribers.get_mut(key) {
                tokens.retain(|t| *t != token);
            }
        }
        let stats = &self.stats;
        sub(&stats.subscriptions, client.streams.len() as u64);
        if matches!(client.phase, Phase::WebSocket(_)) {
            sub(&stats.ws_clients, 1);
        }
        sub(&stats.clients, 1);
        let cause = if client.slow {
            &stats.clients_dropped_slow
        } else if client.protocol_error {
            &stats.clients_dropped_protocol
        } else if error {
            &stats.clients_dropped_error
        } else {
            &stats.clients_closed
        };
        add(cause, 1);
    }
}
