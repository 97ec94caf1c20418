//! The two JetStream streams klagg publishes into, made when missing.
//!
//! * `<PREFIX>_CLOSED` holds `<prefix>.closed.>`: every closed kline, corrections included,
//!   de-duplicated by `Nats-Msg-Id` within the configured window.
//! * `<PREFIX>_LATEST` holds `<prefix>.kline.>` with one message per subject: the latest event
//!   of every symbol and interval, open or closed. It takes the core-NATS events as they are
//!   published (a stream stores what is published on its subjects), so keeping it costs the
//!   publisher nothing.

use std::time::Duration;

use async_nats::jetstream::{self, stream};

use super::subject::{Family, wildcard};

/// The name of the closed-kline stream under `prefix` (`klagg` → `KLAGG_CLOSED`).
pub fn closed_stream(prefix: &str) -> String {
    format!("{}_CLOSED", prefix.to_uppercase())
}

/// The name of the latest-kline stream under `prefix` (`klagg` → `KLAGG_LATEST`).
pub fn latest_stream(prefix: &str) -> String {
    format!("{}_LATEST", prefix.to_uppercase())
}

/// Makes the streams asked for, or finds them as an earlier run (or another host) made them.
///
/// # Errors
///
/// JetStream is not enabled on the server, or the server did not answer.
pub async fn ensure_streams(
    js: &jetstream::Context,
    prefix: &str,
    closed: Option<Duration>,
    latest: bool,
) -> Result<(), String> {
    if let Some(window) = closed {
        js.get_or_create_stream(stream::Config {
            name: closed_stream(prefix),
            subjects: vec![wildcard(prefix, Family::Closed)],
            storage: stream::StorageType::File,
            duplicate_window: window,
            allow_direct: true,
            ..stream::Config::default()
        })
        .await
        .map_err(|e| format!("stream {}: {e}", closed_stream(prefix)))?;
    }
    if latest {
        js.get_or_create_stream(stream::Config {
            name: latest_stream(prefix),
            subjects: vec![wildcard(prefix, Family::Kline)],
            storage: stream::StorageType::File,
            max_messages_per_subject: 1,
            allow_direct: true,
            ..stream::Config::default()
        })
        .await
        .map_err(|e| format!("stream {}: {e}", latest_stream(prefix)))?;
    }
    Ok(())
}
