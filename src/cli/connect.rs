//! `framescope connect URL`: the live client without a window (like wscat or websocat).
//! It drives the same `LiveClient` as the window's connect panel; every byte goes through the
//! analysis engine as captures do: `--jsonl` prints its records, `--record` saves the session
//! as pcapng.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::{Duration, Instant};

use crate::analysis::Direction;
use crate::analysis::event::{Event, EventSink};
use crate::analysis::ws::builder::parse_hex;
use crate::analysis::ws::close::describe_close;
use crate::analysis::ws::frame::OpCode;
use crate::export::jsonl::JsonlWriter;
use crate::live::client::{ClientCommand, ClientState, Heartbeat, LiveClient, SessionOptions};
use crate::live::options::{MAX_SECONDS, parse_header, seconds};
use crate::live::recorder::open_recording;
use crate::live::session::{ConnectError, ConnectOptions};
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

/// What wakes the command's main loop.
enum Wake {
    /// The client's state changed.
    State,
    /// A message arrived from the server.
    Received,
    /// A line from standard input.
    Line(String),
    /// Standard input is closed.
    InputDone,
}

/// Passes events to the printer or JSON Lines writer and tells the main loop when the server
/// sent something (its answers keep the session open for `--wait` more seconds).
struct NotifyingSink {
    inner: Box<dyn EventSink + Send>,
    wake: Sender<Wake>,
}

impl EventSink for NotifyingSink {
    fn event(&mut self, event: Event<'_>) {
        let from_server = matches!(&event, Event::Message(m) if m.dir == Direction::ServerToClient);
        self.inner.event(event);
        if from_server {
            let _ = self.wake.send(Wake::Received);
        }
    }

    fn pause(&mut self) {
        self.inner.pause();
    }
}

/// A line to send: text, or with `--hex` the bytes it spells as a binary message.
fn to_command(line: &str, hex: bool) -> Result<ClientCommand, String> {
    if hex {
        parse_hex(line)
            .map(ClientCommand::Binary)
            .map_err(|e| format!("'{line}' is not hex: {e}"))
    } else {
        Ok(ClientCommand::Text(line.to_owned()))
    }
}

/// Everything checked before connecting; a mistake is exit status 2 with its message.
struct Plan {
    options: ConnectOptions,
    sends: Vec<ClientCommand>,
    secrets: Vec<String>,
    heartbeat: Option<Heartbeat>,
    wait: Duration,
}

fn plan(args: &ConnectArgs) -> Result<Plan, String> {
    let target = parse_target(&args.url)?;
    let timeout = seconds(args.timeout, "--timeout", 0.1, MAX_SECONDS)?;
    let wait = seconds(args.wait, "--wait", 0.0, MAX_SECONDS)?;
    let heartbeat = match args.ping_every {
        Some(every) => {
            let every = seconds(every, "--ping-every", 0.01, MAX_SECONDS)?;
            // Missed pongs are counted, never a reason to close: the CLI only pings.
            Some(Heartbeat {
                every,
                pong_timeout: every,
                close_on_miss: false,
            })
        }
        None => None,
    };
    // Bad --send values are refused before anything is sent.
    let sends = args
        .sends
        .iter()
        .map(|s| to_command(s, args.hex))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|why| format!("--send {why}"))?;
    let mut headers = Vec::new();
    let mut secrets = Vec::new();
    for h in &args.headers {
        headers.push(parse_header(h).map_err(|e| format!("--header {e}"))?);
    }
    for h in &args.secret_headers {
        let (name, value) = parse_header(h).map_err(|e| format!("--secret-header {e}"))?;
        secrets.push(value.clone());
        headers.push((name, value));
    }
    secrets.extend(target.basic_authorization());
    let options = ConnectOptions {
        target,
        headers,
        subprotocols: args.subprotocols.clone(),
        origin: args.origin.clone(),
        timeout,
        tls: crate::live::session::TlsOptions {
            extra_ca_file: args.ca_file.clone(),
            accept_invalid_certs: args.insecure,
            key_log_file: args.keylog.clone(),
        },
    };
    Ok(Plan {
        options,
        sends,
        secrets,
        heartbeat,
        wait,
    })
}

/// Runs the command; returns the exit status.
pub fn run(args: &ConnectArgs) -> u8 {
    let plan = match plan(args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("framescope: {e}");
            return 2;
        }
    };
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
    if args.insecure {
        eprintln!("WARNING: --insecure: TLS certificates are NOT checked on this connection");
    }
    let (wake_tx, wake_rx) = channel();
    let printer: Box<dyn EventSink + Send> = if args.jsonl {
        Box::new(JsonlWriter::new(std::io::stdout()))
    } else {
        Box::new(PrintSink)
    };
    let sink = NotifyingSink {
        inner: printer,
        wake: wake_tx.clone(),
    };
    let session = SessionOptions {
        heartbeat: plan.heartbeat,
        reconnect: None,
        secrets: plan.secrets,
        recording,
    };
    let url = plan.options.target.url.clone();
    let state_tx = std::sync::Mutex::new(wake_tx.clone());
    let changed = Arc::new(move || {
        if let Ok(tx) = state_tx.lock() {
            let _ = tx.send(Wake::State);
        }
    });
    let client = match LiveClient::start(plan.options, session, Box::new(sink), changed) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("framescope: cannot start the connection: {e}");
            return 1;
        }
    };
    let status = converse(&client, &url, plan.sends, plan.wait, args, &wake_rx, wake_tx);
    // Dropping the client ends its thread and finishes the recording.
    drop(client);
    status
}

/// Waits for the connection, sends, reads standard input, and closes once nothing has
/// happened for `wait`. Returns the exit status.
fn converse(
    client: &LiveClient,
    url: &str,
    sends: Vec<ClientCommand>,
    wait: Duration,
    args: &ConnectArgs,
    wake: &Receiver<Wake>,
    wake_tx: Sender<Wake>,
) -> u8 {
    // Until the connection opens or fails.
    loop {
        match client.state() {
            ClientState::Open {
                local,
                peer,
                subprotocol,
            } => {
                let sub = subprotocol.map_or(String::new(), |p| format!(", subprotocol {p}"));
                eprintln!("connected to {url} ({local} -> {peer}){sub}");
                break;
            }
            ClientState::Failed(why) => {
                let certificate = client.outcome().and_then(|o| match o.connect_error {
                    Some(ConnectError::Certificate(problem)) => Some(problem),
                    _ => None,
                });
                match certificate {
                    Some(problem) => eprintln!(
                        "framescope: TLS failed: {problem}. Trust its authority (or the certificate itself) with --ca-file, or skip checks with --insecure"
                    ),
                    None => eprintln!("framescope: {why}"),
                }
                return 2;
            }
            ClientState::Closed(why) => {
                eprintln!("framescope: {why}");
                return 1;
            }
            _ => {
                let _ = wake.recv_timeout(Duration::from_millis(200));
            }
        }
    }
    let sent_from_args = !sends.is_empty();
    for command in sends {
        client.send(command);
    }
    // Standard input is read on its own thread (blocking reads), one line a wake-up.
    let mut reading_input = !std::io::stdin().is_terminal() || !sent_from_args;
    if reading_input {
        let tx = wake_tx;
        let spawned = std::thread::Builder::new().name("connect-stdin".into()).spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if tx.send(Wake::Line(line)).is_err() {
                    break;
                }
            }
            let _ = tx.send(Wake::InputDone);
        });
        reading_input = spawned.is_ok();
    }
    let mut status = 0;
    let mut deadline = Instant::now() + wait;
    let mut closing = false;
    loop {
        if client.state().is_finished() {
            break;
        }
        let timeout = deadline.saturating_duration_since(Instant::now());
        match wake.recv_timeout(if reading_input {
            Duration::from_secs(3600)
        } else {
            timeout
        }) {
            Ok(Wake::State) => {}
            Ok(Wake::Received) => {
                if !closing {
                    deadline = Instant::now() + wait;
                }
            }
            Ok(Wake::Line(text)) => {
                match to_command(&text, args.hex) {
                    Ok(command) => {
                        if !client.send(command) {
                            status = 1;
                            break;
                        }
                    }
                    Err(why) => {
                        eprintln!("framescope: not sent: {why}");
                        status = 1;
                    }
                }
                deadline = Instant::now() + wait;
            }
            Ok(Wake::InputDone) => {
                reading_input = false;
                deadline = deadline.max(Instant::now());
            }
            Err(RecvTimeoutError::Timeout) if reading_input => {}
            Err(RecvTimeoutError::Timeout) => {
                if closing {
                    break;
                }
                closing = true;
                client.send(ClientCommand::Close(1000, String::new()));
                deadline = Instant::now() + Duration::from_secs(4);
            }
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    // A connection lost without a close handshake is a failure (exit status 1).
    if let Some(outcome) = client.outcome()
        && outcome.ended.dropped
    {
        eprintln!("framescope: {}", outcome.ended.how);
        status = 1;
    }
    status
}
