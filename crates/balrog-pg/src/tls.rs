//! TLS for PostgreSQL connections (rustls), with libpq's `sslmode` semantics.
//!
//! PostgreSQL starts every TCP connection in plaintext; the client asks for TLS with an
//! SSLRequest and the server answers one byte, `S` (go ahead) or `N` (no TLS here). What
//! happens next depends on `sslmode`, exactly as libpq:
//!
//! | sslmode     | asks for TLS | server says N | verifies the certificate                  |
//! |-------------|--------------|---------------|--------------------------------------------|
//! | disable     | never        | -             | -                                          |
//! | allow       | after a plaintext attempt fails | plaintext | no                     |
//! | prefer      | first        | plaintext     | no                                         |
//! | require     | yes          | error         | no; chain only if a root certificate file exists |
//! | verify-ca   | yes          | error         | chain up to `sslrootcert`                  |
//! | verify-full | yes          | error         | chain and host name                        |
//!
//! `sslrootcert` defaults to `~/.postgresql/root.crt`; `sslrootcert=system` uses the
//! system's trust store (and, as libpq, requires verify-full). A client certificate is sent
//! from `sslcert`/`sslkey` (default `~/.postgresql/postgresql.crt` / `.key`) when present.
//! Unix-domain sockets never use TLS (libpq does not either).

use std::path::PathBuf;
use std::sync::Arc;

use balrog_tls::{AnyCertificate, TrustedCertificates};
use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{CertificateError, ClientConfig, RootCertStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::errors::PgError;

/// libpq's `sslmode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub fn parse(value: &str) -> Result<Self, PgError> {
        Ok(match value {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "" | "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(PgError::Operational(format!(
                    "invalid sslmode value: \"{other}\""
                )))
            }
        })
    }
}

/// The TLS settings of a connection, from the conninfo (`sslmode`, `sslrootcert`, ...).
#[derive(Clone, Debug)]
pub struct TlsOptions {
    pub mode: SslMode,
    pub rootcert: Option<String>,
    pub cert: Option<String>,
    pub key: Option<String>,
    /// Send the host name in the TLS handshake (libpq's `sslsni`, on by default).
    pub sni: bool,
}

impl Default for TlsOptions {
    fn default() -> Self {
        TlsOptions {
            mode: SslMode::Prefer,
            rootcert: None,
            cert: None,
            key: None,
            sni: true,
        }
    }
}

impl TlsOptions {
    pub fn from_pairs(sslmode: &str, options: &[(String, String)]) -> Result<Self, PgError> {
        let mut out = TlsOptions {
            mode: SslMode::parse(sslmode)?,
            ..TlsOptions::default()
        };
        for (key, value) in options {
            let value = (!value.is_empty()).then(|| value.clone());
            match key.as_str() {
                "sslrootcert" => out.rootcert = value,
                "sslcert" => out.cert = value,
                "sslkey" => out.key = value,
                "sslsni" => out.sni = value.as_deref() != Some("0"),
                _ => {}
            }
        }
        if out.rootcert.as_deref() == Some("system") && out.mode != SslMode::VerifyFull {
            // libpq: sslrootcert=system makes the default sslmode verify-full, and refuses
            // a weaker one given explicitly.
            if !sslmode.is_empty() {
                return Err(PgError::Operational(format!(
                    "weak sslmode \"{sslmode}\" may not be used with sslrootcert=system (use \"verify-full\")"
                )));
            }
            out.mode = SslMode::VerifyFull;
        }
        Ok(out)
    }
}

fn home_file(name: &str) -> Option<PathBuf> {
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".postgresql").join(name))
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_error(what: impl std::fmt::Display) -> PgError {
    PgError::Operational(format!("SSL error: {what}"))
}

/// The system's trust store, from the files OpenSSL would read (what libpq's
/// `sslrootcert=system` uses); Mozilla's roots if none is readable.
fn system_roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(file) = std::env::var_os("SSL_CERT_FILE") {
        candidates.push(PathBuf::from(file));
    }
    for file in [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/ca-bundle.pem",
        "/etc/ssl/cert.pem",
    ] {
        candidates.push(PathBuf::from(file));
    }
    for file in candidates {
        if let Ok(iter) = CertificateDer::pem_file_iter(&file) {
            for cert in iter.flatten() {
                let _ = roots.add(cert);
            }
            if !roots.is_empty() {
                return roots;
            }
        }
    }
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    roots
}

/// The certificates of a root certificate file, as roots and as DER (a server certificate
/// may be one of them: see `balrog_tls::TrustedCertificates`).
fn file_roots(path: &PathBuf) -> Result<(RootCertStore, Vec<Vec<u8>>), PgError> {
    let mut roots = RootCertStore::empty();
    let mut ders = Vec::new();
    let iter = CertificateDer::pem_file_iter(path).map_err(|e| {
        PgError::Operational(format!(
            "could not read root certificate file \"{}\": {e}",
            path.display()
        ))
    })?;
    for cert in iter {
        let cert = cert.map_err(|e| {
            PgError::Operational(format!(
                "could not read root certificate file \"{}\": {e}",
                path.display()
            ))
        })?;
        ders.push(cert.as_ref().to_vec());
        roots.add(cert).map_err(|e| {
            PgError::Operational(format!(
                "could not read root certificate file \"{}\": {e}",
                path.display()
            ))
        })?;
    }
    if roots.is_empty() {
        return Err(PgError::Operational(format!(
            "could not read root certificate file \"{}\": no certificates found",
            path.display()
        )));
    }
    Ok((roots, ders))
}

/// How the server's certificate is checked, after libpq's rules.
enum Trust {
    /// require/prefer/allow without a root certificate: encryption only.
    Nothing,
    /// The chain must lead to `roots`; with `check_name`, the host name must match too.
    Roots {
        roots: RootCertStore,
        /// The root file's certificates (DER); empty for the system's roots.
        trusted: Vec<Vec<u8>>,
        check_name: bool,
    },
}

fn trust(options: &TlsOptions) -> Result<Trust, PgError> {
    if options.rootcert.as_deref() == Some("system") {
        return Ok(Trust::Roots {
            roots: system_roots(),
            trusted: Vec::new(),
            check_name: true,
        });
    }
    let path = match &options.rootcert {
        Some(file) => Some(PathBuf::from(file)),
        None => home_file("root.crt"),
    };
    let exists = path.as_ref().is_some_and(|p| p.exists());
    match options.mode {
        SslMode::VerifyCa | SslMode::VerifyFull => {
            let Some(path) = path.filter(|_| exists) else {
                let shown = match &options.rootcert {
                    Some(file) => file.clone(),
                    None => home_file("root.crt")
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|| "~/.postgresql/root.crt".into()),
                };
                return Err(PgError::Operational(format!(
                    "root certificate file \"{shown}\" does not exist\nEither provide the file, \
                     use the system's trusted roots with sslrootcert=system, or change sslmode \
                     to disable server certificate verification."
                )));
            };
            let (roots, trusted) = file_roots(&path)?;
            Ok(Trust::Roots {
                roots,
                trusted,
                check_name: options.mode == SslMode::VerifyFull,
            })
        }
        // libpq: with a root certificate file present, require behaves as verify-ca.
        SslMode::Require if exists => match path {
            Some(path) => {
                let (roots, trusted) = file_roots(&path)?;
                Ok(Trust::Roots {
                    roots,
                    trusted,
                    check_name: false,
                })
            }
            None => Ok(Trust::Nothing),
        },
        _ => Ok(Trust::Nothing),
    }
}

/// The client certificate and key to present, if configured (or in ~/.postgresql).
fn client_identity(
    options: &TlsOptions,
) -> Result<Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>, PgError> {
    let cert_path = match &options.cert {
        Some(file) => PathBuf::from(file),
        None => match home_file("postgresql.crt") {
            Some(path) => path,
            None => return Ok(None),
        },
    };
    if !cert_path.exists() {
        // libpq silently skips a missing default file, and also a missing explicit one.
        return Ok(None);
    }
    let certs = CertificateDer::pem_file_iter(&cert_path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            PgError::Operational(format!(
                "could not load client certificate file \"{}\": {e}",
                cert_path.display()
            ))
        })?;
    let key_path = match &options.key {
        Some(file) => PathBuf::from(file),
        None => home_file("postgresql.key").unwrap_or_default(),
    };
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|e| {
        PgError::Operational(format!(
            "could not load private key file \"{}\": {e}",
            key_path.display()
        ))
    })?;
    Ok(Some((certs, key)))
}

/// The rustls configuration for these options.
pub fn client_config(options: &TlsOptions) -> Result<Arc<ClientConfig>, PgError> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?;
    let verifier: Arc<dyn ServerCertVerifier> = match trust(options)? {
        // sslmode=require/prefer without a root certificate: libpq encrypts without
        // authenticating the server.
        Trust::Nothing => AnyCertificate::new(provider.clone()),
        Trust::Roots {
            roots,
            trusted,
            check_name,
        } => TrustedCertificates::new(roots, trusted, check_name, provider).map_err(tls_error)?,
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match client_identity(options)? {
        Some((certs, key)) => builder
            .with_client_auth_cert(certs, key)
            .map_err(|e| PgError::Operational(format!("could not load private key: {e}")))?,
        None => builder.with_no_client_auth(),
    };
    config.enable_sni = options.sni;
    Ok(Arc::new(config))
}

/// The rustls configuration of a connection, or why it could not be made (a missing root
/// certificate file...): libpq loads its TLS files only once a server has agreed to TLS,
/// so the error belongs to that attempt (and a server that refuses TLS is reported first).
pub type Setup = Result<Arc<ClientConfig>, String>;

/// What the server answered to the SSLRequest.
pub enum Negotiated {
    Tls(Box<TlsStream<TcpStream>>),
    /// `N`: the server does not do TLS; the socket continues in plaintext.
    Refused(TcpStream),
    /// `S`, then the TLS handshake failed: libpq tries the next encryption method (a new
    /// plaintext connection for sslmode=prefer), unlike after the failures returned as Err.
    HandshakeFailed(PgError),
}

/// Send the SSLRequest and, if the server agrees, run the TLS handshake for `host`.
pub async fn negotiate(
    mut stream: TcpStream,
    host: &str,
    setup: &Setup,
) -> Result<Negotiated, PgError> {
    let mut request = bytes::BytesMut::new();
    postgres_protocol::message::frontend::ssl_request(&mut request);
    stream.write_all(&request).await?;
    // Exactly one byte: anything the server sends after it must go through TLS (reading
    // more would let a man in the middle inject plaintext, CVE-2021-23222).
    let mut answer = [0u8; 1];
    stream.read_exact(&mut answer).await?;
    match answer[0] {
        b'S' => {}
        b'N' => return Ok(Negotiated::Refused(stream)),
        // libpq does not read the error: the server is not authenticated yet.
        b'E' => {
            return Err(PgError::Operational(
                "server sent an error response during SSL exchange".into(),
            ))
        }
        other => {
            return Err(PgError::Operational(format!(
                "received invalid response to SSL negotiation: {}",
                shown_byte(other)
            )))
        }
    }
    let config = match setup {
        Ok(config) => config.clone(),
        Err(message) => {
            return Ok(Negotiated::HandshakeFailed(PgError::Operational(
                message.clone(),
            )))
        }
    };
    let name = server_name(host)?;
    let tls = TlsConnector::from(config).connect(name, stream).await;
    Ok(match tls {
        Ok(tls) => Negotiated::Tls(Box::new(tls)),
        Err(e) => Negotiated::HandshakeFailed(
            match e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            {
                Some(rustls::Error::InvalidCertificate(why)) => certificate_error(why, host),
                _ => tls_error(e),
            },
        ),
    })
}

/// A byte as libpq's `%c` shows it in a message psycopg decodes: ASCII as itself, other
/// bytes as U+FFFD (not UTF-8 on their own), NUL as nothing (it ends libpq's C string).
pub fn shown_byte(byte: u8) -> String {
    match byte {
        0 => String::new(),
        1..=0x7f => char::from(byte).to_string(),
        _ => char::REPLACEMENT_CHARACTER.to_string(),
    }
}

/// A rejected server certificate, worded as libpq words it.
fn certificate_error(why: &CertificateError, host: &str) -> PgError {
    match why {
        CertificateError::NotValidForNameContext { presented, .. } if !presented.is_empty() => {
            // rustls shows names as `DnsName("x")` / `IpAddress(1.2.3.4)`: keep the name.
            let bare = |shown: &String| {
                let inner = shown
                    .split_once('(')
                    .map(|(_, rest)| rest.trim_end_matches(')'))
                    .unwrap_or(shown);
                inner.trim_matches('"').to_owned()
            };
            let first = bare(&presented[0]);
            let others = match presented.len() - 1 {
                0 => String::new(),
                1 => " (and 1 other name)".to_owned(),
                n => format!(" (and {n} other names)"),
            };
            PgError::Operational(format!(
                "server certificate for \"{first}\"{others} does not match host name \"{host}\""
            ))
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            PgError::Operational(format!(
                "server certificate does not match host name \"{host}\""
            ))
        }
        // OpenSSL's words for every other reason (unknown issuer, expired...).
        _ => tls_error("certificate verify failed"),
    }
}

fn server_name(host: &str) -> Result<ServerName<'static>, PgError> {
    // An IPv6 literal may come bracketed from a URI.
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(bare.to_owned())
        .map_err(|_| PgError::Operational(format!("invalid host name for TLS: \"{host}\"")))
}
