//! Opening a connection: socket, startup message, authentication (cleartext, MD5,
//! SCRAM-SHA-256), then the server's parameters and key data.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use postgres_protocol::authentication::md5_hash;
use postgres_protocol::authentication::sasl::{
    ChannelBinding, ScramSha256, SCRAM_SHA_256, SCRAM_SHA_256_PLUS,
};
use postgres_protocol::message::backend::Message;
use postgres_protocol::message::frontend;
use tokio::net::{TcpStream, UnixStream};

use crate::errors::PgError;
use crate::proto::{error_fields, Io, Shared, Stream};
use crate::tls::{self, Negotiated, SslMode, TlsOptions};

/// Connection parameters, already merged from conninfo, keywords and the environment.
#[derive(Clone, Debug, Default)]
pub struct Params {
    pub hosts: Vec<String>,
    pub hostaddrs: Vec<String>,
    pub ports: Vec<u16>,
    pub user: String,
    pub password: Option<String>,
    pub dbname: String,
    pub connect_timeout: Option<Duration>,
    /// Startup parameters sent to the server besides user and database.
    pub startup: Vec<(String, String)>,
    pub tls: TlsOptions,
    pub auth: AuthRules,
}

/// libpq's `channel_binding` and `require_auth`: which authentication a server may ask for
/// (checked by Python beforehand for well-formedness).
#[derive(Clone, Debug, Default)]
pub struct AuthRules {
    /// `channel_binding=require`: only SCRAM-SHA-256-PLUS (over TLS) will do.
    pub channel_binding_required: bool,
    /// `channel_binding=disable`: never SCRAM-SHA-256-PLUS.
    pub channel_binding_disabled: bool,
    /// `require_auth` as given (for the error), whether negated, and its methods.
    pub require_auth: Option<(String, bool, Vec<String>)>,
}

impl AuthRules {
    /// None if `method` ("password", "md5", "scram-sha-256", "none") is allowed; else
    /// libpq's error text, `reason` saying what the server did.
    fn refuses(&self, method: &str, reason: &str) -> Option<String> {
        let (text, negated, methods) = self.require_auth.as_ref()?;
        let listed = methods.iter().any(|m| m == method);
        if listed != *negated {
            return None;
        }
        Some(format!(
            "authentication method requirement \"{text}\" failed: {reason}"
        ))
    }
}

/// Where the cancel request must go (the address the connection reached).
#[derive(Clone, Debug)]
pub enum Target {
    Tcp(String, u16),
    Unix(String),
}

impl Target {
    pub fn describe(&self) -> String {
        match self {
            Target::Tcp(host, port) => {
                format!("connection to server at \"{host}\", port {port} failed")
            }
            Target::Unix(path) => format!("connection to server on socket \"{path}\" failed"),
        }
    }

    pub async fn open(&self) -> std::io::Result<Stream> {
        match self {
            Target::Tcp(host, port) => {
                let stream = TcpStream::connect((host.as_str(), *port)).await?;
                stream.set_nodelay(true)?;
                Ok(Stream::Tcp(stream))
            }
            Target::Unix(path) => Ok(Stream::Unix(UnixStream::connect(path).await?)),
        }
    }
}

/// Where to connect, with the name a TLS handshake verifies: the host name even when
/// `hostaddr` gives the address (as libpq).
fn targets(params: &Params) -> Vec<(Target, String)> {
    let mut out = Vec::new();
    let hosts = if params.hosts.is_empty() {
        vec![String::new()]
    } else {
        params.hosts.clone()
    };
    for (i, host) in hosts.iter().enumerate() {
        let port = match params.ports.len() {
            0 => 5432,
            1 => params.ports[0],
            _ => params.ports.get(i).copied().unwrap_or(5432),
        };
        let hostaddr = params.hostaddrs.get(i).filter(|a| !a.is_empty());
        let is_socket = host.starts_with('/') || host.starts_with('@');
        let tls_name = if host.is_empty() || is_socket {
            hostaddr.cloned().unwrap_or_default()
        } else {
            host.clone()
        };
        let target = if let Some(addr) = hostaddr {
            Target::Tcp(addr.clone(), port)
        } else if host.is_empty() {
            Target::Unix(format!("/var/run/postgresql/.s.PGSQL.{port}"))
        } else if is_socket {
            Target::Unix(format!("{}/.s.PGSQL.{port}", host.trim_end_matches('/')))
        } else {
            Target::Tcp(host.clone(), port)
        };
        out.push((target, tls_name));
    }
    out
}

fn server_fatal(target: &Target, fields: &[(u8, String)]) -> PgError {
    let severity = fields
        .iter()
        .find(|(c, _)| *c == b'V')
        .or_else(|| fields.iter().find(|(c, _)| *c == b'S'));
    let message = fields
        .iter()
        .find(|(c, _)| *c == b'M')
        .map(|(_, m)| m.as_str())
        .unwrap_or("");
    let severity = severity.map(|(_, s)| s.as_str()).unwrap_or("FATAL");
    PgError::Operational(format!(
        "connection failed: {}: {severity}:  {message}",
        target.describe()
    ))
}

async fn authenticate(
    io: &mut Io,
    params: &Params,
    target: &Target,
    shared: &Shared,
) -> Result<(), PgError> {
    let mut scram: Option<ScramSha256> = None;
    let no_password = || {
        PgError::Operational(format!(
            "connection failed: {}: fe_sendauth: no password supplied",
            target.describe()
        ))
    };
    let refused = |text: String| {
        PgError::Operational(format!("connection failed: {}: {text}", target.describe()))
    };
    let rules = &params.auth;
    // The method the server authenticated this connection with, as require_auth names it.
    let mut method = "none";
    // Whether SCRAM bound the exchange to this TLS connection.
    let mut bound = false;
    // The TLS server certificate's tls-server-end-point data, for SCRAM-SHA-256-PLUS.
    let end_point = match &io.stream {
        Stream::Tls(tls) => tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.first())
            .and_then(|certificate| crate::channel_binding::tls_server_end_point(certificate)),
        _ => None,
    };
    loop {
        let msg = io.next(shared).await?;
        let mut out = BytesMut::new();
        // libpq's order: require_auth first, then channel binding.
        let asked = match &msg {
            Message::AuthenticationCleartextPassword => {
                Some(("password", "server requested a cleartext password"))
            }
            Message::AuthenticationMd5Password(_) => {
                Some(("md5", "server requested a hashed password"))
            }
            // libpq refuses SASL as a whole against a list of allowed methods, and the
            // mechanism it would pick against a list of refused ones.
            Message::AuthenticationSasl(_) => Some((
                "scram-sha-256",
                if rules.require_auth.as_ref().is_some_and(|r| r.1) {
                    "server requested SCRAM-SHA-256 authentication"
                } else {
                    "server requested SASL authentication"
                },
            )),
            _ => None,
        };
        if let Some((name, reason)) = asked {
            if let Some(text) = rules.refuses(name, reason) {
                return Err(refused(text));
            }
            method = name;
            if rules.channel_binding_required && name != "scram-sha-256" {
                return Err(refused(
                    "channel binding required but not supported by server's authentication request"
                        .into(),
                ));
            }
        }
        match msg {
            Message::AuthenticationOk => {
                if method == "none" {
                    if let Some(text) =
                        rules.refuses("none", "server did not complete authentication")
                    {
                        return Err(refused(text));
                    }
                }
                if rules.channel_binding_required && !bound {
                    return Err(refused(
                        "channel binding required, but server authenticated client without channel binding"
                            .into(),
                    ));
                }
                return Ok(());
            }
            Message::AuthenticationCleartextPassword => {
                let password = params.password.as_deref().ok_or_else(no_password)?;
                frontend::password_message(password.as_bytes(), &mut out)?;
            }
            Message::AuthenticationMd5Password(body) => {
                let password = params.password.as_deref().ok_or_else(no_password)?;
                let hashed = md5_hash(params.user.as_bytes(), password.as_bytes(), body.salt());
                frontend::password_message(hashed.as_bytes(), &mut out)?;
            }
            Message::AuthenticationSasl(body) => {
                let password = params.password.as_deref().ok_or_else(no_password)?;
                let mut mechanisms = body.mechanisms();
                let (mut has_scram, mut has_plus) = (false, false);
                while let Ok(Some(m)) = fallible_iterator::FallibleIterator::next(&mut mechanisms) {
                    has_scram |= m == SCRAM_SHA_256;
                    has_plus |= m == SCRAM_SHA_256_PLUS;
                }
                // libpq's choice: SCRAM-SHA-256-PLUS whenever TLS is in use and the server
                // offers it, unless channel_binding=disable.
                let plus = match &end_point {
                    Some(data) if has_plus && !rules.channel_binding_disabled => Some(data.clone()),
                    _ => None,
                };
                if rules.channel_binding_required && plus.is_none() {
                    return Err(refused(if has_plus {
                        "channel binding is required, but client does not support it".into()
                    } else {
                        "channel binding is required, but server did not offer an authentication method that supports channel binding".into()
                    }));
                }
                if plus.is_none() && !has_scram {
                    return Err(PgError::Operational(format!(
                        "connection failed: {}: none of the server's SASL authentication mechanisms are supported",
                        target.describe()
                    )));
                }
                let (mechanism, binding) = match plus {
                    Some(data) => (
                        SCRAM_SHA_256_PLUS,
                        ChannelBinding::tls_server_end_point(data),
                    ),
                    // "y": this client binds channels, but the server did not offer it (a
                    // server that did would see a downgrade). "n" without TLS, when told not
                    // to, or when the certificate's hash is not known here.
                    None if end_point.is_some() && !rules.channel_binding_disabled => {
                        (SCRAM_SHA_256, ChannelBinding::unrequested())
                    }
                    None => (SCRAM_SHA_256, ChannelBinding::unsupported()),
                };
                bound = mechanism == SCRAM_SHA_256_PLUS;
                let state = ScramSha256::new(password.as_bytes(), binding);
                frontend::sasl_initial_response(mechanism, state.message(), &mut out)?;
                scram = Some(state);
            }
            Message::AuthenticationSaslContinue(body) => {
                let state = scram
                    .as_mut()
                    .ok_or_else(|| PgError::lost("unexpected SASL message"))?;
                state.update(body.data()).map_err(PgError::lost)?;
                frontend::sasl_response(state.message(), &mut out)?;
            }
            Message::AuthenticationSaslFinal(body) => {
                let state = scram
                    .as_mut()
                    .ok_or_else(|| PgError::lost("unexpected SASL message"))?;
                state.finish(body.data()).map_err(|e| {
                    PgError::Operational(format!(
                        "connection failed: {}: SCRAM verification failed: {e}",
                        target.describe()
                    ))
                })?;
                continue;
            }
            Message::ErrorResponse(body) => {
                return Err(server_fatal(target, &error_fields(body.fields())))
            }
            _ => {
                return Err(PgError::Operational(format!(
                "connection failed: {}: unsupported authentication method requested by the server",
                target.describe()
            )))
            }
        }
        io.wbuf.extend_from_slice(&out);
        io.flush().await?;
    }
}

/// Why one connection attempt failed, and whether the server was reached at all (libpq
/// retries with the other TLS choice only then, for sslmode allow and prefer).
struct Failed {
    error: PgError,
    reached: bool,
}

impl From<PgError> for Failed {
    fn from(error: PgError) -> Self {
        Failed {
            error,
            reached: true,
        }
    }
}

impl From<std::io::Error> for Failed {
    fn from(error: std::io::Error) -> Self {
        PgError::from(error).into()
    }
}

/// Open the socket; with `tls`, ask for TLS first. `mode` decides what a refusal means.
async fn open_stream(
    target: &Target,
    tls_name: &str,
    tls: Option<&Arc<rustls::ClientConfig>>,
    mode: SslMode,
) -> Result<Stream, Failed> {
    let fail = |error: PgError| Failed {
        error,
        reached: true,
    };
    let stream = target.open().await.map_err(|e| Failed {
        error: PgError::Operational(format!("connection failed: {}: {e}", target.describe())),
        reached: false,
    })?;
    // TLS only over TCP: libpq never asks for it on a Unix-domain socket.
    let Some(config) = tls else {
        return Ok(stream);
    };
    let tcp = match stream {
        Stream::Tcp(tcp) => tcp,
        other => return Ok(other),
    };
    let describe = |e: PgError| match e {
        PgError::Operational(msg) | PgError::Lost(msg) => {
            PgError::Operational(format!("connection failed: {}: {msg}", target.describe()))
        }
        other => other,
    };
    match tls::negotiate(tcp, tls_name, config.clone()).await {
        Ok(Negotiated::Tls(stream)) => Ok(Stream::Tls(stream)),
        Ok(Negotiated::Refused(_)) if mode.requires_tls() => Err(fail(describe(
            PgError::Operational("server does not support SSL, but SSL was required".into()),
        ))),
        Ok(Negotiated::Refused(tcp)) => Ok(Stream::Tcp(tcp)),
        Err(e) => Err(fail(describe(e))),
    }
}

async fn handshake(
    params: &Params,
    (target, tls_name): (&Target, &str),
    shared: &Shared,
    tls: Option<&Arc<rustls::ClientConfig>>,
) -> Result<Io, Failed> {
    let stream = open_stream(target, tls_name, tls, params.tls.mode).await?;
    let mut io = Io::new(stream);
    let mut startup: Vec<(&str, &str)> = vec![
        ("user", params.user.as_str()),
        ("database", params.dbname.as_str()),
    ];
    for (k, v) in &params.startup {
        startup.push((k.as_str(), v.as_str()));
    }
    let mut out = BytesMut::new();
    frontend::startup_message(startup, &mut out)?;
    io.wbuf.extend_from_slice(&out);
    io.flush().await?;
    authenticate(&mut io, params, target, shared).await?;
    loop {
        match io.next(shared).await? {
            Message::BackendKeyData(body) => {
                let mut status = shared.lock();
                status.pid = body.process_id();
                status.secret = body.secret_key();
            }
            Message::ReadyForQuery(body) => {
                shared.lock().tx_status = body.status();
                return Ok(io);
            }
            Message::ErrorResponse(body) => {
                return Err(server_fatal(target, &error_fields(body.fields())).into())
            }
            _ => {}
        }
    }
}

/// Try each host in turn; the first that accepts wins. For each host, sslmode decides
/// whether TLS is asked for, and (allow, prefer) whether a failed attempt is retried with
/// the other choice, as libpq does.
pub async fn connect(params: Params, shared: &Shared) -> Result<(Io, Target), PgError> {
    let mode = params.tls.mode;
    let config = match mode {
        SslMode::Disable => None,
        _ => Some(tls::client_config(&params.tls)?),
    };
    // Whether each attempt asks for TLS.
    let attempts: &[bool] = match mode {
        SslMode::Disable => &[false],
        SslMode::Allow => &[false, true],
        SslMode::Prefer => &[true, false],
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => &[true],
    };
    let mut last = PgError::Operational("connection failed: no host to connect to".into());
    for (target, tls_name) in targets(&params) {
        for (i, &use_tls) in attempts.iter().enumerate() {
            let tls = config.as_ref().filter(|_| use_tls);
            let attempt = handshake(&params, (&target, &tls_name), shared, tls);
            let outcome = match params.connect_timeout {
                Some(limit) => match tokio::time::timeout(limit, attempt).await {
                    Ok(outcome) => outcome,
                    Err(_) => Err(Failed {
                        error: PgError::ConnectTimeout(format!(
                            "connection timeout expired: {}",
                            target.describe()
                        )),
                        reached: false,
                    }),
                },
                None => attempt.await,
            };
            match outcome {
                Ok(io) => return Ok((io, target)),
                Err(failed) => {
                    {
                        let mut status = shared.lock();
                        status.params = HashMap::new();
                    }
                    last = failed.error;
                    let retry = failed.reached && i + 1 < attempts.len();
                    if !retry {
                        break;
                    }
                }
            }
        }
    }
    Err(last)
}
