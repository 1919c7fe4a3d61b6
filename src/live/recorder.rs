//! Turns tapped bytes into TCP/IP packets with real timestamps: fed to the analyzer (so
//! live sessions produce the same events as captures) and optionally written as pcapng.
//! A recorder owns its output, or shares one with other recorders ([`PacketOut`]) so that
//! several concurrent connections (a scenario's clients) make one capture.

use std::fs::File;
use std::io::BufWriter;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use crate::analysis::link::LinkType;
use crate::analysis::{Analyzer, AnalyzerConfig, Direction, EventSink, Timestamp};
use crate::export::pcap_writer::{Sender, TcpFlags, TcpSessionSynth};
use crate::export::pcapng_writer::PcapNgWriter;
use crate::live::tap::TapObserver;

/// Largest segment written: loopback's, so big frames stay in few packets.
const SEGMENT_BYTES: usize = 65_000;

/// Where recorded packets go: one analyzer (its events to a sink) and optionally a pcapng.
pub struct PacketOut {
    analyzer: Analyzer,
    sink: Box<dyn EventSink + Send>,
    pcapng: Option<Recording>,
    /// Packets never step back in time, even when several connections write.
    last_ts: Timestamp,
}

impl PacketOut {
    pub fn new(sink: Box<dyn EventSink + Send>, pcapng: Option<Recording>) -> Self {
        PacketOut {
            analyzer: Analyzer::new(AnalyzerConfig {
                emit_frames: true,
                ..AnalyzerConfig::default()
            }),
            sink,
            pcapng,
            last_ts: Timestamp::from_nanos(0),
        }
    }

    fn push(&mut self, ts: Timestamp, packet: &[u8]) {
        let ts = ts.max(self.last_ts);
        self.analyzer
            .push_packet(ts, LinkType::Ethernet, packet, self.sink.as_mut());
        if let Some((w, iface)) = &mut self.pcapng {
            // A failed write stops the recording, never the session.
            if w.write_packet(*iface, ts, packet, packet.len() as u32).is_err() {
                self.pcapng = None;
            }
        }
        self.last_ts = ts;
    }

    /// After each tapped read or write: what was read or written is on disk at once (a crash
    /// loses nothing already seen), and the sink passes on what it holds.
    fn pause(&mut self) {
        if let Some((w, _)) = &mut self.pcapng
            && w.flush().is_err()
        {
            self.pcapng = None;
        }
        self.sink.pause();
    }

    /// The analyzer's last events, the file flushed (once every connection has ended).
    pub fn finish(&mut self) {
        self.analyzer.finish(self.sink.as_mut());
        self.sink.pause();
        if let Some((w, _)) = &mut self.pcapng {
            let _ = w.flush();
        }
    }
}

/// A recorder's output: its own, or one shared by several recorders.
enum Out {
    Own(Box<PacketOut>),
    Shared(Arc<Mutex<PacketOut>>),
}

impl Out {
    fn with(&mut self, f: impl FnOnce(&mut PacketOut)) {
        match self {
            Out::Own(out) => f(out),
            Out::Shared(out) => {
                if let Ok(mut out) = out.lock() {
                    f(&mut out);
                }
            }
        }
    }
}

pub struct SessionRecorder {
    synth: TcpSessionSynth,
    out: Out,
    last_ts: Timestamp,
    /// Secret header values to blank out of the upgrade request before anything sees it.
    secrets: Vec<Vec<u8>>,
    /// The client's upgrade request has ended (nothing after it is redacted).
    request_done: bool,
}

/// Opens the pcapng a session will be recorded to (before connecting, so a bad path fails
/// early).
pub fn open_recording(path: &std::path::Path) -> std::io::Result<Recording> {
    let mut w = PcapNgWriter::new(BufWriter::new(crate::capture::recordings::create_file(path)?))?;
    let iface = w.add_interface(1, 262_144, "framescope live session")?;
    Ok((w, iface))
}

/// A pcapng being written, and its interface id.
pub type Recording = (PcapNgWriter<BufWriter<File>>, u32);

impl SessionRecorder {
    /// Starts a session between `client` and `server` (writes the TCP handshake).
    pub fn new(
        client: SocketAddr,
        server: SocketAddr,
        sink: Box<dyn EventSink + Send>,
        pcapng: Option<Recording>,
    ) -> Self {
        Self::with_out(client, server, Out::Own(Box::new(PacketOut::new(sink, pcapng))))
    }

    /// Starts a connection whose packets go to `out`, shared with other recorders; `finish`
    /// then ends only this connection (the owner of `out` finishes it).
    pub fn shared(client: SocketAddr, server: SocketAddr, out: Arc<Mutex<PacketOut>>) -> Self {
        Self::with_out(client, server, Out::Shared(out))
    }

    fn with_out(client: SocketAddr, server: SocketAddr, out: Out) -> Self {
        let mut r = SessionRecorder {
            synth: TcpSessionSynth::new(client, server, 0x1000_0000, 0x2000_0000),
            out,
            last_ts: crate::live::tap::now(),
            secrets: Vec::new(),
            request_done: false,
        };
        r.open_tcp();
        r
    }

    /// The TCP handshake of the current session.
    fn open_tcp(&mut self) {
        let r = self;
        let ts = r.last_ts;
        let cseq = r.synth.next_seq(Sender::Client);
        r.emit(ts, Sender::Client, cseq, TcpFlags::SYN, &[]);
        r.synth.skip(Sender::Client, 1);
        let sseq = r.synth.next_seq(Sender::Server);
        r.emit(ts, Sender::Server, sseq, TcpFlags::SYN_ACK, &[]);
        r.synth.skip(Sender::Server, 1);
        let cseq = r.synth.next_seq(Sender::Client);
        r.emit(ts, Sender::Client, cseq, TcpFlags::ACK, &[]);
    }

    /// Secret values (e.g. of an Authorization header) to replace with `*` in every upgrade
    /// request: the analyzer, the tables and the pcapng then never hold them. Same length, so
    /// the TCP stream stays consistent.
    pub fn redact(&mut self, secrets: Vec<Vec<u8>>) {
        self.secrets = secrets.into_iter().filter(|s| !s.is_empty()).collect();
    }

    /// Blanks secrets in client bytes of the upgrade request.
    fn redacted<'a>(&mut self, data: &'a [u8]) -> std::borrow::Cow<'a, [u8]> {
        if self.request_done || self.secrets.is_empty() {
            return std::borrow::Cow::Borrowed(data);
        }
        let mut out = data.to_vec();
        for secret in &self.secrets {
            let mut from = 0;
            while let Some(at) = memchr::memmem::find(out.get(from..).unwrap_or_default(), secret) {
                let start = from + at;
                let end = start + secret.len();
                if let Some(span) = out.get_mut(start..end) {
                    span.fill(b'*');
                }
                from = end;
            }
        }
        if memchr::memmem::find(data, b"\r\n\r\n").is_some() {
            self.request_done = true;
        }
        std::borrow::Cow::Owned(out)
    }

    /// Ends the current TCP session and starts another between new endpoints (a reconnect):
    /// the same analyzer, sink and file, so the sessions are connections of one capture.
    pub fn reconnect(&mut self, client: SocketAddr, server: SocketAddr) {
        self.end_tcp();
        self.synth = TcpSessionSynth::new(client, server, 0x1000_0000, 0x2000_0000);
        self.request_done = false;
        self.last_ts = self.last_ts.max(crate::live::tap::now());
        self.open_tcp();
        self.out.with(PacketOut::pause);
    }

    /// FIN from both sides of the current session.
    fn end_tcp(&mut self) {
        let ts = crate::live::tap::now().max(self.last_ts);
        for sender in [Sender::Client, Sender::Server] {
            let seq = self.synth.next_seq(sender);
            self.emit(ts, sender, seq, TcpFlags::FIN_ACK, &[]);
            self.synth.skip(sender, 1);
        }
    }

    fn emit(&mut self, ts: Timestamp, sender: Sender, seq: u32, flags: TcpFlags, payload: &[u8]) {
        let packet = self.synth.packet(sender, seq, flags, payload);
        self.out.with(|out| out.push(ts, packet));
        self.last_ts = ts;
    }

    /// Ends the session: FIN from both sides; for a recorder with its own output also the
    /// analyzer's last events and the file flushed.
    pub fn finish(&mut self) {
        self.end_tcp();
        match &mut self.out {
            Out::Own(out) => out.finish(),
            Out::Shared(out) => {
                if let Ok(mut out) = out.lock() {
                    out.pause();
                }
            }
        }
    }
}

impl TapObserver for SessionRecorder {
    fn bytes(&mut self, dir: Direction, ts: Timestamp, data: &[u8]) {
        let (sender, data) = match dir {
            Direction::ClientToServer => (Sender::Client, self.redacted(data)),
            Direction::ServerToClient => (Sender::Server, std::borrow::Cow::Borrowed(data)),
        };
        // Tapped time can step back a little between threads; packets must not.
        let ts = ts.max(self.last_ts);
        for piece in data.chunks(SEGMENT_BYTES) {
            let seq = self.synth.next_seq(sender);
            self.emit(ts, sender, seq, TcpFlags::PSH_ACK, piece);
            self.synth.skip(sender, piece.len() as u32);
        }
        self.out.with(PacketOut::pause);
    }
}
