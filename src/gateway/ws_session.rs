//! A WebSocket client's frames: `SUBSCRIBE`, `UNSUBSCRIBE` and `LIST_SUBSCRIPTIONS` answered as
//! Binance answers them, pings answered, closes honoured.

use super::client::{Client, Phase};
use super::event_frames::StreamKey;
use super::event_loop::EventLoop;
use super::stats::{add, sub};
use super::ws_frame::{
    Opcode, parse_client_frame, write_close_frame, write_pong_frame, write_text_frame,
};
use crate::config::Market;
use crate::egress::KlineStream;
use crate::egress::replies::{write_done, write_error, write_subscriptions};
use crate::egress::requests::{Command, RequestError, RequestId, parse_request};
use crate::egress::stream_name::StreamKind;
use crate::pipeline::now_ms;

impl EventLoop {
    /// Handles the next frame in a client's input; false when none is complete yet.
    pub(super) fn handle_frame(&mut self, token: usize, client: &mut Client) -> bool {
        let (frame, used) = match parse_client_frame(&client.input) {
            Ok(Some(parsed)) => parsed,
            Ok(None) => return false,
            Err(_) => {
                write_close_frame(client.output());
                client.close_for_protocol();
                return false;
            }
        };
        client.input.drain(..used);
        match frame.opcode {
            Opcode::Text | Opcode::Binary => self.request(token, client, &frame.payload),
            Opcode::Ping => write_pong_frame(client.output(), &frame.payload),
            // parse_client_frame refuses continuations: the gateway takes no fragmented requests.
            Opcode::Pong | Opcode::Continuation => {}
            Opcode::Close => {
                write_close_frame(client.output());
                client.closing = true;
            }
        }
        true
    }

    /// The slot and event format of a stream, or why it cannot be served.
    pub(super) fn slot_of(&self, stream: &KlineStream) -> Result<StreamKey, String> {
        if stream.kind == StreamKind::ContinuousPerpetual && self.config.market == Market::Spot {
            return Err(format!(
                "'{stream}': continuous klines are USD-M streams; spot serves <symbol>@kline_<interval>"
            ));
        }
        let (symbol, _) = self
            .index
            .symbol(&stream.symbol)
            .ok_or_else(|| format!("unknown symbol in stream '{stream}'"))?;
        let interval = self
            .index
            .interval(stream.interval)
            .ok_or_else(|| format!("interval not served in stream '{stream}'"))?;
        Ok(((symbol, interval), stream.kind))
    }

    /// Answers one request frame.
    fn request(&mut self, token: usize, client: &mut Client, payload: &[u8]) {
        add(&self.stats.ws_requests, 1);
        // A symbol listed since the last pull can be subscribed at once.
        self.index.refresh();
        let mut reply = Vec::new();
        let mut added = Vec::new();
        let refused = |reply: &mut Vec<u8>, error: &RequestError| {
            add(&self.stats.ws_requests_rejected, 1);
            write_error(reply, error);
        };
        match parse_request(payload) {
            Err(error) => refused(&mut reply, &error),
            Ok(request) => match request.command {
                Command::Subscribe(streams) => match self.resolve(client, &streams, &request.id) {
                    Ok(keys) => {
                        write_done(&mut reply, &request.id);
                        added = streams.into_iter().zip(keys).collect();
                    }
                    Err(error) => refused(&mut reply, &error),
                },
                Command::Unsubscribe(streams) => {
                    for stream in &streams {
                        self.unsubscribe(token, client, stream);
                    }
                    write_done(&mut reply, &request.id);
                }
                Command::ListSubscriptions => {
                    write_subscriptions(
                        &mut reply,
                        client.streams.iter().map(|(s, _)| s),
                        &request.id,
                    );
                }
            },
        }
        write_text_frame(client.output(), &reply);
        for (stream, key) in added {
            self.subscribe(token, client, stream, key);
        }
    }

    /// The keys of streams to subscribe, checked against the catalog and the stream limit.
    fn resolve(
        &self,
        client: &Client,
        streams: &[KlineStream],
        id: &RequestId,
    ) -> Result<Vec<StreamKey>, RequestError> {
        let keys = streams
            .iter()
            .map(|s| self.slot_of(s))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|msg| RequestError::invalid_request(Some(id.clone()), msg))?;
        let mut total = client.streams.len();
        for (i, key) in keys.iter().enumerate() {
            let known = client.streams.iter().any(|(_, k)| k == key) || keys[..i].contains(key);
            total += usize::from(!known);
        }
        if total > self.config.max_streams_per_client {
            let detail = format!(
                "more than {} streams on one connection",
                self.config.max_streams_per_client
            );
            return Err(RequestError::invalid_request(Some(id.clone()), detail));
        }
        Ok(keys)
    }

    /// Adds a stream to a client (once) and sends it the slot's open kline at once (bounded
    /// with the request's other answers, see `handle_input`).
    pub(super) fn subscribe(
        &mut self,
        token: usize,
        client: &mut Client,
        stream: KlineStream,
        key: StreamKey,
    ) {
        if client.streams.iter().any(|(_, k)| *k == key) {
            return;
        }
        client.streams.push((stream, key));
        self.subscribers.entry(key).or_default().push(token);
        add(&self.stats.subscriptions, 1);
        let Phase::WebSocket(framing) = client.phase else {
            return;
        };
        let (slot, kind) = key;
        let Some(kline) = self.history.current(slot) else {
            return;
        };
        if self
            .frames
            .encode(&self.index, slot, kline, false, now_ms())
        {
            let frame = self.frames.frame(&self.index, kind, framing);
            client.output().extend_from_slice(frame);
            add(&self.stats.events_sent, 1);
        }
    }

    /// Removes a stream from a client, if it had it.
    fn unsubscribe(&mut self, token: usize, client: &mut Client, stream: &KlineStream) {
        let Ok(key) = self.slot_of(stream) else {
            return;
        };
        let before = client.streams.len();
        client.streams.retain(|(_, k)| *k != key);
        sub(
            &self.stats.subscriptions,
            (before - client.streams.len()) as u64,
        );
        if let Some(tokens) = self.subscribers.get_mut(&key) {
            tokens.retain(|t| *t != token);
        }
    }
}
