//! A cheap hasher for the client's small, bounded caches (parsed URLs, header names,
//! per-origin pools), looked up on every request.
//!
//! The standard library's SipHash resists collision flooding by hostile keys, at ~300
//! instructions for a URL-sized key; callgrind counted ~3.7k instructions of hashing per
//! plain GET. These maps are bounded (they are cleared or evicted past a few hundred
//! entries) and a collision costs a comparison, so flooding cannot hurt them: a
//! multiply-rotate hash over 8-byte words does.

use std::hash::{BuildHasherDefault, Hasher};

/// 2^64 / φ, odd: multiplying by it spreads every input bit over the high bits.
const SEED: u64 = 0x9e37_79b9_7f4a_7c15;

#[derive(Default, Clone, Copy)]
pub struct WordHasher {
    hash: u64,
}

impl WordHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut buf = [0u8; 8];
            buf.copy_from_slice(word);
            self.add(u64::from_le_bytes(buf));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(buf));
        }
    }

    fn write_u8(&mut self, value: u8) {
        self.add(u64::from(value));
    }

    fn write_u32(&mut self, value: u32) {
        self.add(u64::from(value));
    }

    fn write_u64(&mut self, value: u64) {
        self.add(value);
    }

    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }

    fn finish(&self) -> u64 {
        // hashbrown takes its control bits from the top 7: fold the low bits in too.
        self.hash ^ (self.hash >> 32)
    }
}

/// The `BuildHasher` for `HashMap<K, V, FastHash>`.
pub type FastHash = BuildHasherDefault<WordHasher>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn maps_work_with_it() {
        let mut map: HashMap<String, usize, FastHash> = HashMap::default();
        for i in 0..1000 {
            map.insert(format!("http://127.0.0.1:{i}/path?q={i}"), i);
        }
        for i in 0..1000 {
            assert_eq!(
                map.get(&format!("http://127.0.0.1:{i}/path?q={i}")),
                Some(&i)
            );
        }
        assert_eq!(map.get("http://127.0.0.1:1000/path?q=1000"), None);
    }
}
