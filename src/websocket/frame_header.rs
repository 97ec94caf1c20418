//! One frame header: FIN, opcode, mask and payload length, parsed from the front of a buffer
//! without copying, and written in front of a payload.

/// What a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opcode {
    /// The rest of a fragmented message.
    Continuation,
    /// A text message (or its first fragment).
    Text,
    /// A binary message (or its first fragment).
    Binary,
    /// The peer closes.
    Close,
    /// A ping, to be answered with a pong echoing its payload.
    Ping,
    /// A pong.
    Pong,
}

impl Opcode {
    fn from_bits(bits: u8) -> Option<Opcode> {
        Some(match bits {
            0x0 => Opcode::Continuation,
            0x1 => Opcode::Text,
            0x2 => Opcode::Binary,
            0x8 => Opcode::Close,
            0x9 => Opcode::Ping,
            0xA => Opcode::Pong,
            _ => return None,
        })
    }

    fn bits(self) -> u8 {
        match self {
            Opcode::Continuation => 0x0,
            Opcode::Text => 0x1,
            Opcode::Binary => 0x2,
            Opcode::Close => 0x8,
            Opcode::Ping => 0x9,
            Opcode::Pong => 0xA,
        }
    }

    /// True for close, ping and pong: never fragmented, at most 125 bytes.
    pub fn is_control(self) -> bool {
        matches!(self, Opcode::Close | Opcode::Ping | Opcode::Pong)
    }
}

/// Why bytes are not a frame header this side accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    /// Reserved bits set (no extension was negotiated) or a reserved opcode.
    Reserved,
    /// A control frame that is fragmented or longer than 125 bytes.
    BadControl,
    /// A payload longer than the caller accepts.
    TooLong,
}

/// A parsed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Last frame of its message.
    pub fin: bool,
    /// What it carries.
    pub opcode: Opcode,
    /// The masking key, if the payload is masked (client to server).
    pub mask: Option<[u8; 4]>,
    /// Payload bytes.
    pub len: usize,
    /// Header bytes (the payload starts here).
    pub header_len: usize,
}

impl FrameHeader {
    /// Parses the header at the start of `buf`: `Ok(None)` while it is incomplete. Payloads
    /// longer than `max_len` are refused.
    ///
    /// # Errors
    ///
    /// A [`HeaderError`] for reserved bits or opcodes, bad control frames and long payloads.
    #[inline]
    pub fn parse(buf: &[u8], max_len: usize) -> Result<Option<FrameHeader>, HeaderError> {
        let [b0, b1, ..] = *buf else {
            return Ok(None);
        };
        if b0 & 0x70 != 0 {
            return Err(HeaderError::Reserved);
        }
        let opcode = Opcode::from_bits(b0 & 0x0F).ok_or(HeaderError::Reserved)?;
        let fin = b0 & 0x80 != 0;
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
        if opcode.is_control() && (!fin || len > 125) {
            return Err(HeaderError::BadControl);
        }
        let len = usize::try_from(len).map_err(|_| HeaderError::TooLong)?;
        if len > max_len {
            return Err(HeaderError::TooLong);
        }
        let mask = if b1 & 0x80 != 0 {
            let Some(key) = buf.get(at..at + 4) else {
                return Ok(None);
            };
            at += 4;
            Some([key[0], key[1], key[2], key[3]])
        } else {
            None
        };
        Ok(Some(FrameHeader {
            fin,
            opcode,
            mask,
            len,
            header_len: at,
        }))
    }
}

/// Appends the header of a final frame of `opcode` with a `len`-byte payload, masked with
/// `mask` if given (a client must mask; the payload is then masked with [`mask_in_place`]).
pub fn write_header(out: &mut Vec<u8>, opcode: Opcode, len: usize, mask: Option<[u8; 4]>) {
    out.push(0x80 | opcode.bits());
    let masked = if mask.is_some() { 0x80 } else { 0 };
    if len < 126 {
        out.push(masked | len as u8);
    } else if let Ok(short) = u16::try_from(len) {
        out.push(masked | 126);
        out.extend_from_slice(&short.to_be_bytes());
    } else {
        out.push(masked | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    if let Some(key) = mask {
        out.extend_from_slice(&key);
    }
}

/// Masks (or unmasks: the operation is its own inverse) `payload` with `key`.
pub fn mask_in_place(payload: &mut [u8], key: [u8; 4]) {
    for (i, byte) in payload.iter_mut().enumerate() {
        *byte ^= key[i % 4];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip_at_every_length_form() {
        for (len, header_len) in [(5usize, 2usize), (300, 4), (70_000, 10)] {
            for mask in [None, Some([9, 8, 7, 6])] {
                let mut out = Vec::new();
                write_header(&mut out, Opcode::Text, len, mask);
                let extra = if mask.is_some() { 4 } else { 0 };
                let parsed = FrameHeader::parse(&out, 1 << 20).unwrap().unwrap();
                assert_eq!(
                    parsed,
                    FrameHeader {
                        fin: true,
                        opcode: Opcode::Text,
                        mask,
                        len,
                        header_len: header_len + extra
                    }
                );
                // Every prefix is incomplete, never an error.
                for cut in 0..out.len() {
                    assert_eq!(FrameHeader::parse(&out[..cut], 1 << 20), Ok(None));
                }
            }
        }
    }

    #[test]
    fn reserved_bits_bad_controls_and_long_payloads_are_refused() {
        assert_eq!(
            FrameHeader::parse(&[0xC1, 0], 10),
            Err(HeaderError::Reserved)
        );
        assert_eq!(
            FrameHeader::parse(&[0x83, 0], 10),
            Err(HeaderError::Reserved)
        );
        assert_eq!(
            FrameHeader::parse(&[0x09, 0], 10),
            Err(HeaderError::BadControl)
        );
        assert_eq!(
            FrameHeader::parse(&[0x89, 126, 0, 200], 1000),
            Err(HeaderError::BadControl)
        );
        assert_eq!(
            FrameHeader::parse(&[0x81, 11], 10),
            Err(HeaderError::TooLong)
        );
    }

    #[test]
    fn masking_twice_gives_the_payload_back() {
        let mut payload = b"hello, world".to_vec();
        mask_in_place(&mut payload, [1, 2, 3, 4]);
        assert_ne!(payload, b"hello, world");
        mask_in_place(&mut payload, [1, 2, 3, 4]);
        assert_eq!(payload, b"hello, world");
    }
}
