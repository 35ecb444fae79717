//! Opening a connection: socket, startup message, authentication (cleartext, MD5,
//! SCRAM-SHA-256), then the server's parameters and key data.

use std::collections::HashMap;
use std::time::Duration;

use bytes::BytesMut;
use postgres_protocol::authentication::md5_hash;
use postgres_protocol::authentication::sasl::{ChannelBinding, ScramSha256, SCRAM_SHA_256};
use postgres_protocol::message::backend::Message;
use postgres_protocol::message::frontend;
use tokio::net::{TcpStream, UnixStream};

use crate::errors::PgError;
use crate::proto::{error_fields, Io, Shared, Stream};

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
    pub sslmode: String,
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

fn targets(params: &Params) -> Vec<Target> {
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
        if let Some(addr) = hostaddr {
            out.push(Target::Tcp(addr.clone(), port));
        } else if host.is_empty() {
            out.push(Target::Unix(format!("/var/run/postgresql/.s.PGSQL.{port}")));
        } else if host.starts_with('/') || host.starts_with('@') {
            out.push(Target::Unix(format!(
                "{}/.s.PGSQL.{port}",
                host.trim_end_matches('/')
            )));
        } else {
            out.push(Target::Tcp(host.clone(), port));
        }
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
    loop {
        let msg = io.next(shared).await?;
        let mut out = BytesMut::new();
        match msg {
            Message::AuthenticationOk => return Ok(()),
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
                let mut has_scram = false;
                while let Ok(Some(m)) = fallible_iterator::FallibleIterator::next(&mut mechanisms) {
                    has_scram |= m == SCRAM_SHA_256;
                }
                if !has_scram {
                    return Err(PgError::Operational(format!(
                        "connection failed: {}: none of the server's SASL authentication mechanisms are supported",
                        target.describe()
                    )));
                }
                let state = ScramSha256::new(password.as_bytes(), ChannelBinding::unsupported());
                frontend::sasl_initial_response(SCRAM_SHA_256, state.message(), &mut out)?;
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

async fn handshake(params: &Params, target: &Target, shared: &Shared) -> Result<Io, PgError> {
    let stream = target.open().await.map_err(|e| {
        PgError::Operational(format!("connection failed: {}: {e}", target.describe()))
    })?;
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
                return Err(server_fatal(target, &error_fields(body.fields())))
            }
            _ => {}
        }
    }
}

/// Try each host in turn; the first that accepts wins.
pub async fn connect(params: Params, shared: &Shared) -> Result<(Io, Target), PgError> {
    if matches!(
        params.sslmode.as_str(),
        "require" | "verify-ca" | "verify-full"
    ) {
        return Err(PgError::NotSupported(format!(
            "sslmode={} is not supported by this build of balrog.psycopg yet",
            params.sslmode
        )));
    }
    let mut last = PgError::Operational("connection failed: no host to connect to".into());
    for target in targets(&params) {
        let attempt = handshake(&params, &target, shared);
        let outcome = match params.connect_timeout {
            Some(limit) => match tokio::time::timeout(limit, attempt).await {
                Ok(outcome) => outcome,
                Err(_) => Err(PgError::ConnectTimeout(format!(
                    "connection timeout expired: {}",
                    target.describe()
                ))),
            },
            None => attempt.await,
        };
        match outcome {
            Ok(io) => return Ok((io, target)),
            Err(err) => {
                shared.lock().params = HashMap::new();
                last = err;
            }
        }
    }
    Err(last)
}
