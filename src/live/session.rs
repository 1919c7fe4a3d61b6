//! Opening a live connection: resolve, connect, tap, upgrade — with errors a user can act on.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};

use crate::live::tap::{TapObserver, TapStream};
use crate::live::target::Target;

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
}

/// Why a connection could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot resolve {host}: {reason}")]
    Resolve { host: String, reason: String },
    #[error("connection to {addr} refused: nothing is listening there")]
    Refused { addr: SocketAddr },
    #[error("cannot connect to {addr}: {reason}")]
    Connect { addr: SocketAddr, reason: String },
    #[error("no answer within {0:?}")]
    Timeout(Duration),
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
    #[error("wss:// (TLS) is not supported yet by the live client; capture or open a recording instead")]
    TlsUnsupported,
}

/// An open connection whose bytes all pass through the tap.
pub struct Connected {
    pub ws: WebSocketStream<TapStream<TcpStream>>,
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
    if t.secure {
        return Err(ConnectError::TlsUnsupported);
    }
    let within = |fut| tokio::time::timeout(options.timeout, fut);
    let addrs: Vec<SocketAddr> = within(tokio::net::lookup_host((t.host.as_str(), t.port)))
        .await
        .map_err(|_| ConnectError::Timeout(options.timeout))?
        .map_err(|e| ConnectError::Resolve {
            host: t.host.clone(),
            reason: e.to_string(),
        })?
        .collect();
    let addr = *addrs.first().ok_or_else(|| ConnectError::Resolve {
        host: t.host.clone(),
        reason: "no address".to_owned(),
    })?;
    let tcp = tokio::time::timeout(options.timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| ConnectError::Timeout(options.timeout))?
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::ConnectionRefused => ConnectError::Refused { addr },
            _ => ConnectError::Connect {
                addr,
                reason: e.to_string(),
            },
        })?;
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
    let stream = TapStream::new(tcp, tap(local, addr));
    let (ws, response) = tokio::time::timeout(options.timeout, tokio_tungstenite::client_async(request, stream))
        .await
        .map_err(|_| ConnectError::Timeout(options.timeout))?
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
