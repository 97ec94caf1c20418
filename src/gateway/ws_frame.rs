//! WebSocket framing on the server side (RFC 6455): the handshake answer, unmasked frames out,
//! masked frames in.
//!
//! Written here rather than through `tungstenite::WebSocket` so that the gateway owns each
//! client's output buffer: an event is framed once and the same bytes are appended to every
//! subscriber, and the buffered size is what decides that a client is too slow.

use tungstenite::handshake::derive_accept_key;

pub use crate::websocket::Opcode;
use crate::websocket::{FrameHeader, HeaderError, mask_in_place, write_header};

/// Largest client frame accepted; requests are small JSON texts.
pub const MAX_CLIENT_FRAME: usize = 64 * 1024;

/// One complete frame from a client, unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFrame {
    /// What the frame is.
    pub opcode: Opcode,
    /// Its payload, unmasked.
    pub payload: Vec<u8>,
}

/// Why a client's bytes are not a frame the gateway serves; the connection is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// Fragmented messages, reserved bits or opcodes.
    Unsupported,
    /// Clients must mask their frames.
    Unmasked,
    /// Longer than [`MAX_CLIENT_FRAME`].
    TooLong,
}

/// The `101 Switching Protocols` answer to a handshake carrying `Sec-WebSocket-Key: key`.
pub fn write_handshake_response(out: &mut Vec<u8>, key: &[u8]) {
    out.extend_from_slice(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Accept: ",
    );
    out.extend_from_slice(derive_accept_key(key).as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
}

/// Appends a final, unmasked frame of `opcode`.
fn write_frame(out: &mut Vec<u8>, opcode: Opcode, payload: &[u8]) {
    write_header(out, opcode, payload.len(), None);
    out.extend_from_slice(payload);
}

/// Appends a text frame carrying `payload`.
pub fn write_text_frame(out: &mut Vec<u8>, payload: &[u8]) {
    write_frame(out, Opcode::Text, payload);
}

/// Appends a pong echoing a ping's `payload`.
pub fn write_pong_frame(out: &mut Vec<u8>, payload: &[u8]) {
    write_frame(out, Opcode::Pong, payload);
}

/// Appends a close frame with status 1000 (normal closure).
pub fn write_close_frame(out: &mut Vec<u8>) {
    write_frame(out, Opcode::Close, &1000u16.to_be_bytes());
}

/// Reads one frame from the start of `buf`: `Ok(None)` when it is not complete yet, otherwise
/// the frame and how many bytes it took.
///
/// # Errors
///
/// A [`FrameError`] for frames the gateway does not serve.
pub fn parse_client_frame(buf: &[u8]) -> Result<Option<(ClientFrame, usize)>, FrameError> {
    let header = match FrameHeader::parse(buf, MAX_CLIENT_FRAME) {
        Ok(Some(header)) => header,
        Ok(None) => return Ok(None),
        Err(HeaderError::TooLong) => return Err(FrameError::TooLong),
        Err(HeaderError::Reserved | HeaderError::BadControl) => {
            return Err(FrameError::Unsupported);
        }
    };
    if !header.fin || header.opcode == Opcode::Continuation {
        return Err(FrameError::Unsupported);
    }
    let Some(mask) = header.mask else {
        return Err(FrameError::Unmasked);
    };
    let end = header.header_len + header.len;
    let Some(masked) = buf.get(header.header_len..end) else {
        return Ok(None);
    };
    let mut payload = masked.to_vec();
    mask_in_place(&mut payload, mask);
    Ok(Some((
        ClientFrame {
            opcode: header.opcode,
            payload,
        },
        end,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_text_frame_round_trips() {
        let mask = [1u8, 2, 3, 4];
        let text = b"{\"method\":\"LIST_SUBSCRIPTIONS\",\"id\":1}";
        let mut buf = vec![0x81, 0x80 | text.len() as u8];
        buf.extend_from_slice(&mask);
        buf.extend(text.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        assert_eq!(parse_client_frame(&buf[..5]), Ok(None));
        let (frame, used) = parse_client_frame(&buf).unwrap().unwrap();
        assert_eq!(
            (frame.opcode, frame.payload.as_slice(), used),
            (Opcode::Text, &text[..], buf.len())
        );
    }

    #[test]
    fn long_frames_get_extended_lengths() {
        let mut out = Vec::new();
        write_text_frame(&mut out, &[b'x'; 300]);
        assert_eq!(&out[..4], &[0x81, 126, 1, 44]);
        assert_eq!(out.len(), 304);
    }
}
