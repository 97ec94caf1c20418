//! WebSocket framing on the server side (RFC 6455): the handshake answer, unmasked frames out,
//! masked frames in.
//!
//! Written here rather than through `tungstenite::WebSocket` so that the gateway owns each
//! client's output buffer: an event is framed once and the same bytes are appended to every
//! subscriber, and the buffered size is what decides that a client is too slow.

use tungstenite::handshake::derive_accept_key;

/// Largest client frame accepted; requests are small JSON texts.
pub const MAX_CLIENT_FRAME: usize = 64 * 1024;

/// Frame opcodes the gateway handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opcode {
    /// A text message.
    Text,
    /// A binary message (answered like text: requests are JSON either way).
    Binary,
    /// The client closes.
    Close,
    /// A ping, answered with a pong.
    Ping,
    /// A pong, ignored.
    Pong,
}

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

/// Appends a final, unmasked frame of `opcode` (`0x1` text, `0x8` close, `0xA` pong).
fn write_frame(out: &mut Vec<u8>, opcode: u8, payload: &[u8]) {
    out.push(0x80 | opcode);
    let len = payload.len();
    if len < 126 {
        out.push(len as u8);
    } else if let Ok(short) = u16::try_from(len) {
        out.push(126);
        out.extend_from_slice(&short.to_be_bytes());
    } else {
        out.push(127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(payload);
}

/// Appends a text frame carrying `payload`.
pub fn write_text_frame(out: &mut Vec<u8>, payload: &[u8]) {
    write_frame(out, 0x1, payload);
}

/// Appends a pong echoing a ping's `payload`.
pub fn write_pong_frame(out: &mut Vec<u8>, payload: &[u8]) {
    write_frame(out, 0xA, payload);
}

/// Appends a close frame with status 1000 (normal closure).
pub fn write_close_frame(out: &mut Vec<u8>) {
    write_frame(out, 0x8, &1000u16.to_be_bytes());
}

/// Reads one frame from the start of `buf`: `Ok(None)` when it is not complete yet, otherwise
/// the frame and how many bytes it took.
///
/// # Errors
///
/// A [`FrameError`] for frames the gateway does not serve.
pub fn parse_client_frame(buf: &[u8]) -> Result<Option<(ClientFrame, usize)>, FrameError> {
    if buf.len() < 2 {
        return Ok(None);
    }
    let (b0, b1) = (buf[0], buf[1]);
    if b0 & 0x80 == 0 || b0 & 0x70 != 0 {
        return Err(FrameError::Unsupported);
    }
    let opcode = match b0 & 0x0F {
        0x1 => Opcode::Text,
        0x2 => Opcode::Binary,
        0x8 => Opcode::Close,
        0x9 => Opcode::Ping,
        0xA => Opcode::Pong,
        _ => return Err(FrameError::Unsupported),
    };
    if b1 & 0x80 == 0 {
        return Err(FrameError::Unmasked);
    }
    let (len, mut at) = match b1 & 0x7F {
        126 => match buf.get(2..4) {
            Some(b) => (u64::from(u16::from_be_bytes([b[0], b[1]])), 4),
            None => return Ok(None),
        },
        127 => match buf.get(2..10) {
            Some(b) => {
                let mut bytes = [0; 8];
                bytes.copy_from_slice(b);
                (u64::from_be_bytes(bytes), 10)
            }
            None => return Ok(None),
        },
        short => (u64::from(short), 2),
    };
    let len = usize::try_from(len).map_err(|_| FrameError::TooLong)?;
    if len > MAX_CLIENT_FRAME {
        return Err(FrameError::TooLong);
    }
    let Some(mask) = buf.get(at..at + 4) else {
        return Ok(None);
    };
    let mask = [mask[0], mask[1], mask[2], mask[3]];
    at += 4;
    let Some(masked) = buf.get(at..at + len) else {
        return Ok(None);
    };
    let payload = masked
        .iter()
        .enumerate()
        .map(|(i, b)| b ^ mask[i % 4])
        .collect();
    Ok(Some((ClientFrame { opcode, payload }, at + len)))
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
