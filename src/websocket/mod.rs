//! WebSocket framing (RFC 6455) both sides share: the frame header, read and written. The
//! client's socket (`ingress::connection::ws_stream`) and the gateway's server side
//! (`gateway::ws_frame`) build on it, each owning its buffers.

mod frame_header;

pub use frame_header::{FrameHeader, HeaderError, Opcode, mask_in_place, write_header};
