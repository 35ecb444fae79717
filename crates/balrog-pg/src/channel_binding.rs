//! SCRAM channel binding of type `tls-server-end-point` (RFC 5929 §4): the hash of the
//! server's certificate, which ties the password exchange to this TLS connection so a
//! man in the middle holding another certificate cannot relay it (libpq's
//! `channel_binding`, SCRAM-SHA-256-PLUS).

use sha2::{Digest, Sha256, Sha384, Sha512};

/// The binding data for a server certificate (DER): hashed with the hash of the
/// certificate's signature algorithm, SHA-256 when that is MD5 or SHA-1. None for an
/// algorithm whose hash is not known here (RSASSA-PSS, Ed25519): no binding then.
pub fn tls_server_end_point(certificate: &[u8]) -> Option<Vec<u8>> {
    let oid = signature_algorithm(certificate)?;
    Some(match hash_of(oid)? {
        Hash::Sha256 => Sha256::digest(certificate).to_vec(),
        Hash::Sha384 => Sha384::digest(certificate).to_vec(),
        Hash::Sha512 => Sha512::digest(certificate).to_vec(),
    })
}

enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

/// The hash of a signature algorithm, by its OID's DER contents.
fn hash_of(oid: &[u8]) -> Option<Hash> {
    // 1.2.840.113549.1.1.x: PKCS #1 RSA signatures.
    const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01];
    // 1.2.840.10045.4.3.x: ECDSA with SHA-2, and 1.2.840.10045.4.1: ECDSA with SHA-1.
    const ECDSA_SHA2: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03];
    const ECDSA_SHA1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01];
    if oid == ECDSA_SHA1 {
        return Some(Hash::Sha256);
    }
    if let Some(&[last]) = oid.strip_prefix(RSA) {
        return match last {
            0x04 | 0x05 | 0x0b | 0x0e => Some(Hash::Sha256), // MD5, SHA-1, SHA-256, SHA-224
            0x0c => Some(Hash::Sha384),
            0x0d => Some(Hash::Sha512),
            _ => None,
        };
    }
    if let Some(&[last]) = oid.strip_prefix(ECDSA_SHA2) {
        return match last {
            0x01 | 0x02 => Some(Hash::Sha256), // SHA-224, SHA-256
            0x03 => Some(Hash::Sha384),
            0x04 => Some(Hash::Sha512),
            _ => None,
        };
    }
    None
}

/// The OID of `Certificate.signatureAlgorithm` (RFC 5280 §4.1): SEQUENCE { tbsCertificate,
/// signatureAlgorithm AlgorithmIdentifier { algorithm OID, ... }, signature }.
fn signature_algorithm(certificate: &[u8]) -> Option<&[u8]> {
    let (certificate, _) = element(certificate, SEQUENCE)?;
    let (_tbs, rest) = element(certificate, SEQUENCE)?;
    let (algorithm, _) = element(rest, SEQUENCE)?;
    let (oid, _) = element(algorithm, OID)?;
    Some(oid)
}

const SEQUENCE: u8 = 0x30;
const OID: u8 = 0x06;

/// The contents of the DER element at the start of `data` if its tag is `tag`, and what
/// follows it.
fn element(data: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&found, rest) = data.split_first()?;
    if found != tag {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let (bytes, rest) = rest.split_at_checked(count)?;
        let length = bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (length, rest)
    };
    rest.split_at_checked(length)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_short_and_long_lengths() {
        assert_eq!(
            element(&[0x30, 0x01, 0xaa, 0xbb], 0x30),
            Some((&[0xaa][..], &[0xbb][..]))
        );
        let mut long = vec![0x30, 0x82, 0x01, 0x00];
        long.extend(std::iter::repeat_n(0u8, 256));
        assert_eq!(
            element(&long, 0x30).map(|(c, r)| (c.len(), r.len())),
            Some((256, 0))
        );
        assert_eq!(element(&[0x30, 0x05, 0x00], 0x30), None); // truncated
        assert_eq!(element(&[0x31, 0x00], 0x30), None); // other tag
    }

    #[test]
    fn hashes_by_signature_algorithm() {
        let sha384_rsa = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c];
        assert!(matches!(hash_of(&sha384_rsa), Some(Hash::Sha384)));
        let ecdsa_sha256 = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
        assert!(matches!(hash_of(&ecdsa_sha256), Some(Hash::Sha256)));
        let ed25519 = [0x2b, 0x65, 0x70];
        assert!(hash_of(&ed25519).is_none());
    }
}
