//! The gateway's counters in Prometheus text format. The gateway appends them itself when it
//! answers `GET /metrics`, after the engine's, so they are read on its own thread at that moment.

use crate::gateway::GatewayStats;

use super::{Kind, family};

/// Appends the gateway's metrics to `out`.
pub fn render_gateway(out: &mut String, stats: &GatewayStats) {
    family(
        out,
        "klagg_gateway_clients",
        Kind::Gauge,
        "Connections open now, by protocol.",
    )
    .sample(&[("protocol", "websocket")], stats.ws_clients)
    .sample(&[("protocol", "http")], stats.clients - stats.ws_clients);
    family(
        out,
        "klagg_gateway_clients_accepted_total",
        Kind::Counter,
        "Connections accepted.",
    )
    .sample(&[], stats.clients_accepted);
    family(
        out,
        "klagg_gateway_clients_rejected_total",
        Kind::Counter,
        "Connections closed on accept because max_clients were open.",
    )
    .sample(&[], stats.clients_rejected);
    family(
        out,
        "klagg_gateway_disconnects_total",
        Kind::Counter,
        "Connections ended, by cause: slow (unsent output past max_write_buffer), protocol \
         (malformed request or frame), error (socket error), closed (normal end).",
    )
    .sample(&[("cause", "slow")], stats.clients_dropped_slow)
    .sample(&[("cause", "protocol")], stats.clients_dropped_protocol)
    .sample(&[("cause", "error")], stats.clients_dropped_error)
    .sample(&[("cause", "closed")], stats.clients_closed);
    family(
        out,
        "klagg_gateway_subscriptions",
        Kind::Gauge,
        "Kline streams subscribed now, over all WebSocket clients.",
    )
    .sample(&[], stats.subscriptions);
    family(
        out,
        "klagg_gateway_events_encoded_total",
        Kind::Counter,
        "Kline events encoded (once each, whatever the number of subscribers).",
    )
    .sample(&[], stats.events_encoded);
    family(
        out,
        "klagg_gateway_events_sent_total",
        Kind::Counter,
        "Kline events queued to subscribers (one per subscriber, snapshots included).",
    )
    .sample(&[], stats.events_sent);
    family(
        out,
        "klagg_gateway_bytes_sent_total",
        Kind::Counter,
        "Bytes written to client sockets.",
    )
    .sample(&[], stats.bytes_sent);
    family(
        out,
        "klagg_gateway_requests_total",
        Kind::Counter,
        "Requests answered, by protocol (HTTP requests and handshakes, WebSocket frames).",
    )
    .sample(&[("protocol", "http")], stats.http_requests)
    .sample(&[("protocol", "websocket")], stats.ws_requests);
    family(
        out,
        "klagg_gateway_requests_rejected_total",
        Kind::Counter,
        "Requests answered with an error (HTTP 4xx, WebSocket error replies), by protocol.",
    )
    .sample(&[("protocol", "http")], stats.http_requests_rejected)
    .sample(&[("protocol", "websocket")], stats.ws_requests_rejected);
    family(
        out,
        "klagg_gateway_pulls_total",
        Kind::Counter,
        "Rounds of delta pulls requested from the engine.",
    )
    .sample(&[], stats.pulls);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_counter_becomes_a_sample() {
        let stats = GatewayStats {
            clients: 3,
            ws_clients: 2,
            clients_accepted: 9,
            clients_dropped_slow: 1,
            subscriptions: 5,
            events_sent: 40,
            bytes_sent: 4096,
            http_requests: 4,
            ws_requests_rejected: 2,
            ..GatewayStats::default()
        };
        let mut out = String::new();
        render_gateway(&mut out, &stats);
        for line in [
            "klagg_gateway_clients{protocol=\"websocket\"} 2",
            "klagg_gateway_clients{protocol=\"http\"} 1",
            "klagg_gateway_clients_accepted_total 9",
            "klagg_gateway_disconnects_total{cause=\"slow\"} 1",
            "klagg_gateway_disconnects_total{cause=\"closed\"} 0",
            "klagg_gateway_subscriptions 5",
            "klagg_gateway_events_sent_total 40",
            "klagg_gateway_bytes_sent_total 4096",
            "klagg_gateway_requests_total{protocol=\"http\"} 4",
            "klagg_gateway_requests_rejected_total{protocol=\"websocket\"} 2",
            "# TYPE klagg_gateway_subscriptions gauge",
        ] {
            assert!(out.lines().any(|l| l == line), "missing {line:?} in\n{out}");
        }
    }
}
