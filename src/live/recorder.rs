//! Turns tapped bytes into TCP/IP packets with real timestamps: fed to the analyzer (so
//! live sessions produce the same events as captures) and optionally written as pcapng.

use std::fs::File;
use std::io::BufWriter;
use std::net::SocketAddr;

use crate::analysis::link::LinkType;
use crate::analysis::{Analyzer, AnalyzerConfig, Direction, EventSink, Timestamp};
use crate::export::pcap_writer::{Sender, TcpFlags, TcpSessionSynth};
use crate::export::pcapng_writer::PcapNgWriter;
use crate::live::tap::TapObserver;

/// Largest segment written: loopback's, so big frames stay in few packets.
const SEGMENT_BYTES: usize = 65_000;

pub struct SessionRecorder {
    synth: TcpSessionSynth,
    analyzer: Analyzer,
    sink: Box<dyn EventSink + Send>,
    pcapng: Option<Recording>,
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
        let mut r = SessionRecorder {
            synth: TcpSessionSynth::new(client, server, 0x1000_0000, 0x2000_0000),
            analyzer: Analyzer::new(AnalyzerConfig {
                emit_frames: true,
                ..AnalyzerConfig::default()
            }),
            sink,
            pcapng,
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
        self.sink.pause();
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
        let packet = self.synth.packet(sender, seq, flags, payload).to_vec();
        self.analyzer
            .push_packet(ts, LinkType::Ethernet, &packet, self.sink.as_mut());
        if let Some((w, iface)) = &mut self.pcapng {
            // A failed write stops the recording, never the session.
            if w.write_packet(*iface, ts, &packet, packet.len() as u32).is_err() {
                self.pcapng = None;
            }
        }
        self.last_ts = ts;
    }

    /// Ends the session: FIN from both sides, the analyzer's last events, the file flushed.
    pub fn finish(&mut self) {
        self.end_tcp();
        self.analyzer.finish(self.sink.as_mut());
        self.sink.pause();
        if let Some((w, _)) = &mut self.pcapng {
            let _ = w.flush();
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
        // What was read or written is on disk at once: a crash loses nothing already seen.
        if let Some((w, _)) = &mut self.pcapng
            && w.flush().is_err()
        {
            self.pcapng = None;
        }
        self.sink.pause();
    }
}
