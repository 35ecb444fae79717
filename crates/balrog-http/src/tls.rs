//! The rustls configuration HTTPS requests use (handed to reqwest whole): trust as
//! urllib3/OpenSSL gives it. reqwest's own options cannot say two things requests users
//! rely on: trust a self-signed server certificate given as the CA bundle
//! (`verify="server.pem"`; webpki alone refuses a CA certificate as the server's), and
//! accept anything with `verify=False` while still checking the handshake signatures.

use std::sync::Arc;

use balrog_tls::{AnyCertificate, TrustedCertificates};
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};

/// What a Session's TLS settings come to: `verify`, the CA bundle's PEM (None: Mozilla's
/// roots), the client certificate and key PEM. Errors are messages for requests' SSLError.
pub fn client_config(
    verify: bool,
    ca_pem: Option<&[u8]>,
    identity_pem: Option<&[u8]>,
) -> Result<ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|err| format!("Could not set up TLS: {err}"))?;
    let verifier: Arc<dyn ServerCertVerifier> = if verify {
        let (roots, trusted) = roots(ca_pem)?;
        TrustedCertificates::new(roots, trusted, true, provider)
            .map_err(|err| format!("Could not load the CA bundle: {err}"))?
    } else {
        AnyCertificate::new(provider)
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match identity_pem {
        Some(pem) => {
            let certs = CertificateDer::pem_slice_iter(pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|err| format!("Could not load the client certificate: {err}"))?;
            let key = PrivateKeyDer::from_pem_slice(pem)
                .map_err(|err| format!("Could not load the client certificate: {err}"))?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|err| format!("Could not load the client certificate: {err}"))?
        }
        None => builder.with_no_client_auth(),
    };
    // What reqwest offers by itself: HTTP/2 where the server takes it.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// The roots, and the bundle's certificates as DER (a server certificate may be one of
/// them: see `TrustedCertificates`).
fn roots(ca_pem: Option<&[u8]>) -> Result<(RootCertStore, Vec<Vec<u8>>), String> {
    let mut roots = RootCertStore::empty();
    let Some(pem) = ca_pem else {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        return Ok((roots, Vec::new()));
    };
    let mut trusted = Vec::new();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|err| format!("Could not load the CA bundle: {err}"))?;
        trusted.push(cert.as_ref().to_vec());
        roots
            .add(cert)
            .map_err(|err| format!("Could not load the CA bundle: {err}"))?;
    }
    if trusted.is_empty() {
        return Err("The CA bundle holds no certificate".to_owned());
    }
    Ok((roots, trusted))
}
