//! RFC 6455 framing: parse frame headers from the read buffer, encode masked client frames.

pub const OP_CONT: u8 = 0x0;
pub const OP_TEXT: u8 = 0x1;
pub const OP_BINARY: u8 = 0x2;
pub const OP_CLOSE: u8 = 0x8;
pub const OP_PING: u8 = 0x9;
pub const OP_PONG: u8 = 0xA;

/// A parsed frame header; the payload follows `header_len` bytes into the buffer.
#[derive(Debug, Clone, Copy)]
pub struct Header {
    pub fin: bool,
    pub rsv1: bool,
    pub opcode: u8,
    pub header_len: usize,
    pub payload_len: usize,
}

/// Why a frame is refused. The strings mirror websockets' messages.
#[derive(Debug, Clone)]
pub enum FrameError {
    Protocol(String),
    TooBig {
        size: u64,
        max: u64,
        current: Option<u64>,
    },
}

impl FrameError {
    pub fn protocol(msg: &str) -> Self {
        FrameError::Protocol(msg.to_owned())
    }
}

/// Parse the header at the start of `buf`. `Ok(None)` means more bytes are needed.
///
/// `max_payload` is what the next frame may still carry (websockets checks the declared
/// length before reading the payload, so an oversized frame fails before it arrives).
pub fn parse_header(
    buf: &[u8],
    expect_masked: bool,
    rsv1_allowed: bool,
    max_payload: Option<(u64, Option<u64>)>,
) -> Result<Option<Header>, FrameError> {
    if buf.len() < 2 {
        return Ok(None);
    }
    let b0 = buf[0];
    let b1 = buf[1];
    let fin = b0 & 0x80 != 0;
    let rsv1 = b0 & 0x40 != 0;
    let rsv23 = b0 & 0x30 != 0;
    let opcode = b0 & 0x0F;
    if !matches!(
        opcode,
        OP_CONT | OP_TEXT | OP_BINARY | OP_CLOSE | OP_PING | OP_PONG
    ) {
        return Err(FrameError::protocol("invalid opcode"));
    }
    let masked = b1 & 0x80 != 0;
    if masked != expect_masked {
        return Err(FrameError::protocol("incorrect masking"));
    }
    let short = (b1 & 0x7F) as usize;
    let (len, mut pos): (u64, usize) = match short {
        126 => {
            if buf.len() < 4 {
                return Ok(None);
            }
            (u16::from_be_bytes([buf[2], buf[3]]) as u64, 4)
        }
        127 => {
            if buf.len() < 10 {
                return Ok(None);
            }
            let mut raw = [0u8; 8];
            raw.copy_from_slice(&buf[2..10]);
            let len = u64::from_be_bytes(raw);
            if len >> 63 != 0 {
                return Err(FrameError::protocol("invalid frame length"));
            }
            (len, 10)
        }
        n => (n as u64, 2),
    };
    if let Some((max, current)) = max_payload {
        if len > max && opcode & 0x8 == 0 {
            return Err(FrameError::TooBig {
                size: len,
                max,
                current,
            });
        }
    }
    if masked {
        // Only reachable for a server-side parser; a client refuses masked frames above.
        if buf.len() < pos + 4 {
            return Ok(None);
        }
        pos += 4;
    }
    if rsv23 || (rsv1 && (!rsv1_allowed || opcode & 0x8 != 0 || opcode == OP_CONT)) {
        return Err(FrameError::protocol("reserved bits must be 0"));
    }
    if opcode & 0x8 != 0 {
        if len > 125 {
            return Err(FrameError::protocol("control frame too long"));
        }
        if !fin {
            return Err(FrameError::protocol("fragmented control frame"));
        }
    }
    let payload_len = usize::try_from(len)
        .map_err(|_| FrameError::protocol("frame too long for this platform"))?;
    Ok(Some(Header {
        fin,
        rsv1,
        opcode,
        header_len: pos,
        payload_len,
    }))
}

/// Append `src` masked with `mask` as if it started `offset` bytes into the payload.
///
/// Copy and XOR in one pass: the source (a large Python `bytes`) is read from memory once,
/// and nothing is zeroed first.
pub fn extend_masked(out: &mut Vec<u8>, src: &[u8], mask: [u8; 4], offset: usize) {
    let shift = offset & 3;
    let rotated = [
        mask[shift],
        mask[(shift + 1) & 3],
        mask[(shift + 2) & 3],
        mask[(shift + 3) & 3],
    ];
    let word = u32::from_ne_bytes(rotated) as u64;
    let wide = word | (word << 32);
    let start = out.len();
    out.reserve(src.len());
    let spare = &mut out.spare_capacity_mut()[..src.len()];
    let mut dst_words = spare.chunks_exact_mut(8);
    let mut src_words = src.chunks_exact(8);
    for (d, s) in (&mut dst_words).zip(&mut src_words) {
        let mut raw = [0u8; 8];
        raw.copy_from_slice(s);
        let v = (u64::from_ne_bytes(raw) ^ wide).to_ne_bytes();
        for (slot, byte) in d.iter_mut().zip(v) {
            slot.write(byte);
        }
    }
    for (i, (slot, byte)) in dst_words
        .into_remainder()
        .iter_mut()
        .zip(src_words.remainder())
        .enumerate()
    {
        slot.write(byte ^ rotated[i & 3]);
    }
    // SAFETY: the loops above wrote every one of the `src.len()` bytes after `start` (the
    // word loop covers all whole words, the remainder loop the rest: equal lengths).
    unsafe { out.set_len(start + src.len()) };
}

/// Append the header of a masked client frame carrying `len` payload bytes.
pub fn encode_header(
    out: &mut Vec<u8>,
    fin: bool,
    rsv1: bool,
    opcode: u8,
    len: usize,
    mask: [u8; 4],
) {
    let b0 = (if fin { 0x80 } else { 0 }) | (if rsv1 { 0x40 } else { 0 }) | opcode;
    out.push(b0);
    if len < 126 {
        out.push(0x80 | len as u8);
    } else if len <= u16::MAX as usize {
        out.push(0x80 | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(&mask);
}

/// Append a masked client frame to `out`.
pub fn encode_frame(
    out: &mut Vec<u8>,
    fin: bool,
    rsv1: bool,
    opcode: u8,
    payload: &[u8],
    mask: [u8; 4],
) {
    out.reserve(14 + payload.len());
    encode_header(out, fin, rsv1, opcode, payload.len(), mask);
    extend_masked(out, payload, mask, 0);
}

/// Close codes a peer may put on the wire (websockets' EXTERNAL_CLOSE_CODES plus 3000–4999).
pub fn valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014) || (3000..5000).contains(&code)
}

/// Validates UTF-8 across fragment boundaries: a sequence cut by a frame edge is accepted
/// until the message ends.
#[derive(Default)]
pub struct Utf8Stream {
    carry: Vec<u8>,
    position: usize,
}

/// `(reason, position)` like Python's UnicodeDecodeError, for the 1007 close reason.
pub type Utf8Fault = (&'static str, usize);

impl Utf8Stream {
    pub fn reset(&mut self) {
        self.carry.clear();
        self.position = 0;
    }

    pub fn feed(&mut self, data: &[u8], last: bool) -> Result<(), Utf8Fault> {
        let mut joined;
        let bytes: &[u8] = if self.carry.is_empty() {
            data
        } else {
            joined = std::mem::take(&mut self.carry);
            joined.extend_from_slice(data);
            &joined
        };
        match std::str::from_utf8(bytes) {
            Ok(_) => {
                self.position += bytes.len();
                Ok(())
            }
            Err(err) => {
                let at = self.position + err.valid_up_to();
                match err.error_len() {
                    Some(_) => Err((utf8_reason(&bytes[err.valid_up_to()..]), at)),
                    None if last => Err(("unexpected end of data", at)),
                    None => {
                        self.position += err.valid_up_to();
                        self.carry = bytes[err.valid_up_to()..].to_vec();
                        Ok(())
                    }
                }
            }
        }
    }
}

/// Python's wording for the first bad byte of an invalid sequence.
fn utf8_reason(rest: &[u8]) -> &'static str {
    match rest.first() {
        Some(b) if (0x80..0xC2).contains(b) || *b >= 0xF5 => "invalid start byte",
        _ => "invalid continuation byte",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(data: &[u8], mask: [u8; 4]) -> Vec<u8> {
        data.iter()
            .enumerate()
            .map(|(i, b)| b ^ mask[i % 4])
            .collect()
    }

    #[test]
    fn masking_in_pieces_matches_whole() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();
        let mask = [0x12, 0x34, 0x56, 0x78];
        let expected = reference(&data, mask);
        for cut in [0, 1, 2, 3, 5, 31, 32, 33, 999, 1000] {
            let mut out = Vec::new();
            extend_masked(&mut out, &data[..cut], mask, 0);
            extend_masked(&mut out, &data[cut..], mask, cut);
            assert_eq!(out, expected, "cut at {cut}");
        }
    }
}
