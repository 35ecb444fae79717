//! rustls certificate verifiers shared by balrog's drivers.
//!
//! rustls only ships the full WebPKI check (chain up to trusted roots *and* the host name).
//! The drivers need the policies their Python originals (OpenSSL underneath) offer:
//!
//! * [`AnyCertificate`]: encrypt without authenticating the server — libpq's
//!   `sslmode=require`/`prefer` without a root certificate, websockets' `ssl.CERT_NONE`;
//! * [`TrustedCertificates`]: rustls' WebPKI check, optionally without the host name
//!   (libpq's `verify-ca`), also accepting a self-signed server certificate trusted as its
//!   own root, as OpenSSL does.
//!
//! Both still verify the handshake signatures, so the peer must hold the key of the
//! certificate it presents.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_name, VerifierBuilderError, WebPkiServerVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// Accepts any server certificate; checks the handshake signatures with `provider`.
#[derive(Debug)]
pub struct AnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl AnyCertificate {
    pub fn new(provider: Arc<CryptoProvider>) -> Arc<Self> {
        Arc::new(AnyCertificate { provider })
    }
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The WebPKI check — the chain up to the trusted certificates, and the host name unless
/// `check_name` is off (libpq's `verify-ca`) — plus one case OpenSSL accepts and webpki
/// does not: a server certificate that is itself one of the trusted certificates while
/// marked as a CA, i.e. a self-signed certificate trusted as its own root (PostgreSQL's
/// documented `openssl req -x509` set-up with `sslrootcert=server.crt`, websockets'
/// `load_verify_locations("localhost.pem")`). webpki refuses those as
/// `CaUsedAsEndEntity`, a check it makes after the validity period's, so an expired one is
/// still refused.
#[derive(Debug)]
pub struct TrustedCertificates {
    inner: Arc<WebPkiServerVerifier>,
    trusted: Vec<Vec<u8>>,
    check_name: bool,
}

impl TrustedCertificates {
    /// The WebPKI verifier on `roots` (checking signatures with `provider`), where `roots`
    /// were made of `trusted` (DER), or are other roots with `trusted` empty (the system's
    /// or Mozilla's: CAs, never a server's own certificate). Fails when `roots` is empty.
    pub fn new(
        roots: RootCertStore,
        trusted: Vec<Vec<u8>>,
        check_name: bool,
        provider: Arc<CryptoProvider>,
    ) -> Result<Arc<Self>, VerifierBuilderError> {
        let inner =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider).build()?;
        Ok(Arc::new(TrustedCertificates {
            inner,
            trusted,
            check_name,
        }))
    }

    fn is_trusted_itself(&self, end_entity: &CertificateDer<'_>) -> bool {
        self.trusted
            .iter()
            .any(|der| der.as_slice() == end_entity.as_ref())
    }
}

fn is_ca_used_as_end_entity(err: &rustls::Error) -> bool {
    match err {
        rustls::Error::InvalidCertificate(CertificateError::Other(other)) => matches!(
            other.0.downcast_ref::<webpki::Error>(),
            Some(webpki::Error::CaUsedAsEndEntity)
        ),
        _ => false,
    }
}

impl ServerCertVerifier for TrustedCertificates {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            // webpki checks the chain first and the name last: a name mismatch means the
            // chain itself was valid.
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            Err(err) if is_ca_used_as_end_entity(&err) && self.is_trusted_itself(end_entity) => {
                if self.check_name {
                    let parsed = ParsedCertificate::try_from(end_entity)?;
                    verify_server_name(&parsed, server_name)?;
                }
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
