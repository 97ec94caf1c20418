//! Make-before-break rotation: a short-lived helper thread opens the replacement socket and
//! waits for its first data frame while the io thread keeps reading the old one at full speed.
//!
//! Why a helper thread rather than polling both sockets from the io thread: DNS, TCP, TLS and
//! WebSocket handshakes are blocking and take several round trips; done inline they would stall
//! the old connection's frames for that long. The helper runs once per `rotate_after` (23 h),
//! hands the ready socket over through a channel the io thread polls with one `try_recv` per
//! read, and ends. Streams that do not fit in the URL are subscribed by the helper too (within
//! the rate limit) and acknowledged before the handover, so the new socket carries every stream
//! from the moment the old one is closed.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, TryRecvError, bounded};

use super::dialer::{Dialer, Socket};
use super::handler::{ConnectionEvent, SubscriptionMethod};
use super::rate_limit::RateLimit;
use super::readiness::Notify;
use super::reply::{Reply, looks_like_reply, parse_reply};
use super::subscriptions::{MAX_STREAMS_PER_MESSAGE, request_text};
use super::ws_stream::{Incoming, write_outcome};

/// Data frames held at most while the helper waits for SUBSCRIBE acks; past this the socket is
/// handed over anyway (the io thread re-sends what is missing).
const MAX_BUFFERED: usize = 100_000;

/// What the replacement must carry.
#[derive(Debug, Clone)]
pub struct RotationPlan {
    /// URL with the streams that fit.
    pub url: String,
    /// The streams named in the URL.
    pub url_streams: Vec<String>,
    /// Streams to SUBSCRIBE after the handshake.
    pub extra: Vec<String>,
    /// First of the request ids reserved for those SUBSCRIBEs.
    pub first_id: u64,
    /// SUBSCRIBE messages per second at most.
    pub subscribe_per_s: u32,
    /// How long to wait for the first data frame (and acks) after the handshake.
    pub wait: Duration,
}

impl RotationPlan {
    /// How many SUBSCRIBE messages the extra streams need (the ids to reserve).
    pub fn messages(extra: &[String]) -> u64 {
        extra.len().div_ceil(MAX_STREAMS_PER_MESSAGE) as u64
    }
}

/// A data message the replacement received before the handover, kept until the old socket is
/// done (a rotation happens once a day: copying is fine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Buffered {
    /// A text message.
    Text(Vec<u8>),
    /// A binary message.
    Binary(Vec<u8>),
}

/// A replacement socket that delivered, ready to take over.
pub struct Replacement {
    /// The socket.
    pub socket: Socket,
    /// The URL it was opened with.
    pub url: String,
    /// When its handshake completed (rotation age counts from here).
    pub connected_at: Instant,
    /// Streams it carries (URL streams plus acknowledged SUBSCRIBEs).
    pub carried: Vec<String>,
    /// Data frames received so far, in order (text and binary only).
    pub buffered: Vec<Buffered>,
    /// Subscription replies seen, for the handler.
    pub events: Vec<ConnectionEvent>,
    /// Server pings answered.
    pub pings_received: u64,
    /// SUBSCRIBE messages sent.
    pub subscribe_messages: u64,
}

/// A rotation under way; dropping it cancels the helper (it ends within a read tick, or a
/// connect timeout if it is inside a TCP connect).
pub struct PendingRotation {
    receiver: Receiver<Result<Replacement, String>>,
    cancel: Arc<AtomicBool>,
}

impl PendingRotation {
    /// Spawns the helper, which calls `notify` when its result is ready.
    pub fn start(
        dialer: Dialer,
        plan: RotationPlan,
        notify: Option<Notify>,
    ) -> Result<PendingRotation, String> {
        let (sender, receiver) = bounded(1);
        let cancel = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&cancel);
        thread::Builder::new()
            .name("klagg-rotate".to_string())
            .spawn(move || {
                // The io thread may have given up on us; then the socket just drops.
                let _ = sender.send(prepare(&dialer, plan, &flag));
                if let Some(notify) = notify {
                    notify();
                }
            })
            .map_err(|e| format!("spawn rotation helper: {e}"))?;
        Ok(PendingRotation { receiver, cancel })
    }

    /// The helper's result, once it has one.
    pub fn poll(&self) -> Option<Result<Replacement, String>> {
        match self.receiver.try_recv() {
            Ok(result) => Some(result),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err("rotation helper ended".to_string())),
        }
    }
}

impl Drop for PendingRotation {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

/// What the helper gathered before the handover.
#[derive(Default)]
struct Progress {
    carried: Vec<String>,
    buffered: Vec<Buffered>,
    events: Vec<ConnectionEvent>,
    pings_received: u64,
    subscribe_messages: u64,
}

impl Progress {
    fn on_reply(&mut self, reply: Reply, awaiting: &mut HashMap<u64, &[String]>) {
        let id = match &reply {
            Reply::Ok { id } => Some(*id),
            Reply::Err { id, .. } => *id,
        };
        let Some(streams) = id.and_then(|id| awaiting.remove(&id)) else {
            self.events.push(ConnectionEvent::UnmatchedReply { id });
            return;
        };
        let id = id.unwrap_or_default();
        match reply {
            Reply::Ok { .. } => {
                self.carried.extend_from_slice(streams);
                let streams = streams.len();
                self.events
                    .push(ConnectionEvent::SubscribeAcked { id, streams });
            }
            Reply::Err { code, msg, .. } => {
                log::warn!("replacement SUBSCRIBE {id} rejected: {code} {msg}");
                self.events
                    .push(ConnectionEvent::SubscribeFailed { id, code, msg });
            }
        }
    }
}

fn prepare(
    dialer: &Dialer,
    plan: RotationPlan,
    cancel: &AtomicBool,
) -> Result<Replacement, String> {
    let mut socket = dialer.dial(&plan.url, cancel)?;
    let connected_at = Instant::now();
    let mut batches = plan
        .extra
        .chunks(MAX_STREAMS_PER_MESSAGE)
        .zip(plan.first_id..);
    let batch_count = RotationPlan::messages(&plan.extra);
    // Each batch may have to wait for the rate limit: allow for it on top of the data wait.
    let per_s = u64::from(plan.subscribe_per_s.max(1));
    let budget = plan.wait + Duration::from_secs(batch_count.div_ceil(per_s));
    let deadline = connected_at + budget;
    let mut limit = RateLimit::new(plan.subscribe_per_s);
    let mut next_batch = batches.next();
    let mut awaiting: HashMap<u64, &[String]> = HashMap::new();
    let mut progress = Progress {
        carried: plan.url_streams.clone(),
        ..Progress::default()
    };
    loop {
        let now = Instant::now();
        if cancel.load(Ordering::Relaxed) {
            return Err("cancelled".to_string());
        }
        let delivered = !progress.buffered.is_empty();
        let subscribed = next_batch.is_none() && awaiting.is_empty();
        let full = progress.buffered.len() >= MAX_BUFFERED;
        if delivered && (subscribed || full || now >= deadline) {
            return Ok(Replacement {
                socket,
                url: plan.url,
                connected_at,
                carried: progress.carried,
                buffered: progress.buffered,
                events: progress.events,
                pings_received: progress.pings_received,
                subscribe_messages: progress.subscribe_messages,
            });
        }
        if now >= deadline {
            return Err(format!("replacement delivered no data within {budget:?}"));
        }
        if let Some((streams, id)) = next_batch
            && limit.ready(now)
        {
            let text = request_text(SubscriptionMethod::Subscribe, streams, id);
            write_outcome(socket.send_text(text.as_bytes()), false)
                .map_err(|e| format!("replacement subscribe: {e}"))?;
            limit.record(now);
            progress.subscribe_messages += 1;
            awaiting.insert(id, streams);
            next_batch = batches.next();
        }
        match socket.read() {
            Incoming::Text(bytes) => {
                match looks_like_reply(bytes)
                    .then(|| parse_reply(bytes))
                    .flatten()
                {
                    Some(reply) => progress.on_reply(reply, &mut awaiting),
                    None => progress.buffered.push(Buffered::Text(bytes.to_vec())),
                }
            }
            Incoming::Binary(bytes) => progress.buffered.push(Buffered::Binary(bytes.to_vec())),
            Incoming::Ping => progress.pings_received += 1,
            Incoming::Pong(_) | Incoming::Tick => {}
            Incoming::Ended(cause) => return Err(format!("replacement ended: {cause}")),
        }
    }
}
