//! Opening a live connection: resolve, connect, tap, upgrade — with errors a user can act on.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use std::pin::Pin;
use std::task::{Context, Poll};

use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};

use crate::live::tap::{TapObserver, TapStream};
use crate::live::target::Target;
pub use crate::live::tls::TlsOptions;
use crate::live::tls::{describe_tls_error, tls_config};

/// What to send in the upgrade request.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    pub target: Target,
    /// Extra request headers, in order.
    pub headers: Vec<(String, String)>,
    /// Offered subprotocols (Sec-WebSocket-Protocol), in order of preference.
    pub subprotocols: Vec<String>,
    pub origin: Option<String>,
    pub timeout: Duration,
    pub tls: TlsOptions,
}

/// The connection under the tap: plain TCP, or TLS over TCP (the tap sits above TLS, so it
/// sees the WebSocket bytes in the clear).
pub enum Transport {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for Transport {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Transport {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_write(cx, data),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, data),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_flush(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Why a connection could not be opened.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot resolve {host}: {reason}")]
    Resolve { host: String, reason: String },
    #[error("{first} (also tried {others})")]
    Attempts { first: Box<ConnectError>, others: String },
    #[error("connection to {addr} refused: nothing is listening there")]
    Refused { addr: SocketAddr },
    #[error("cannot connect to {addr}: {reason}")]
    Connect { addr: SocketAddr, reason: String },
    #[error("no answer within {after:?} {during}")]
    Timeout { after: Duration, during: String },
    #[error("the server answered {status} {reason} instead of 101 Switching Protocols{details}")]
    Rejected {
        status: u16,
        reason: String,
        details: String,
    },
    #[error("the WebSocket handshake failed: {0}")]
    Handshake(String),
    #[error("{0}")]
    Request(String),
    #[error("TLS failed: {0}")]
    Tls(String),
    /// The server's certificate was refused; the hint names the form's two ways out (the
    /// command line words them as its flags).
    #[error(
        "TLS failed: {0}. Trust its authority (or the certificate itself) as an extra CA file, or accept any certificate for this connection"
    )]
    Certificate(String),
}

/// `fut` given `after` to finish; a timeout names the step (`during`) it hit.
async fn within<T>(
    after: Duration,
    during: &str,
    fut: impl std::future::Future<Output = T>,
) -> Result<T, ConnectError> {
    tokio::time::timeout(after, fut)
        .await
        .map_err(|_| ConnectError::Timeout {
            after,
            during: during.to_owned(),
        })
}

/// Tries each resolved address in turn, as curl does: `localhost` may resolve to `::1` first
/// while the server listens only on 127.0.0.1. Each try gets the whole timeout; a refusal
/// comes back at once, so only silent addresses cost time. The error is the first
/// address's, naming the others tried.
async fn connect_first(
    host: &str,
    addrs: &[SocketAddr],
    timeout: Duration,
) -> Result<(TcpStream, SocketAddr), ConnectError> {
    let mut first_error = None;
    for &addr in addrs {
        let error = match within(
            timeout,
            &format!("while connecting to {addr}"),
            TcpStream::connect(addr),
        )
        .await
        {
            Ok(Ok(tcp)) => return Ok((tcp, addr)),
            Err(timed_out) => timed_out,
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => ConnectError::Refused { addr },
            Ok(Err(e)) => ConnectError::Connect {
                addr,
                reason: e.to_string(),
            },
        };
        first_error.get_or_insert(error);
    }
    Err(match first_error {
        Some(e) if addrs.len() > 1 => ConnectError::Attempts {
            first: Box::new(e),
            others: addrs
                .iter()
                .skip(1)
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        },
        Some(e) => e,
        None => ConnectError::Resolve {
            host: host.to_owned(),
            reason: "no address".to_owned(),
        },
    })
}

/// An open connection whose bytes all pass through the tap.
pub struct Connected {
    pub ws: WebSocketStream<TapStream<Transport>>,
    pub local: SocketAddr,
    pub peer: SocketAddr,
    /// The subprotocol the server chose.
    pub subprotocol: Option<String>,
}

/// Connects; `tap` is built once the TCP endpoints are known and sees every byte after.
pub async fn connect(
    options: &ConnectOptions,
    tap: impl FnOnce(SocketAddr, SocketAddr) -> Arc<Mutex<dyn TapObserver>>,
) -> Result<Connected, ConnectError> {
    let t = &options.target;
    let tls = if t.secure {
        Some(tls_config(&options.tls)?)
    } else {
        None
    };
    let addrs: Vec<SocketAddr> = within(
        options.timeout,
        "while looking up the host name",
        tokio::net::lookup_host((t.host.as_str(), t.port)),
    )
    .await?
    .map_err(|e| ConnectError::Resolve {
        host: t.host.clone(),
        reason: e.to_string(),
    })?
    .collect();
    let (tcp, addr) = connect_first(&t.host, &addrs, options.timeout).await?;
    let _ = tcp.set_nodelay(true);
    let local = tcp.local_addr().map_err(|e| ConnectError::Connect {
        addr,
        reason: e.to_string(),
    })?;
    let mut request = t
        .url
        .as_str()
        .into_client_request()
        .map_err(|e| ConnectError::Request(e.to_string()))?;
    let headers = request.headers_mut();
    let mut add = |name: &str, value: &str| -> Result<(), ConnectError> {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| ConnectError::Request(format!("'{name}' is not a valid header name")))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| ConnectError::Request(format!("the value of {name} is not a valid header value")))?;
        headers.append(name, value);
        Ok(())
    };
    if let Some(origin) = &options.origin {
        add("Origin", origin)?;
    }
    if !options.subprotocols.is_empty() {
        add("Sec-WebSocket-Protocol", &options.subprotocols.join(", "))?;
    }
    for (k, v) in &options.headers {
        add(k, v)?;
    }
    // Credentials in the URL, unless the user set Authorization themselves.
    if let Some(basic) = t.basic_authorization()
        && !options
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("authorization"))
    {
        add("Authorization", &basic)?;
    }
    let transport = match tls {
        None => Transport::Plain(tcp),
        Some(config) => {
            let name = ServerName::try_from(t.host.clone())
                .map_err(|e| ConnectError::Tls(format!("'{}' is not a valid TLS server name: {e}", t.host)))?;
            let connector = tokio_rustls::TlsConnector::from(config);
            let tls_stream = within(
                options.timeout,
                "during the TLS handshake",
                connector.connect(name, tcp),
            )
            .await?
            .map_err(|e| describe_tls_error(&e, &t.host))?;
            Transport::Tls(Box::new(tls_stream))
        }
    };
    let stream = TapStream::new(transport, tap(local, addr));
    let upgrade = tokio_tungstenite::client_async(request, stream);
    let (ws, response) = within(options.timeout, "to the upgrade request", upgrade)
        .await?
        .map_err(|e| match e {
            tokio_tungstenite::tungstenite::Error::Http(resp) => {
                let mut details = String::new();
                for (k, v) in resp.headers() {
                    details.push_str(&format!("\n  {k}: {}", String::from_utf8_lossy(v.as_bytes())));
                }
                if let Some(body) = resp.body().as_ref().filter(|b| !b.is_empty()) {
                    details.push_str(&format!("\n\n{}", String::from_utf8_lossy(body)));
                }
                ConnectError::Rejected {
                    status: resp.status().as_u16(),
                    reason: resp.status().canonical_reason().unwrap_or("").to_owned(),
                    details,
                }
            }
            tokio_tungstenite::tungstenite::Error::Protocol(
                problem @ (ProtocolError::HandshakeIncomplete | ProtocolError::HttparseError(_)),
            ) if !t.secure => {
                // The usual cause: a TLS server (it hangs up on plain HTTP, or answers in TLS).
                let what = match problem {
                    ProtocolError::HandshakeIncomplete => {
                        "the server closed the connection without answering".to_owned()
                    }
                    other => format!("the answer is not HTTP ({other})"),
                };
                ConnectError::Handshake(format!("{what}; if it speaks TLS, use wss://"))
            }
            other => ConnectError::Handshake(other.to_string()),
        })?;
    let subprotocol = response
        .headers()
        .get("sec-websocket-protocol")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Ok(Connected {
        ws,
        local,
        peer: addr,
        subprotocol,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(f)
    }

    /// A port on 127.0.0.1 that nothing listens on (bound, then released).
    fn closed_port() -> u16 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    }

    #[test]
    fn every_resolved_address_is_tried_until_one_answers() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let open: SocketAddr = listener.local_addr().expect("addr");
        let refused: SocketAddr = ([127, 0, 0, 1], closed_port()).into();
        let (_, used) =
            block_on(connect_first("test", &[refused, open], Duration::from_secs(5))).expect("second address");
        assert_eq!(used, open);
    }

    #[test]
    fn when_no_address_answers_the_first_error_names_the_others() {
        let a: SocketAddr = ([127, 0, 0, 1], closed_port()).into();
        let b: SocketAddr = ([127, 0, 0, 1], closed_port()).into();
        let err = block_on(connect_first("test", &[a, b], Duration::from_secs(5))).expect_err("nothing listens");
        assert_eq!(
            err.to_string(),
            format!("connection to {a} refused: nothing is listening there (also tried {b})")
        );
        let one = block_on(connect_first("test", &[a], Duration::from_secs(5))).expect_err("nothing listens");
        assert!(matches!(one, ConnectError::Refused { addr } if addr == a));
    }
}
