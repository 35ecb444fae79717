//! SOCKS client handshakes: SOCKS5 (RFC 1928, with RFC 1929 user/password) and SOCKS4/4a,
//! performed the way python-socks performs them for websockets, so that a proxy sees the
//! same bytes from balrog as from websockets. After the handshake the TCP stream carries
//! the tunnelled connection unchanged.

use std::net::{IpAddr, Ipv4Addr};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::errors::WsError;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SocksVersion {
    V4,
    V5,
}

#[derive(Clone, Debug)]
pub struct SocksSettings {
    pub version: SocksVersion,
    /// `socks5h` / `socks4a`: the proxy resolves the target's name; otherwise we do.
    pub remote_dns: bool,
    pub username: Option<String>,
    pub password: Option<String>,
}

const V5: u8 = 0x05;
const NO_AUTH: u8 = 0x00;
const USER_PASSWORD: u8 = 0x02;
const NO_ACCEPTABLE: u8 = 0xFF;
const CONNECT: u8 = 0x01;
const ATYP_IPV4: u8 = 0x01;
const ATYP_DOMAIN: u8 = 0x03;
const ATYP_IPV6: u8 = 0x04;
const V4_GRANTED: u8 = 0x5A;

/// A proxy that answered but refused or misbehaved (websockets: `ProxyError`).
fn refused(detail: impl Into<String>) -> WsError {
    WsError::SocksProxy(detail.into())
}

/// A proxy closing the connection mid-handshake is a protocol failure (python-socks:
/// `IncompleteReadError` → `ProxyError`); other I/O errors stay `OSError`s.
fn read_error(err: std::io::Error) -> WsError {
    if err.kind() == std::io::ErrorKind::UnexpectedEof {
        refused("connection closed by the SOCKS proxy during the handshake")
    } else {
        WsError::Io(err)
    }
}

async fn read_exact<const N: usize>(tcp: &mut TcpStream) -> Result<[u8; N], WsError> {
    let mut buf = [0u8; N];
    tcp.read_exact(&mut buf).await.map_err(read_error)?;
    Ok(buf)
}

/// Credentials as python-socks sends them: ASCII, at most 255 bytes each.
fn ascii_field(value: &str, what: &str) -> Result<u8, WsError> {
    if !value.is_ascii() {
        return Err(refused(format!("the SOCKS {what} is not ASCII")));
    }
    u8::try_from(value.len()).map_err(|_| refused(format!("the SOCKS {what} is too long")))
}

/// Open the tunnel to `host:port` over `tcp`, a fresh connection to the proxy.
pub async fn handshake(
    tcp: &mut TcpStream,
    socks: &SocksSettings,
    host: &str,
    port: u16,
) -> Result<(), WsError> {
    match socks.version {
        SocksVersion::V5 => socks5(tcp, socks, host, port).await,
        SocksVersion::V4 => socks4(tcp, socks, host, port).await,
    }
}

/// The first address the resolver gives, IPv4 before IPv6 (python-socks' choice).
async fn resolve(host: &str, port: u16, ipv4_only: bool) -> Result<IpAddr, WsError> {
    let mut found: Vec<IpAddr> = tokio::net::lookup_host((host, port))
        .await?
        .map(|addr| addr.ip())
        .filter(|ip| !ipv4_only || ip.is_ipv4())
        .collect();
    found.sort_by_key(|ip| ip.is_ipv6());
    found.first().copied().ok_or_else(|| {
        // A plain OSError, like the socket.gaierror python-socks would raise (NotFound
        // would become FileNotFoundError).
        WsError::Io(std::io::Error::other(format!(
            "cannot resolve {host}:{port}"
        )))
    })
}

async fn socks5(
    tcp: &mut TcpStream,
    socks: &SocksSettings,
    host: &str,
    port: u16,
) -> Result<(), WsError> {
    // Credentials are offered only when both are non-empty (as python-socks does).
    let credentials = match (&socks.username, &socks.password) {
        (Some(user), Some(pass)) if !user.is_empty() && !pass.is_empty() => Some((user, pass)),
        _ => None,
    };
    let greeting: &[u8] = if credentials.is_some() {
        &[V5, 2, NO_AUTH, USER_PASSWORD]
    } else {
        &[V5, 1, NO_AUTH]
    };
    tcp.write_all(greeting).await?;
    let [version, method] = read_exact::<2>(tcp).await?;
    if version != V5 {
        return Err(refused(format!(
            "unexpected SOCKS version number: {version}"
        )));
    }
    match (method, credentials) {
        (NO_AUTH, _) => {}
        (USER_PASSWORD, Some((user, pass))) => {
            let mut auth = vec![0x01, ascii_field(user, "username")?];
            auth.extend_from_slice(user.as_bytes());
            auth.push(ascii_field(pass, "password")?);
            auth.extend_from_slice(pass.as_bytes());
            tcp.write_all(&auth).await?;
            let [_, status] = read_exact::<2>(tcp).await?;
            if status != 0x00 {
                return Err(refused("username and password authentication failure"));
            }
        }
        (NO_ACCEPTABLE, _) => {
            return Err(refused("no acceptable authentication methods were offered"));
        }
        (other, _) => {
            return Err(refused(format!(
                "unexpected SOCKS authentication method: {other:#04x}"
            )));
        }
    }

    let mut request = vec![V5, CONNECT, 0x00];
    let address = match host.parse::<IpAddr>() {
        Ok(ip) => Some(ip),
        Err(_) if !socks.remote_dns => Some(resolve(host, port, false).await?),
        Err(_) => None,
    };
    match address {
        Some(IpAddr::V4(ip)) => {
            request.push(ATYP_IPV4);
            request.extend_from_slice(&ip.octets());
        }
        Some(IpAddr::V6(ip)) => {
            request.push(ATYP_IPV6);
            request.extend_from_slice(&ip.octets());
        }
        None => {
            let length = u8::try_from(host.len())
                .map_err(|_| refused("the target host name is too long for SOCKS5"))?;
            request.push(ATYP_DOMAIN);
            request.push(length);
            request.extend_from_slice(host.as_bytes());
        }
    }
    request.extend_from_slice(&port.to_be_bytes());
    tcp.write_all(&request).await?;

    let [version, reply, _reserved] = read_exact::<3>(tcp).await?;
    if version != V5 {
        return Err(refused(format!(
            "unexpected SOCKS version number: {version}"
        )));
    }
    if reply != 0x00 {
        return Err(refused(socks5_reply_text(reply)));
    }
    // The bound address: read and drop it, so that what follows is the tunnel's data.
    let [address_type] = read_exact::<1>(tcp).await?;
    let remaining = match address_type {
        ATYP_IPV4 => 4 + 2,
        ATYP_IPV6 => 16 + 2,
        ATYP_DOMAIN => usize::from(read_exact::<1>(tcp).await?[0]) + 2,
        other => return Err(refused(format!("invalid SOCKS5 address type: {other}"))),
    };
    let mut bound = vec![0u8; remaining];
    tcp.read_exact(&mut bound).await.map_err(read_error)?;
    Ok(())
}

fn socks5_reply_text(code: u8) -> String {
    let text = match code {
        0x01 => "general SOCKS server failure",
        0x02 => "connection not allowed by ruleset",
        0x03 => "network unreachable",
        0x04 => "host unreachable",
        0x05 => "connection refused by destination host",
        0x06 => "TTL expired",
        0x07 => "command not supported or protocol error",
        0x08 => "address type not supported",
        _ => "unknown error",
    };
    format!("{text} (SOCKS5 reply {code:#04x})")
}

async fn socks4(
    tcp: &mut TcpStream,
    socks: &SocksSettings,
    host: &str,
    port: u16,
) -> Result<(), WsError> {
    // An IPv4 literal goes as is; a name is resolved here (socks4) or sent after the
    // 0.0.0.1 marker for the proxy to resolve (socks4a). python-socks sends an IPv6
    // literal in the socks4a form too, as there is no SOCKS4 IPv6 address.
    let ipv4 = match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => Some(ip),
        Ok(IpAddr::V6(_)) => None,
        Err(_) if socks.remote_dns => None,
        Err(_) => match resolve(host, port, true).await? {
            IpAddr::V4(ip) => Some(ip),
            IpAddr::V6(_) => None,
        },
    };
    let mut request = vec![0x04, CONNECT];
    request.extend_from_slice(&port.to_be_bytes());
    request.extend_from_slice(&ipv4.unwrap_or(Ipv4Addr::new(0, 0, 0, 1)).octets());
    if let Some(user) = socks.username.as_deref().filter(|u| !u.is_empty()) {
        ascii_field(user, "user id")?;
        request.extend_from_slice(user.as_bytes());
    }
    request.push(0x00);
    if ipv4.is_none() {
        request.extend_from_slice(host.as_bytes());
        request.push(0x00);
    }
    tcp.write_all(&request).await?;
    let reply = read_exact::<8>(tcp).await?;
    if reply[0] != 0x00 {
        return Err(refused(format!(
            "unexpected SOCKS version number: {}",
            reply[0]
        )));
    }
    match reply[1] {
        V4_GRANTED => Ok(()),
        0x5B => Err(refused("request rejected or failed (SOCKS4 reply 0x5b)")),
        0x5C => Err(refused(
            "request rejected: the SOCKS server cannot reach the client's identd (0x5c)",
        )),
        0x5D => Err(refused(
            "request rejected: identd reports a different user id (0x5d)",
        )),
        other => Err(refused(format!("unknown SOCKS4 reply {other:#04x}"))),
    }
}
