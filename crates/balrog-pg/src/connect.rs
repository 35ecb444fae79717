//! Opening a connection: socket, startup message, authentication (cleartext, MD5,
//! SCRAM-SHA-256), then the server's parameters and key data.

use std::collections::HashMap;
use std::time::Duration;

use bytes::BytesMut;
use postgres_protocol::authentication::md5_hash;
use postgres_protocol::authentication::sasl::{
    ChannelBinding, ScramSha256, SCRAM_SHA_256, SCRAM_SHA_256_PLUS,
};
use postgres_protocol::message::backend::Message;
use postgres_protocol::message::frontend;
use tokio::net::{TcpStream, UnixStream};

use crate::errors::{os_error_text, server_error_text, PgError, SERVER_CLOSED};
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
    /// The password file `password` came from, if it did (libpq names it when the server
    /// refuses the password).
    pub password_file: Option<String>,
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

    /// libpq's text for a failed connect(): strerror's words and a hint by socket kind.
    fn connect_failure(&self, err: &std::io::Error) -> String {
        let hint = match self {
            Target::Tcp(..) => {
                "Is the server running on that host and accepting TCP/IP connections?"
            }
            Target::Unix(_) => {
                "Is the server running locally and accepting connections on that socket?"
            }
        };
        format!("{}\n\t{hint}", os_error_text(err))
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

/// libpq's check of each answer while authenticating: only an authentication request, an
/// error or a protocol negotiation may come (anything else is not PostgreSQL).
async fn expect_auth_message(io: &mut Io) -> Result<(), PgError> {
    use tokio::io::AsyncReadExt;
    while io.rbuf.is_empty() {
        if io.stream.read_buf(&mut io.rbuf).await? == 0 {
            return Err(PgError::Lost(SERVER_CLOSED.into()));
        }
    }
    match io.rbuf[0] {
        b'R' | b'E' | b'v' => Ok(()),
        other => Err(PgError::Operational(format!(
            "expected authentication request from server, but received {}",
            tls::shown_byte(other)
        ))),
    }
}

/// The authentication exchange, up to AuthenticationOk.
async fn authenticate(io: &mut Io, params: &Params, shared: &Shared) -> Result<(), Failed> {
    let mut scram: Option<ScramSha256> = None;
    let no_password = || PgError::Operational("fe_sendauth: no password supplied".into());
    let refused = |text: String| Failed::from(PgError::Operational(text));
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
        expect_auth_message(io).await?;
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
                    return Err(PgError::Operational(
                        "none of the server's SASL authentication mechanisms are supported".into(),
                    )
                    .into());
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
                state
                    .finish(body.data())
                    .map_err(|e| PgError::Operational(format!("SCRAM verification failed: {e}")))?;
                continue;
            }
            // Refused before authenticating: libpq tries the next encryption method.
            Message::ErrorResponse(body) => {
                let fields = error_fields(body.fields());
                let mut text = server_error_text(&fields);
                let wrong_password = fields.iter().any(|(c, v)| *c == b'C' && v == "28P01");
                if let (true, Some(path)) = (wrong_password, &params.password_file) {
                    text.push_str(&format!("\npassword retrieved from file \"{path}\""));
                }
                return Err(Failed {
                    error: PgError::Operational(text),
                    at_connect: false,
                    retry: true,
                });
            }
            _ => {
                return Err(PgError::Operational(
                    "unsupported authentication method requested by the server".into(),
                )
                .into())
            }
        }
        io.wbuf.extend_from_slice(&out);
        io.flush().await?;
    }
}

/// Why one connection attempt failed, in libpq's terms.
struct Failed {
    error: PgError,
    /// connect() itself failed on a Unix-domain socket: libpq finds that out before its
    /// first wait, and psycopg then says "connection is bad" (a TCP connect() reports
    /// its failure later, once the socket is writable).
    at_connect: bool,
    /// libpq would try the next encryption method on a new socket: the TLS handshake
    /// failed, or the server refused the startup before authenticating the client.
    retry: bool,
}

impl From<PgError> for Failed {
    fn from(error: PgError) -> Self {
        Failed {
            error,
            at_connect: false,
            retry: false,
        }
    }
}

impl From<std::io::Error> for Failed {
    fn from(error: std::io::Error) -> Self {
        PgError::from(error).into()
    }
}

/// Open the socket; with `tls`, ask for TLS first. When the server refuses TLS, the socket
/// goes on in plaintext if `plain_allowed` (then true in the second value: the plaintext
/// method is spent), else the attempt fails.
async fn open_stream(
    target: &Target,
    tls_name: &str,
    tls: Option<&tls::Setup>,
    plain_allowed: bool,
) -> Result<(Stream, bool), Failed> {
    let stream = target.open().await.map_err(|e| Failed {
        error: PgError::Operational(target.connect_failure(&e)),
        at_connect: matches!(target, Target::Unix(_)),
        retry: false,
    })?;
    let Some(config) = tls else {
        return Ok((stream, false));
    };
    let tcp = match stream {
        Stream::Tcp(tcp) => tcp,
        other => return Ok((other, false)),
    };
    match tls::negotiate(tcp, tls_name, config).await? {
        Negotiated::Tls(stream) => Ok((Stream::Tls(stream), false)),
        Negotiated::Refused(tcp) if plain_allowed => Ok((Stream::Tcp(tcp), true)),
        Negotiated::Refused(_) => Err(PgError::Operational(
            "server does not support SSL, but SSL was required".into(),
        )
        .into()),
        Negotiated::HandshakeFailed(error) => Err(Failed {
            error,
            at_connect: false,
            retry: true,
        }),
    }
}

async fn handshake(
    params: &Params,
    (target, tls_name): (&Target, &str),
    shared: &Shared,
    tls: Option<&tls::Setup>,
    plain_allowed: bool,
) -> Result<Io, Failed> {
    let (stream, plain_spent) = open_stream(target, tls_name, tls, plain_allowed).await?;
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
    authenticate(&mut io, params, shared)
        .await
        .map_err(|failed| Failed {
            // After TLS was refused the socket went on in plaintext: no method is left.
            retry: failed.retry && !plain_spent,
            ..failed
        })?;
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
                return Err(
                    PgError::Operational(server_error_text(&error_fields(body.fields()))).into(),
                )
            }
            _ => {}
        }
    }
}

/// The failures of a connection, collected as libpq collects them: one line per attempt,
/// each naming its server.
#[derive(Default)]
struct Report {
    lines: Vec<String>,
    /// Some attempt got past connect(): the failure is psycopg's "connection failed"
    /// (else "connection is bad", as when libpq fails before its first wait).
    waited: bool,
    /// The last host ran out of time.
    timed_out: bool,
}

impl Report {
    fn add(&mut self, target: &Target, failed: Failed) {
        self.waited |= !failed.at_connect;
        self.timed_out = false;
        self.lines.push(format!(
            "{}: {}",
            target.describe(),
            failed.error.into_message()
        ));
    }

    fn timeout(&mut self, target: &Target) {
        self.waited = true;
        self.timed_out = true;
        self.lines
            .push(format!("{}: timeout expired", target.describe()));
    }

    fn into_error(self) -> PgError {
        if self.timed_out {
            // psycopg's own words: it gives up on libpq's attempt when its timeout expires.
            return PgError::ConnectTimeout("connection timeout expired".into());
        }
        let prefix = if self.waited {
            "connection failed"
        } else {
            "connection is bad"
        };
        PgError::Operational(format!("{prefix}: {}", self.lines.join("\n")))
    }
}

/// One host: libpq's encryption methods for sslmode in turn (TLS or not), each on a new
/// socket, while the failure is one libpq retries.
async fn connect_target(
    params: &Params,
    (target, tls_name): (&Target, &str),
    config: Option<&tls::Setup>,
    shared: &Shared,
    report: &mut Report,
) -> Option<Io> {
    // Whether each method asks for TLS. libpq never asks on a Unix-domain socket.
    let methods: &[bool] = match (target, params.tls.mode) {
        (Target::Unix(_), _) | (_, SslMode::Disable) => &[false],
        (_, SslMode::Allow) => &[false, true],
        (_, SslMode::Prefer) => &[true, false],
        (_, SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull) => &[true],
    };
    for (i, &use_tls) in methods.iter().enumerate() {
        let tls = config.filter(|_| use_tls);
        let plain_allowed = methods[i + 1..].contains(&false);
        match handshake(params, (target, tls_name), shared, tls, plain_allowed).await {
            Ok(io) => return Some(io),
            Err(failed) => {
                shared.lock().params = HashMap::new();
                let retry = failed.retry;
                report.add(target, failed);
                if !retry {
                    break;
                }
            }
        }
    }
    None
}

/// Try each host in turn; the first that accepts wins. The error, if none does, has one
/// line per attempt as libpq's.
pub async fn connect(params: Params, shared: &Shared) -> Result<(Io, Target), PgError> {
    let config = match params.tls.mode {
        SslMode::Disable => None,
        _ => Some(tls::client_config(&params.tls).map_err(PgError::into_message)),
    };
    let mut report = Report::default();
    for (target, tls_name) in targets(&params) {
        let attempt = connect_target(
            &params,
            (&target, &tls_name),
            config.as_ref(),
            shared,
            &mut report,
        );
        let io = match params.connect_timeout {
            Some(limit) => match tokio::time::timeout(limit, attempt).await {
                Ok(io) => io,
                Err(_) => {
                    shared.lock().params = HashMap::new();
                    report.timeout(&target);
                    None
                }
            },
            None => attempt.await,
        };
        if let Some(io) = io {
            return Ok((io, target));
        }
    }
    Err(report.into_error())
}
