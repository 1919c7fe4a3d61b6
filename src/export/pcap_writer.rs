//! Writing classic pcap files (nanosecond timestamps), and TCP sessions as packets.
//!
//! The pcap record format is 24 + 16 bytes of fixed headers; writing it by hand keeps the
//! writer dependency-free and lets it stream to any `Write` (libpcap's dumper needs a file
//! and a live or dead handle).

use std::io::{self, Write};
use std::net::SocketAddr;

use etherparse::PacketBuilder;

use crate::analysis::Timestamp;

/// Magic number of a pcap file with nanosecond timestamps.
const PCAP_MAGIC_NANOS: u32 = 0xa1b2_3c4d;
const LINKTYPE_ETHERNET: u32 = 1;

/// A streaming pcap writer.
pub struct PcapWriter<W: Write> {
    out: W,
    snaplen: u32,
}

impl<W: Write> PcapWriter<W> {
    /// Starts an Ethernet pcap file.
    pub fn new(out: W) -> io::Result<Self> {
        Self::with_link_type(out, LINKTYPE_ETHERNET, 262_144)
    }

    pub fn with_link_type(mut out: W, linktype: u32, snaplen: u32) -> io::Result<Self> {
        out.write_all(&PCAP_MAGIC_NANOS.to_le_bytes())?;
        out.write_all(&2u16.to_le_bytes())?;
        out.write_all(&4u16.to_le_bytes())?;
        out.write_all(&0i32.to_le_bytes())?;
        out.write_all(&0u32.to_le_bytes())?;
        out.write_all(&snaplen.to_le_bytes())?;
        out.write_all(&linktype.to_le_bytes())?;
        Ok(PcapWriter { out, snaplen })
    }

    /// Writes one packet, cutting it to the snap length like a capture would.
    pub fn write_packet(&mut self, ts: Timestamp, data: &[u8]) -> io::Result<()> {
        let caplen = data.len().min(self.snaplen as usize);
        let secs = ts.nanos.div_euclid(1_000_000_000);
        let nanos = ts.nanos.rem_euclid(1_000_000_000);
        self.out.write_all(&(secs as u32).to_le_bytes())?;
        self.out.write_all(&(nanos as u32).to_le_bytes())?;
        self.out.write_all(&(caplen as u32).to_le_bytes())?;
        self.out.write_all(&(data.len() as u32).to_le_bytes())?;
        self.out.write_all(data.get(..caplen).unwrap_or(data))
    }

    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Turns a TCP conversation into Ethernet/IP/TCP packets with consistent sequence numbers.
///
/// Used to save live sessions as captures and to build test and benchmark captures.
pub struct TcpSessionSynth {
    client: SocketAddr,
    server: SocketAddr,
    /// Next sequence number per direction (client, server).
    next_seq: [u32; 2],
    /// Largest payload per packet.
    pub mss: usize,
    scratch: Vec<u8>,
}

/// Which endpoint sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sender {
    Client,
    Server,
}

impl TcpSessionSynth {
    pub fn new(client: SocketAddr, server: SocketAddr, client_isn: u32, server_isn: u32) -> Self {
        TcpSessionSynth {
            client,
            server,
            next_seq: [client_isn, server_isn],
            mss: 1448,
            scratch: Vec::with_capacity(2048),
        }
    }

    fn idx(sender: Sender) -> usize {
        match sender {
            Sender::Client => 0,
            Sender::Server => 1,
        }
    }

    /// Builds one packet into the internal buffer and returns it.
    pub fn packet(&mut self, sender: Sender, seq: u32, flags: TcpFlags, payload: &[u8]) -> &[u8] {
        let (src, dst) = match sender {
            Sender::Client => (self.client, self.server),
            Sender::Server => (self.server, self.client),
        };
        let ack = self.next_seq[1 - Self::idx(sender)];
        let builder = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
        let builder = match (src, dst) {
            (SocketAddr::V4(s), SocketAddr::V4(d)) => builder.ipv4(s.ip().octets(), d.ip().octets(), 64),
            (s, d) => {
                let v6 = |a: SocketAddr| match a {
                    SocketAddr::V6(a) => a.ip().octets(),
                    SocketAddr::V4(a) => a.ip().to_ipv6_mapped().octets(),
                };
                builder.ipv6(v6(s), v6(d), 64)
            }
        };
        let mut tcp = builder.tcp(src.port(), dst.port(), seq, 65535);
        if flags.syn {
            tcp = tcp.syn();
        }
        if flags.ack {
            tcp = tcp.ack(ack);
        }
        if flags.fin {
            tcp = tcp.fin();
        }
        if flags.rst {
            tcp = tcp.rst();
        }
        if flags.psh {
            tcp = tcp.psh();
        }
        self.scratch.clear();
        // Writing into a Vec cannot fail; an error here would be a builder bug.
        if tcp.write(&mut self.scratch, payload).is_err() {
            self.scratch.clear();
        }
        &self.scratch
    }

    /// Writes the three-way handshake.
    pub fn open<W: Write>(&mut self, w: &mut PcapWriter<W>, ts: Timestamp) -> io::Result<()> {
        let cseq = self.next_seq[0];
        let pkt = self.packet(Sender::Client, cseq, TcpFlags::SYN, &[]).to_vec();
        w.write_packet(ts, &pkt)?;
        self.next_seq[0] = cseq.wrapping_add(1);
        let sseq = self.next_seq[1];
        let pkt = self.packet(Sender::Server, sseq, TcpFlags::SYN_ACK, &[]).to_vec();
        w.write_packet(ts, &pkt)?;
        self.next_seq[1] = sseq.wrapping_add(1);
        let pkt = self
            .packet(Sender::Client, self.next_seq[0], TcpFlags::ACK, &[])
            .to_vec();
        w.write_packet(ts, &pkt)
    }

    /// Writes `data` from `sender` as MSS-sized segments, each acknowledged by the peer.
    pub fn send<W: Write>(
        &mut self,
        w: &mut PcapWriter<W>,
        ts: Timestamp,
        sender: Sender,
        data: &[u8],
    ) -> io::Result<()> {
        for piece in data.chunks(self.mss.max(1)) {
            let seq = self.next_seq[Self::idx(sender)];
            let pkt = self.packet(sender, seq, TcpFlags::PSH_ACK, piece);
            let pkt = pkt.to_vec();
            w.write_packet(ts, &pkt)?;
            self.next_seq[Self::idx(sender)] = seq.wrapping_add(piece.len() as u32);
        }
        let peer = match sender {
            Sender::Client => Sender::Server,
            Sender::Server => Sender::Client,
        };
        let seq = self.next_seq[Self::idx(peer)];
        let pkt = self.packet(peer, seq, TcpFlags::ACK, &[]).to_vec();
        w.write_packet(ts, &pkt)
    }

    /// Writes a FIN from each side.
    pub fn close<W: Write>(&mut self, w: &mut PcapWriter<W>, ts: Timestamp) -> io::Result<()> {
        for sender in [Sender::Client, Sender::Server] {
            let seq = self.next_seq[Self::idx(sender)];
            let pkt = self.packet(sender, seq, TcpFlags::FIN_ACK, &[]).to_vec();
            w.write_packet(ts, &pkt)?;
            self.next_seq[Self::idx(sender)] = seq.wrapping_add(1);
        }
        let seq = self.next_seq[0];
        let pkt = self.packet(Sender::Client, seq, TcpFlags::ACK, &[]).to_vec();
        w.write_packet(ts, &pkt)
    }

    /// The next sequence number `sender` will use.
    pub fn next_seq(&self, sender: Sender) -> u32 {
        self.next_seq[Self::idx(sender)]
    }

    /// Moves `sender`'s sequence number on without writing (to simulate lost bytes).
    pub fn skip(&mut self, sender: Sender, bytes: u32) {
        let i = Self::idx(sender);
        self.next_seq[i] = self.next_seq[i].wrapping_add(bytes);
    }
}

/// TCP flags for [`TcpSessionSynth::packet`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpFlags {
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
    pub psh: bool,
}

impl TcpFlags {
    pub const SYN: TcpFlags = TcpFlags {
        syn: true,
        ack: false,
        fin: false,
        rst: false,
        psh: false,
    };
    pub const SYN_ACK: TcpFlags = TcpFlags {
        syn: true,
        ack: true,
        fin: false,
        rst: false,
        psh: false,
    };
    pub const ACK: TcpFlags = TcpFlags {
        syn: false,
        ack: true,
        fin: false,
        rst: false,
        psh: false,
    };
    pub const PSH_ACK: TcpFlags = TcpFlags {
        syn: false,
        ack: true,
        fin: false,
        rst: false,
        psh: true,
    };
    pub const FIN_ACK: TcpFlags = TcpFlags {
        syn: false,
        ack: true,
        fin: true,
        rst: false,
        psh: false,
    };
    pub const RST: TcpFlags = TcpFlags {
        syn: false,
        ack: false,
        fin: false,
        rst: true,
        psh: false,
    };
}
