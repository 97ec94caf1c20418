//! One WebSocket connection: read frames, parse each into a trade, send it to the aggregator.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use futures_util::StreamExt;
use klagg::latency::Stage;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

use crate::stamps::Recorder;

/// An open combined-stream connection.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Symbol name to its index in the --symbols list, shared by every connection task.
pub type SymbolIndex = Arc<RwLock<HashMap<String, usize>>>;

/// One aggTrade, as the connection hands it to the aggregator.
#[derive(Debug, Clone)]
pub struct Trade {
    /// Symbol name, e.g. BTCUSDT.
    pub symbol: String,
    /// Position of the symbol in the --symbols list.
    pub symbol_index: usize,
    /// Price (`p`).
    pub price: f64,
    /// Quantity (`q`).
    pub quantity: f64,
    /// First raw trade id (`f`).
    pub first_trade_id: i64,
    /// Last raw trade id (`l`).
    pub last_trade_id: i64,
    /// Trade time, ms since the Unix epoch (`T`).
    pub trade_time: i64,
    /// Event time, ms since the Unix epoch (`E`).
    pub event_time: i64,
    /// True when the buyer was the maker (`m`).
    pub is_buyer_maker: bool,
}

/// What a connection task saw, returned when it ends.
pub struct ConnectionReport {
    /// Its FrameRead and Pushed stamps.
    pub stamps: Recorder,
    /// Text frames received.
    pub frames: u64,
    /// Text frames that were not a trade of a listed symbol.
    pub bad_frames: u64,
    /// Why it ended, when the server or the network ended it (not our own shutdown).
    pub ended_by: Option<String>,
}

/// Opens a combined-stream connection to the aggTrade streams of `symbols`.
pub async fn connect(url: &str, symbols: &[String]) -> Result<Socket, String> {
    let streams: Vec<String> = symbols
        .iter()
        .map(|s| format!("{}@aggTrade", s.to_lowercase()))
        .collect();
    let url = format!("{url}?streams={}", streams.join("/"));
    let (socket, _response) = connect_async(url.as_str())
        .await
        .map_err(|e| format!("cannot connect to {url}: {e}"))?;
    Ok(socket)
}

/// Reads the connection until it closes or `shutdown` turns true, sending every trade to the
/// aggregator. Any stream does (`benches/wire.rs` feeds one from memory).
pub async fn run<S: AsyncRead + AsyncWrite + Unpin>(
    mut socket: WebSocketStream<S>,
    symbols: SymbolIndex,
    trades: mpsc::Sender<Trade>,
    mut shutdown: watch::Receiver<bool>,
    mut stamps: Recorder,
) -> ConnectionReport {
    let mut frames = 0;
    let mut bad_frames = 0;
    let ended_by = loop {
        let message = tokio::select! {
            _ = shutdown.changed() => break None,
            message = socket.next() => message,
        };
        let text = match message {
            Some(Ok(Message::Text(text))) => text.to_string(),
            Some(Ok(Message::Close(Some(frame)))) => {
                break Some(format!(
                    "closed by the server ({}: {})",
                    frame.code, frame.reason
                ));
            }
            Some(Ok(Message::Close(None))) => break Some("closed by the server".to_string()),
            // Pings are answered by tungstenite itself.
            Some(Ok(_)) => continue,
            Some(Err(e)) => break Some(format!("read error: {e}")),
            None => break Some("connection ended".to_string()),
        };
        frames += 1;
        let trade = match parse_trade(&text, &symbols) {
            Some(trade) => trade,
            None => {
                bad_frames += 1;
                continue;
            }
        };
        stamps.record(
            Stage::FrameRead,
            trade.symbol_index,
            trade.last_trade_id,
            trade.event_time,
        );
        let (index, trade_id, event_time) =
            (trade.symbol_index, trade.last_trade_id, trade.event_time);
        if trades.send(trade).await.is_err() {
            break Some("the aggregator stopped".to_string());
        }
        stamps.record(Stage::Pushed, index, trade_id, event_time);
    };
    // A polite goodbye; the server may already be gone, which is fine.
    let _ = socket.close(None).await;
    ConnectionReport {
        stamps,
        frames,
        bad_frames,
        ended_by,
    }
}

/// The trade in a combined-stream frame `{"stream":..,"data":{aggTrade}}`, or `None` when the
/// frame is something else or names a symbol not listed.
fn parse_trade(text: &str, symbols: &RwLock<HashMap<String, usize>>) -> Option<Trade> {
    let value: Value = serde_json::from_str(text).ok()?;
    let data = value.get("data")?;
    if data.get("e")?.as_str()? != "aggTrade" {
        return None;
    }
    let symbol = data.get("s")?.as_str()?.to_string();
    let symbol_index = *symbols.read().ok()?.get(&symbol)?;
    Some(Trade {
        symbol,
        symbol_index,
        price: data.get("p")?.as_str()?.parse::<f64>().ok()?,
        quantity: data.get("q")?.as_str()?.parse::<f64>().ok()?,
        first_trade_id: data.get("f")?.as_i64()?,
        last_trade_id: data.get("l")?.as_i64()?,
        trade_time: data.get("T")?.as_i64()?,
        event_time: data.get("E")?.as_i64()?,
        is_buyer_maker: data.get("m")?.as_bool()?,
    })
}
