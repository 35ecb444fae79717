//! permessage-deflate (RFC 7692) on flate2's zlib-rs backend: raw deflate, one sync flush per
//! frame, the `00 00 ff ff` tail stripped from the last frame of a message.
//!
//! The negotiation (parsing Sec-WebSocket-Extensions) happens in Python; this side gets the
//! agreed parameters.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

const TAIL: [u8; 4] = [0x00, 0x00, 0xFF, 0xFF];

#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// The peer resets its compressor after each message (we may reset our decompressor).
    pub remote_no_context_takeover: bool,
    /// We reset our compressor after each message.
    pub local_no_context_takeover: bool,
    /// Window bits our compressor may use.
    pub local_max_window_bits: u8,
}

pub struct Deflater {
    compress: Compress,
    reset_each_message: bool,
}

/// zlib refuses an 8-bit window for raw deflate; like zlib itself we use 9 instead, which is
/// what every peer accepts in practice.
fn window(bits: u8) -> u8 {
    bits.clamp(9, 15)
}

impl Deflater {
    pub fn new(params: &Params) -> Self {
        Deflater {
            compress: Compress::new_with_window_bits(
                Compression::new(6),
                false,
                window(params.local_max_window_bits),
            ),
            reset_each_message: params.local_no_context_takeover,
        }
    }

    /// Compress one frame's payload, appending to `out`.
    pub fn compress_frame(
        &mut self,
        data: &[u8],
        fin: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        let start = out.len();
        let mut input = data;
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(out.len().max(1024));
            }
            let before_in = self.compress.total_in();
            let status = self
                .compress
                .compress_vec(input, out, FlushCompress::Sync)
                .map_err(|e| e.to_string())?;
            let consumed = (self.compress.total_in() - before_in) as usize;
            input = &input[consumed..];
            // zlib's rule: the flush is complete once a call leaves room in the output.
            if matches!(status, Status::StreamEnd)
                || (input.is_empty() && out.len() < out.capacity())
            {
                break;
            }
        }
        if fin {
            if out.len() - start >= 4 && out[out.len() - 4..] == TAIL {
                out.truncate(out.len() - 4);
            } else if out.len() == start {
                // Nothing left to flush (empty last fragment): zlib-rs emits no empty block,
                // but the peer appends `00 00 ff ff` and needs the block header byte before it.
                out.push(0x00);
            }
            if self.reset_each_message {
                self.compress.reset();
            }
        }
        Ok(())
    }
}

pub struct Inflater {
    decompress: Decompress,
    reset_each_message: bool,
}

pub enum InflateError {
    TooBig,
    Corrupt(String),
}

impl Inflater {
    pub fn new(params: &Params) -> Self {
        // A 15-bit window decodes any smaller window the peer chose.
        Inflater {
            decompress: Decompress::new_with_window_bits(false, 15),
            reset_each_message: params.remote_no_context_takeover,
        }
    }

    /// Inflate one frame's payload into `out`; `limit` caps the size of `out`.
    pub fn inflate_frame(
        &mut self,
        data: &[u8],
        fin: bool,
        out: &mut Vec<u8>,
        limit: Option<usize>,
    ) -> Result<(), InflateError> {
        self.feed(data, out, limit)?;
        if fin {
            self.feed(&TAIL, out, limit)?;
            if self.reset_each_message {
                self.decompress.reset(false);
            }
        }
        Ok(())
    }

    fn feed(
        &mut self,
        mut input: &[u8],
        out: &mut Vec<u8>,
        limit: Option<usize>,
    ) -> Result<(), InflateError> {
        loop {
            if out.capacity() - out.len() < 4096 {
                let grow = (input.len() * 4).clamp(16 * 1024, 4 * 1024 * 1024);
                out.reserve(grow);
            }
            let before_in = self.decompress.total_in();
            let before_out = self.decompress.total_out();
            let status = self
                .decompress
                .decompress_vec(input, out, FlushDecompress::Sync)
                .map_err(|e| InflateError::Corrupt(e.to_string()))?;
            let consumed = (self.decompress.total_in() - before_in) as usize;
            let produced = self.decompress.total_out() - before_out;
            input = &input[consumed..];
            if let Some(max) = limit {
                if out.len() > max {
                    return Err(InflateError::TooBig);
                }
            }
            if matches!(status, Status::StreamEnd) {
                return Ok(());
            }
            if input.is_empty() && out.len() < out.capacity() {
                return Ok(());
            }
            if consumed == 0 && produced == 0 && out.len() < out.capacity() {
                return Ok(());
            }
        }
    }
}
