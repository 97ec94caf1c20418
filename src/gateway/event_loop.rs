//! The gateway thread: one mio `Poll` over the listener and every client socket, with a delta
//! pull and push every `push_interval` in between.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};

use super::catalog_index::CatalogIndex;
use super::client::{Client, Phase};
use super::config::GatewayConfig;
use super::history::{History, SlotKey};
use super::stats::{SharedStats, add, sub};
use crate::pipeline::EngineConsumer;

/// The listener's token; clients get 1, 2, ...
const LISTENER: Token = Token(0);
/// Longest poll wait, so a stop request is seen promptly.
const MAX_WAIT: Duration = Duration::from_millis(50);

/// Everything the gateway thread owns.
pub(super) struct EventLoop {
    pub(super) poll: Poll,
    pub(super) listener: TcpListener,
    pub(super) config: GatewayConfig,
    pub(super) clients: HashMap<usize, Client>,
    pub(super) next_token: usize,
    /// Client tokens subscribed to each slot.
    pub(super) subscribers: HashMap<SlotKey, Vec<usize>>,
    pub(super) index: CatalogIndex,
    pub(super) history: History,
    /// Closed klines from before this run, for REST.
    pub(super) store: Option<crate::store::KlineStore>,
    /// `None` once the engine is gone (REST and connections are still served).
    pub(super) consumer: Option<EngineConsumer>,
    pub(super) stats: Arc<SharedStats>,
    pub(super) stop: Arc<AtomicBool>,
}

impl EventLoop {
    /// Runs until `stop` is set.
    pub(super) fn run(mut self) {
        let mut events = Events::with_capacity(1024);
        let mut next_push = Instant::now();
        while !self.stop.load(Ordering::Relaxed) {
            if Instant::now() >= next_push {
                self.push();
                next_push = Instant::now() + self.config.push_interval;
            }
            let wait = next_push
                .saturating_duration_since(Instant::now())
                .min(MAX_WAIT);
            if let Err(e) = self.poll.poll(&mut events, Some(wait)) {
                if e.kind() != io::ErrorKind::Interrupted {
                    log::error!("gateway: poll failed: {e}");
                    std::thread::sleep(Duration::from_millis(10));
                }
                continue;
            }
            for event in &events {
                if event.token() == LISTENER {
                    self.accept();
                } else {
                    self.serve(event.token().0, event.is_readable(), event.is_writable());
                }
            }
        }
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
        let mut alive = true;
        if readable && !client.closing {
            match client.read_available() {
                Ok(open) => {
                    self.handle_input(token, &mut client);
                    alive = open;
                }
                Err(_) => alive = false,
            }
        }
        if alive && (writable || client.pending() > 0) {
            alive = client.flush().is_ok();
        }
        if alive && !client.finished() {
            self.clients.insert(token, client);
        } else {
            self.forget(token, client);
        }
    }

    /// Consumes complete requests or frames from a client's input.
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
            if !progressed {
                return;
            }
        }
    }

    /// Closes a client that is no longer in `clients` and removes its subscriptions.
    pub(super) fn forget(&mut self, token: usize, mut client: Client) {
        let _ = self.poll.registry().deregister(&mut client.stream);
        for (_, key) in &client.streams {
            if let Some(tokens) = self.subscribers.get_mut(key) {
                tokens.retain(|t| *t != token);
            }
        }
        sub(&self.stats.clients);
    }
}
