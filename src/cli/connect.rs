//! `framescope connect URL`: the live client without a window (like wscat or websocat).
//! Every byte goes through the same analysis engine as captures: `--jsonl` prints its
//! records, `--record` saves the session as pcapng.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncBufReadExt;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::analysis::Direction;
use crate::analysis::event::{Event, EventSink};
use crate::analysis::ws::builder::parse_hex;
use crate::analysis::ws::close::describe_close;
use crate::analysis::ws::frame::OpCode;
use crate::export::jsonl::JsonlWriter;
use crate::live::recorder::{SessionRecorder, open_recording};
use crate::live::session::{ConnectError, ConnectOptions, connect};
use crate::live::tap::TapObserver;
use crate::live::target::parse_target;

#[derive(Clone, Debug, clap::Args)]
pub struct ConnectArgs {
    /// ws:// or wss:// URL to connect to.
    pub url: String,
    /// An extra request header, `Name: value` (repeatable).
    #[arg(long = "header", value_name = "NAME:VALUE")]
    pub headers: Vec<String>,
    /// A header whose value is a secret (e.g. a token): sent, but blanked with `*` in what
    /// `--jsonl` prints and `--record` writes (repeatable).
    #[arg(long = "secret-header", value_name = "NAME:VALUE")]
    pub secret_headers: Vec<String>,
    /// A subprotocol to offer (repeatable, in order of preference).
    #[arg(long = "subprotocol", value_name = "NAME")]
    pub subprotocols: Vec<String>,
    /// The Origin header.
    #[arg(long)]
    pub origin: Option<String>,
    /// A text message to send (repeatable, in order). Lines from standard input are sent too.
    #[arg(long = "send", value_name = "TEXT")]
    pub sends: Vec<String>,
    /// Treat each --send value and standard-input line as hex bytes (spaces allowed) and
    /// send it as a binary message.
    #[arg(long)]
    pub hex: bool,
    /// Send a ping every SECS seconds.
    #[arg(long, value_name = "SECS")]
    pub ping_every: Option<f64>,
    /// Save the session (handshake and frames, masks included) as a pcapng file.
    #[arg(long, value_name = "FILE.pcapng")]
    pub record: Option<PathBuf>,
    /// Print JSON Lines records (the `analyze` format) instead of received messages.
    #[arg(long)]
    pub jsonl: bool,
    /// A PEM file of certificate authorities to trust for wss:// (besides the webpki roots);
    /// a self-signed server certificate given here is trusted as itself.
    #[arg(long, value_name = "FILE.pem")]
    pub ca_file: Option<PathBuf>,
    /// Accept any TLS certificate (self-signed test servers). Flagged on every connection.
    #[arg(long)]
    pub insecure: bool,
    /// Append the wss:// session's TLS secrets to FILE (NSS key log format, for Wireshark);
    /// without it SSLKEYLOGFILE is honoured.
    #[arg(long, value_name = "FILE")]
    pub keylog: Option<PathBuf>,
    /// Seconds to wait for the connection and the handshake.
    #[arg(long, default_value_t = 10.0)]
    pub timeout: f64,
    /// After the last message is sent, seconds to wait for answers before closing.
    #[arg(long, default_value_t = 1.0)]
    pub wait: f64,
}

/// Prints what the server sends: text as lines, binary as hex, the close on stderr.
struct PrintSink;

impl EventSink for PrintSink {
    fn event(&mut self, event: Event<'_>) {
        let Event::Message(m) = event else {
            return;
        };
        if m.dir != Direction::ServerToClient {
            return;
        }
        match m.opcode {
            OpCode::Text => {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(m.payload);
                let _ = out.write_all(b"\n");
            }
            OpCode::Binary => println!("{}", m.payload.iter().map(|b| format!("{b:02x}")).collect::<String>()),
            // Either the server's own close or its answer to ours.
            OpCode::Close => eprintln!(
                "close from the server: {}",
                describe_close(m.close_code, &m.close_reason().unwrap_or_default())
            ),
            _ => {}
        }
    }
}

/// A line to send: text, or with `--hex` the bytes it spells as a binary message.
fn to_message(line: &str, hex: bool) -> Result<Message, String> {
    if hex {
        parse_hex(line)
            .map(Message::binary)
            .map_err(|e| format!("'{line}' is not hex: {e}"))
    } else {
        Ok(Message::text(line.to_owned()))
    }
}

/// Runs the command; returns the exit status.
pub fn run(args: &ConnectArgs) -> u8 {
    let target = match parse_target(&args.url) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("framescope: {e}");
            return 2;
        }
    };
    // Bad --send values are refused before anything is sent.
    let sends = match args
        .sends
        .iter()
        .map(|s| to_message(s, args.hex))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(sends) => sends,
        Err(why) => {
            eprintln!("framescope: --send {why}");
            return 2;
        }
    };
    let mut headers = Vec::new();
    for (h, flag) in args
        .headers
        .iter()
        .map(|h| (h, "--header"))
        .chain(args.secret_headers.iter().map(|h| (h, "--secret-header")))
    {
        match h.split_once(':') {
            Some((k, v)) => headers.push((k.trim().to_owned(), v.trim().to_owned())),
            None => {
                eprintln!("framescope: {flag} '{h}' is not 'Name: value'");
                return 2;
            }
        }
    }
    let options = ConnectOptions {
        target,
        headers,
        subprotocols: args.subprotocols.clone(),
        origin: args.origin.clone(),
        timeout: Duration::from_secs_f64(args.timeout.max(0.1)),
        tls: crate::live::session::TlsOptions {
            extra_ca_file: args.ca_file.clone(),
            accept_invalid_certs: args.insecure,
            key_log_file: args.keylog.clone(),
        },
    };
    if args.insecure {
        eprintln!("WARNING: --insecure: TLS certificates are NOT checked on this connection");
    }
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("framescope: cannot start the network runtime: {e}");
            return 1;
        }
    };
    runtime.block_on(session(args, options, sends))
}

async fn session(args: &ConnectArgs, options: ConnectOptions, sends: Vec<Message>) -> u8 {
    let recording = match &args.record {
        Some(path) => match open_recording(path) {
            Ok(r) => Some(r),
            Err(e) => {
                eprintln!("framescope: cannot record to {}: {e}", path.display());
                return 2;
            }
        },
        None => None,
    };
    let jsonl = args.jsonl;
    let secrets: Vec<Vec<u8>> = args
        .secret_headers
        .iter()
        .filter_map(|h| h.split_once(':'))
        .map(|(_, v)| v.trim().as_bytes().to_vec())
        .chain(options.target.basic_authorization().map(String::into_bytes))
        .collect();
    let mut recorder: Option<Arc<Mutex<SessionRecorder>>> = None;
    let connected = connect(&options, |local, peer| {
        let sink: Box<dyn EventSink + Send> = if jsonl {
            Box::new(JsonlWriter::new(std::io::stdout()))
        } else {
            Box::new(PrintSink)
        };
        let mut session = SessionRecorder::new(local, peer, sink, recording);
        session.redact(secrets);
        let shared = Arc::new(Mutex::new(session));
        recorder = Some(shared.clone());
        shared as Arc<Mutex<dyn TapObserver>>
    })
    .await;
    let connected = match connected {
        Ok(c) => c,
        Err(ConnectError::Certificate(why)) => {
            eprintln!(
                "framescope: TLS failed: {why}. Trust its authority (or the certificate itself) with --ca-file, or skip checks with --insecure"
            );
            return 2;
        }
        Err(e) => {
            eprintln!("framescope: {e}");
            return 2;
        }
    };
    eprintln!(
        "connected to {} ({} -> {}){}",
        options.target.url,
        connected.local,
        connected.peer,
        connected
            .subprotocol
            .as_ref()
            .map_or(String::new(), |p| format!(", subprotocol {p}"))
    );
    let (mut write, mut read) = connected.ws.split();
    let mut status = 0;
    let sent_from_args = !sends.is_empty();
    for message in sends {
        if let Err(e) = write.send(message).await {
            eprintln!("framescope: sending: {e}");
            status = 1;
        }
    }
    let mut stdin_lines = (!std::io::stdin().is_terminal() || !sent_from_args)
        .then(|| tokio::io::BufReader::new(tokio::io::stdin()).lines());
    let mut ping = args
        .ping_every
        .map(|s| tokio::time::interval(Duration::from_secs_f64(s.max(0.01))));
    let mut ping_seq = 0u32;
    let wait = Duration::from_secs_f64(args.wait.max(0.0));
    let mut deadline = tokio::time::Instant::now() + wait;
    let mut closing = false;
    loop {
        tokio::select! {
            incoming = read.next() => match incoming {
                Some(Ok(Message::Close(_))) | None => break,
                Some(Ok(_)) => {
                    if !closing {
                        deadline = tokio::time::Instant::now() + wait;
                    }
                }
                Some(Err(e)) => {
                    eprintln!("framescope: connection lost: {e}");
                    status = 1;
                    break;
                }
            },
            line = async { match &mut stdin_lines { Some(l) => l.next_line().await, None => std::future::pending().await } } => match line {
                Ok(Some(text)) => {
                    match to_message(&text, args.hex) {
                        Ok(message) => {
                            if write.send(message).await.is_err() {
                                status = 1;
                                break;
                            }
                        }
                        Err(why) => {
                            eprintln!("framescope: not sent: {why}");
                            status = 1;
                        }
                    }
                    deadline = tokio::time::Instant::now() + wait;
                }
                _ => stdin_lines = None,
            },
            _ = async { match &mut ping { Some(p) => { p.tick().await; } None => std::future::pending::<()>().await } } => {
                ping_seq += 1;
                let _ = write.send(Message::Ping(ping_seq.to_be_bytes().to_vec().into())).await;
            },
            _ = tokio::time::sleep_until(deadline), if stdin_lines.is_none() => {
                if closing {
                    break;
                }
                closing = true;
                let _ = write.send(Message::Close(Some(CloseFrame { code: CloseCode::Normal, reason: "".into() }))).await;
                deadline = tokio::time::Instant::now() + Duration::from_secs(2);
            }
        }
    }
    // Let the WebSocket layer answer a close and shut the socket down.
    let _ = write.close().await;
    drop(read);
    if let Some(r) = recorder
        && let Ok(mut r) = r.lock()
    {
        r.finish();
    }
    status
}
