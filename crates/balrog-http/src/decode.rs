//! Push-style content decoding (gzip, deflate, br, zstd), one network chunk at a time, so a
//! streamed download of any size keeps a small, flat memory footprint.
//!
//! Decoding happens here rather than in reqwest so that the response keeps the server's
//! `Content-Encoding`/`Content-Length` headers (as requests shows them) and so that
//! `raw.read(decode_content=False)` can still see the encoded bytes.

use std::io::Write;

use flate2::write::{DeflateDecoder, MultiGzDecoder, ZlibDecoder};

use crate::errors::{HttpError, Kind};

enum Stage {
    Gzip(MultiGzDecoder<Vec<u8>>),
    /// `Content-Encoding: deflate` is zlib-wrapped by the standard but raw deflate from many
    /// servers; which one is decided from the first two bytes (as urllib3 does by retrying).
    DeflatePending(Vec<u8>),
    Zlib(ZlibDecoder<Vec<u8>>),
    RawDeflate(DeflateDecoder<Vec<u8>>),
    Brotli(Box<brotli_decompressor::DecompressorWriter<Vec<u8>>>),
    Zstd(zstd::stream::write::Decoder<'static, Vec<u8>>),
}

fn broken(err: impl std::fmt::Display) -> HttpError {
    HttpError::new(
        Kind::ContentDecodingError,
        format!("Received response with content-encoding, but failed to decode it: {err}"),
    )
}

impl Stage {
    fn for_coding(coding: &str) -> Result<Option<Stage>, HttpError> {
        Ok(Some(match coding {
            "gzip" | "x-gzip" => Stage::Gzip(MultiGzDecoder::new(Vec::new())),
            "deflate" => Stage::DeflatePending(Vec::new()),
            "br" => Stage::Brotli(Box::new(brotli_decompressor::DecompressorWriter::new(
                Vec::new(),
                16 * 1024,
            ))),
            "zstd" => Stage::Zstd(zstd::stream::write::Decoder::new(Vec::new()).map_err(broken)?),
            _ => return Ok(None),
        }))
    }

    fn resolve_deflate(pending: &mut Vec<u8>) -> Result<Option<Stage>, HttpError> {
        if pending.len() < 2 {
            return Ok(None);
        }
        let (b0, b1) = (pending[0], pending[1]);
        let zlib = b0 & 0x0f == 8 && (u16::from(b0) << 8 | u16::from(b1)) % 31 == 0;
        let data = std::mem::take(pending);
        let mut stage = if zlib {
            Stage::Zlib(ZlibDecoder::new(Vec::new()))
        } else {
            Stage::RawDeflate(DeflateDecoder::new(Vec::new()))
        };
        stage.push(&data)?;
        Ok(Some(stage))
    }

    fn push(&mut self, input: &[u8]) -> Result<(), HttpError> {
        match self {
            Stage::Gzip(d) => d.write_all(input).map_err(broken),
            Stage::DeflatePending(pending) => {
                pending.extend_from_slice(input);
                if let Some(stage) = Self::resolve_deflate(pending)? {
                    *self = stage;
                }
                Ok(())
            }
            Stage::Zlib(d) => d.write_all(input).map_err(broken),
            Stage::RawDeflate(d) => d.write_all(input).map_err(broken),
            Stage::Brotli(d) => d.write_all(input).map_err(broken),
            Stage::Zstd(d) => d.write_all(input).and_then(|()| d.flush()).map_err(broken),
        }
    }

    fn take_output(&mut self) -> Vec<u8> {
        match self {
            Stage::Gzip(d) => std::mem::take(d.get_mut()),
            Stage::DeflatePending(_) => Vec::new(),
            Stage::Zlib(d) => std::mem::take(d.get_mut()),
            Stage::RawDeflate(d) => std::mem::take(d.get_mut()),
            Stage::Brotli(d) => std::mem::take(d.get_mut()),
            Stage::Zstd(d) => std::mem::take(d.get_mut()),
        }
    }

    fn finish(&mut self) -> Result<(), HttpError> {
        match self {
            Stage::Gzip(d) => d.try_finish().map_err(broken),
            Stage::DeflatePending(pending) => {
                if pending.is_empty() {
                    return Ok(());
                }
                // A one-byte body: let the raw decoder judge it.
                let data = std::mem::take(pending);
                let mut stage = Stage::RawDeflate(DeflateDecoder::new(Vec::new()));
                stage.push(&data)?;
                stage.finish()?;
                *self = stage;
                Ok(())
            }
            Stage::Zlib(d) => d.try_finish().map_err(broken),
            Stage::RawDeflate(d) => d.try_finish().map_err(broken),
            Stage::Brotli(d) => d.close().map_err(broken),
            Stage::Zstd(d) => d.flush().map_err(broken),
        }
    }
}

/// The decoders for a `Content-Encoding` header, applied in reverse order of listing.
pub struct Decoder {
    stages: Vec<Stage>,
    /// Some body arrived. An empty body (a HEAD, a 304 or 204 that names its coding) is
    /// no stream at all, and urllib3 decodes it to b"" where a gzip or brotli decoder
    /// finished without input reports a truncated stream.
    received: bool,
}

impl Decoder {
    /// `None` when the body needs no decoding (no or unknown encoding, as urllib3 leaves
    /// unknown codings alone).
    pub fn for_header(content_encoding: Option<&str>) -> Result<Option<Decoder>, HttpError> {
        let Some(header) = content_encoding else {
            return Ok(None);
        };
        let mut stages = Vec::new();
        for coding in header.split(',').rev() {
            let coding = coding.trim().to_ascii_lowercase();
            if coding.is_empty() || coding == "identity" {
                continue;
            }
            match Stage::for_coding(&coding)? {
                Some(stage) => stages.push(stage),
                None => return Ok(None),
            }
        }
        Ok(if stages.is_empty() {
            None
        } else {
            Some(Decoder {
                stages,
                received: false,
            })
        })
    }

    /// Decode one network chunk; may return an empty vector while decoders buffer.
    pub fn push(&mut self, input: &[u8]) -> Result<Vec<u8>, HttpError> {
        self.received |= !input.is_empty();
        let mut data = input.to_vec();
        for stage in &mut self.stages {
            stage.push(&data)?;
            data = stage.take_output();
        }
        Ok(data)
    }

    /// Flush every stage at the end of the body; returns what was still buffered.
    pub fn finish(&mut self) -> Result<Vec<u8>, HttpError> {
        let mut data = Vec::new();
        if !self.received {
            return Ok(data);
        }
        for stage in &mut self.stages {
            if !data.is_empty() {
                stage.push(&data)?;
            }
            stage.finish()?;
            data = stage.take_output();
        }
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_body_decodes_to_nothing_whatever_its_coding() {
        for coding in ["gzip", "br", "deflate", "zstd", "gzip, br"] {
            let mut decoder = Decoder::for_header(Some(coding))
                .ok()
                .flatten()
                .expect("a known coding");
            assert!(
                decoder.push(b"").map(|out| out.is_empty()).unwrap_or(false),
                "{coding}"
            );
            assert!(
                decoder.finish().map(|out| out.is_empty()).unwrap_or(false),
                "{coding}"
            );
        }
    }
}
