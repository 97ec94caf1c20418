//! Which streams a connection carries, which SUBSCRIBE/UNSUBSCRIBE messages still have to go,
//! and which requests await their reply.
//!
//! The subscribed set changes as soon as the handler asks (a reconnect then carries the new set
//! in its URL); the wire catches up through queued operations, batched into messages that the
//! caller sends within the rate limit.

use std::collections::{HashMap, VecDeque};

use serde::Serialize;

use super::handler::{ConnectionEvent, SubscriptionMethod};
use super::reply::Reply;

/// Streams named in one SUBSCRIBE/UNSUBSCRIBE message at most (keeps a message a few KiB).
pub const MAX_STREAMS_PER_MESSAGE: usize = 200;

/// Subscription changes the handler asks for during `on_tick`; the connection queues them.
#[derive(Debug, Default)]
pub struct SubscriptionRequests {
    ops: Vec<(SubscriptionMethod, String)>,
}

impl SubscriptionRequests {
    /// Asks to add `stream` (e.g. `btcusdt@aggTrade`); a stream already carried is ignored.
    pub fn subscribe(&mut self, stream: &str) {
        self.ops
            .push((SubscriptionMethod::Subscribe, stream.to_owned()));
    }

    /// Asks to drop `stream`; a stream not carried is ignored.
    pub fn unsubscribe(&mut self, stream: &str) {
        self.ops
            .push((SubscriptionMethod::Unsubscribe, stream.to_owned()));
    }

    /// Whether nothing was asked since the last tick.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// One SUBSCRIBE/UNSUBSCRIBE message ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestMessage {
    /// Its id.
    pub id: u64,
    /// Its method.
    pub method: SubscriptionMethod,
    /// How many streams it names.
    pub streams: usize,
    /// The JSON text.
    pub text: String,
}

/// The JSON of one request: `{"method":"SUBSCRIBE","params":["a","b"],"id":7}`.
pub fn request_text(method: SubscriptionMethod, params: &[String], id: u64) -> String {
    #[derive(Serialize)]
    struct Request<'a> {
        method: &'static str,
        params: &'a [String],
        id: u64,
    }
    let request = Request {
        method: method.as_str(),
        params,
        id,
    };
    // Serialising strings and integers into a String cannot fail.
    serde_json::to_string(&request).unwrap_or_default()
}

/// The subscription state of one [`StreamConnection`](super::StreamConnection).
#[derive(Debug)]
pub struct Subscriptions {
    streams: Vec<String>,
    pending: VecDeque<(SubscriptionMethod, String)>,
    in_flight: HashMap<u64, (SubscriptionMethod, Vec<String>)>,
    next_id: u64,
}

impl Subscriptions {
    /// Starts with `streams` (duplicates dropped, order kept) and nothing queued.
    pub fn new(streams: Vec<String>) -> Subscriptions {
        let mut unique: Vec<String> = Vec::with_capacity(streams.len());
        for stream in streams {
            if !unique.contains(&stream) {
                unique.push(stream);
            }
        }
        Subscriptions {
            streams: unique,
            pending: VecDeque::new(),
            in_flight: HashMap::new(),
            next_id: 1,
        }
    }

    /// The streams the connection carries or is about to (requested, not necessarily acked).
    pub fn streams(&self) -> &[String] {
        &self.streams
    }

    /// Whether messages wait to be sent.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Takes the handler's requests into the set and the send queue. An operation that undoes
    /// one not yet sent cancels it instead of sending both.
    pub fn apply(&mut self, requests: &mut SubscriptionRequests) {
        for (method, stream) in requests.ops.drain(..) {
            let carried = self.streams.iter().position(|s| *s == stream);
            let undone = match (method, carried) {
                (SubscriptionMethod::Subscribe, None) => {
                    self.streams.push(stream.clone());
                    SubscriptionMethod::Unsubscribe
                }
                (SubscriptionMethod::Unsubscribe, Some(index)) => {
                    self.streams.remove(index);
                    SubscriptionMethod::Subscribe
                }
                _ => continue,
            };
            let queued = self
                .pending
                .iter()
                .position(|(m, s)| *m == undone && *s == stream);
            match queued {
                Some(index) => {
                    self.pending.remove(index);
                }
                None => self.pending.push_back((method, stream)),
            }
        }
    }

    /// A new socket carries `carried`: queue what brings it to the set, forget replies owed by
    /// the old socket (they will never come).
    pub fn reset_for(&mut self, carried: &[String]) {
        self.pending.clear();
        self.in_flight.clear();
        for stream in &self.streams {
            if !carried.contains(stream) {
                self.pending
                    .push_back((SubscriptionMethod::Subscribe, stream.clone()));
            }
        }
        for stream in carried {
            if !self.streams.contains(stream) {
                self.pending
                    .push_back((SubscriptionMethod::Unsubscribe, stream.clone()));
            }
        }
    }

    /// The next message: the queued operations at the front that share a method, up to
    /// [`MAX_STREAMS_PER_MESSAGE`]. Registers it as awaiting its reply.
    pub fn next_message(&mut self) -> Option<RequestMessage> {
        let method = self.pending.front()?.0;
        let mut params = Vec::new();
        while params.len() < MAX_STREAMS_PER_MESSAGE
            && self.pending.front().is_some_and(|(m, _)| *m == method)
        {
            if let Some((_, stream)) = self.pending.pop_front() {
                params.push(stream);
            }
        }
        let id = self.reserve_ids(1);
        let text = request_text(method, &params, id);
        let streams = params.len();
        self.in_flight.insert(id, (method, params));
        Some(RequestMessage {
            id,
            method,
            streams,
            text,
        })
    }

    /// Reserves `count` consecutive request ids (for a replacement connection that sends its
    /// own SUBSCRIBEs) and returns the first.
    pub fn reserve_ids(&mut self, count: u64) -> u64 {
        let first = self.next_id;
        self.next_id += count;
        first
    }

    /// Matches a reply to its request. A rejected SUBSCRIBE drops its streams from the set, so
    /// a reconnect does not put them in the URL again.
    pub fn on_reply(&mut self, reply: Reply) -> ConnectionEvent {
        let id = match &reply {
            Reply::Ok { id } => Some(*id),
            Reply::Err { id, .. } => *id,
        };
        let Some((method, params)) = id.and_then(|id| self.in_flight.remove(&id)) else {
            return ConnectionEvent::UnmatchedReply { id };
        };
        let id = id.unwrap_or_default();
        match (reply, method) {
            (Reply::Ok { .. }, SubscriptionMethod::Subscribe) => ConnectionEvent::SubscribeAcked {
                id,
                streams: params.len(),
            },
            (Reply::Ok { .. }, SubscriptionMethod::Unsubscribe) => {
                ConnectionEvent::UnsubscribeAcked {
                    id,
                    streams: params.len(),
                }
            }
            (Reply::Err { code, msg, .. }, method) => {
                if method == SubscriptionMethod::Subscribe {
                    self.streams.retain(|s| !params.contains(s));
                }
                ConnectionEvent::SubscribeFailed { id, code, msg }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn requests_batch_by_method_in_order() {
        let mut subs = Subscriptions::new(s(&["a", "a", "b"]));
        assert_eq!(subs.streams(), s(&["a", "b"]));
        let mut req = SubscriptionRequests::default();
        req.subscribe("c");
        req.subscribe("d");
        req.subscribe("a");
        req.unsubscribe("b");
        req.subscribe("e");
        subs.apply(&mut req);
        assert!(req.is_empty());
        assert_eq!(subs.streams(), s(&["a", "c", "d", "e"]));
        let first = subs.next_message().unwrap();
        assert_eq!(
            first.text,
            r#"{"method":"SUBSCRIBE","params":["c","d"],"id":1}"#
        );
        let second = subs.next_message().unwrap();
        assert_eq!(
            (second.id, second.method),
            (2, SubscriptionMethod::Unsubscribe)
        );
        assert_eq!(subs.next_message().unwrap().streams, 1);
        assert!(subs.next_message().is_none());
    }

    #[test]
    fn undoing_an_unsent_operation_cancels_it() {
        let mut subs = Subscriptions::new(s(&["a"]));
        let mut req = SubscriptionRequests::default();
        req.subscribe("b");
        req.unsubscribe("b");
        req.unsubscribe("a");
        req.subscribe("a");
        subs.apply(&mut req);
        assert!(!subs.has_pending());
        assert_eq!(subs.streams(), s(&["a"]));
    }

    #[test]
    fn replies_match_requests_and_rejections_drop_streams() {
        let mut subs = Subscriptions::new(vec![]);
        let mut req = SubscriptionRequests::default();
        req.subscribe("a");
        subs.apply(&mut req);
        let ok = subs.next_message().unwrap();
        req.subscribe("bad");
        subs.apply(&mut req);
        let bad = subs.next_message().unwrap();
        assert_eq!(
            subs.on_reply(Reply::Ok { id: ok.id }),
            ConnectionEvent::SubscribeAcked {
                id: ok.id,
                streams: 1
            }
        );
        assert_eq!(
            subs.on_reply(Reply::Ok { id: ok.id }),
            ConnectionEvent::UnmatchedReply { id: Some(ok.id) }
        );
        let rejected = Reply::Err {
            id: Some(bad.id),
            code: 2,
            msg: "Invalid request".into(),
        };
        assert!(matches!(
            subs.on_reply(rejected),
            ConnectionEvent::SubscribeFailed { code: 2, .. }
        ));
        assert_eq!(subs.streams(), s(&["a"]));
    }

    #[test]
    fn a_new_socket_gets_the_difference_and_big_sets_are_split() {
        let all: Vec<String> = (0..450).map(|i| format!("s{i}")).collect();
        let mut subs = Subscriptions::new(all.clone());
        subs.reset_for(&[all[0].clone(), "gone".to_string()]);
        let sizes: Vec<(SubscriptionMethod, usize)> =
            std::iter::from_fn(|| subs.next_message().map(|m| (m.method, m.streams))).collect();
        use SubscriptionMethod::*;
        assert_eq!(
            sizes,
            [
                (Subscribe, 200),
                (Subscribe, 200),
                (Subscribe, 49),
                (Unsubscribe, 1)
            ]
        );
        assert_eq!(subs.reserve_ids(3), 5);
        assert_eq!(subs.reserve_ids(1), 8);
    }
}
