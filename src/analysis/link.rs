//! Link layers down to TCP: Ethernet (VLAN/QinQ), Linux SLL/SLL2, BSD NULL/LOOP, raw IP,
//! and GTP-U / VXLAN tunnels, sliced with etherparse.

use core::net::{IpAddr, SocketAddr};

use etherparse::{EtherType, LaxNetSlice, LaxSlicedPacket, TransportSlice};

/// Link-layer header types (the libpcap DLT/LINKTYPE values) the analyzer understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinkType {
    Ethernet,
    LinuxSll,
    LinuxSll2,
    /// BSD loopback: 4-byte address family in the capturing host's byte order.
    Null,
    /// OpenBSD loopback: 4-byte address family in network byte order.
    Loop,
    /// Raw IPv4 or IPv6, no link header.
    RawIp,
    Ipv4,
    Ipv6,
    Other(i32),
}

impl LinkType {
    /// From a pcap LINKTYPE/DLT number.
    pub fn from_dlt(dlt: i32) -> LinkType {
        match dlt {
            1 => LinkType::Ethernet,
            113 => LinkType::LinuxSll,
            276 => LinkType::LinuxSll2,
            0 => LinkType::Null,
            108 => LinkType::Loop,
            12 | 14 | 101 => LinkType::RawIp,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            other => LinkType::Other(other),
        }
    }

    /// The LINKTYPE number written in pcap files.
    pub fn to_linktype(self) -> i32 {
        match self {
            LinkType::Ethernet => 1,
            LinkType::LinuxSll => 113,
            LinkType::LinuxSll2 => 276,
            LinkType::Null => 0,
            LinkType::Loop => 108,
            LinkType::RawIp => 101,
            LinkType::Ipv4 => 228,
            LinkType::Ipv6 => 229,
            LinkType::Other(v) => v,
        }
    }

    pub fn is_supported(self) -> bool {
        !matches!(self, LinkType::Other(_))
    }
}

/// The TCP parts of one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpPacket<'a> {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    /// The acknowledgement number, when the ACK flag is set.
    pub ack: Option<u32>,
    pub syn: bool,
    pub fin: bool,
    pub rst: bool,
    /// The advertised receive window as sent (unscaled: zero means zero whatever the scale).
    pub window: u16,
    pub payload: &'a [u8],
    /// TCP payload bytes that the snap length cut off after `payload`.
    pub missing_tail: u64,
}

/// What a packet turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded<'a> {
    Tcp(TcpPacket<'a>),
    /// Not TCP over IP (ARP, UDP, ICMP, …): nothing for the analyzer.
    NotTcp,
    /// A fragment of a TCP-carrying IP packet (not reassembled).
    IpFragment,
    /// Headers cut short by the snap length before the TCP header was complete.
    Truncated,
    /// Headers that do not parse.
    Malformed(String),
}

/// Tunnels nested deeper than this are not followed.
const MAX_TUNNEL_DEPTH: u8 = 3;
const GTP_U_PORT: u16 = 2152;
const VXLAN_PORT: u16 = 4789;

/// Decodes one captured packet of the given link type down to TCP.
pub fn decode(link: LinkType, data: &[u8]) -> Decoded<'_> {
    if let Some(tcp) = fast_path(link, data) {
        return Decoded::Tcp(tcp);
    }
    decode_at_depth(link, data, 0)
}

/// The common shapes, decoded without etherparse: Ethernet (with up to two VLAN tags) or
/// raw IP, then IPv4 without fragmentation or IPv6 without extension headers, then a whole
/// TCP header. etherparse's general slicer builds and copies a large struct per packet,
/// which cost a tenth of the whole decode; anything unusual still goes to etherparse.
fn fast_path(link: LinkType, data: &[u8]) -> Option<TcpPacket<'_>> {
    let ip = match link {
        LinkType::Ethernet => {
            let mut ether_type = u16::from_be_bytes([*data.get(12)?, *data.get(13)?]);
            let mut at = 14;
            for _ in 0..2 {
                if ether_type == 0x8100 || ether_type == 0x88a8 {
                    ether_type = u16::from_be_bytes([*data.get(at + 2)?, *data.get(at + 3)?]);
                    at += 4;
                }
            }
            if ether_type != 0x0800 && ether_type != 0x86dd {
                return None;
            }
            data.get(at..)?
        }
        LinkType::RawIp | LinkType::Ipv4 | LinkType::Ipv6 => data,
        _ => return None,
    };
    let (src, dst, segment, declared) = match ip.first()? >> 4 {
        4 => {
            let ihl = usize::from(ip.first()? & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
            let flags_frag = u16::from_be_bytes([*ip.get(6)?, *ip.get(7)?]);
            // More-fragments set or a fragment offset: not the fast path.
            if ihl < 20 || total < ihl || flags_frag & 0x3fff != 0 || *ip.get(9)? != 6 {
                return None;
            }
            let src: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
            let dst: [u8; 4] = ip.get(16..20)?.try_into().ok()?;
            let end = total.min(ip.len());
            (IpAddr::from(src), IpAddr::from(dst), ip.get(ihl..end)?, total - ihl)
        }
        6 => {
            let payload_len = usize::from(u16::from_be_bytes([*ip.get(4)?, *ip.get(5)?]));
            if *ip.get(6)? != 6 || payload_len == 0 {
                return None;
            }
            let src: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
            let dst: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
            let end = (40 + payload_len).min(ip.len());
            (IpAddr::from(src), IpAddr::from(dst), ip.get(40..end)?, payload_len)
        }
        _ => return None,
    };
    let data_offset = usize::from(segment.get(12)? >> 4) * 4;
    if data_offset < 20 || data_offset > segment.len() || declared < data_offset {
        return None;
    }
    let flags = *segment.get(13)?;
    let ack_flag = flags & 0x10 != 0;
    let word = |at: usize| -> Option<u32> { Some(u32::from_be_bytes(segment.get(at..at + 4)?.try_into().ok()?)) };
    let port = |at: usize| -> Option<u16> { Some(u16::from_be_bytes([*segment.get(at)?, *segment.get(at + 1)?])) };
    let payload = segment.get(data_offset..)?;
    Some(TcpPacket {
        src: SocketAddr::new(src, port(0)?),
        dst: SocketAddr::new(dst, port(2)?),
        seq: word(4)?,
        ack: if ack_flag { Some(word(8)?) } else { None },
        syn: flags & 0x02 != 0,
        fin: flags & 0x01 != 0,
        rst: flags & 0x04 != 0,
        window: port(14)?,
        payload,
        missing_tail: (declared - data_offset).saturating_sub(payload.len()) as u64,
    })
}

fn decode_at_depth(link: LinkType, data: &[u8], depth: u8) -> Decoded<'_> {
    let sliced = match link {
        LinkType::Ethernet => match LaxSlicedPacket::from_ethernet(data) {
            Ok(p) => p,
            Err(_) => return Decoded::Truncated,
        },
        LinkType::LinuxSll => match (data.get(14..16), data.get(16..)) {
            (Some(proto), Some(rest)) => {
                LaxSlicedPacket::from_ether_type(EtherType(u16::from_be_bytes([proto[0], proto[1]])), rest)
            }
            _ => return Decoded::Truncated,
        },
        LinkType::LinuxSll2 => match (data.get(0..2), data.get(20..)) {
            (Some(proto), Some(rest)) => {
                LaxSlicedPacket::from_ether_type(EtherType(u16::from_be_bytes([proto[0], proto[1]])), rest)
            }
            _ => return Decoded::Truncated,
        },
        LinkType::Null | LinkType::Loop => match data.get(4..) {
            // The family value's byte order depends on the capturing host; the IP version
            // nibble of the next byte says the same thing without guessing.
            Some(rest) => match from_ip(rest) {
                Ok(p) => p,
                Err(d) => return d,
            },
            None => return Decoded::Truncated,
        },
        LinkType::RawIp | LinkType::Ipv4 | LinkType::Ipv6 => match from_ip(data) {
            Ok(p) => p,
            Err(d) => return d,
        },
        LinkType::Other(v) => return Decoded::Malformed(format!("unsupported link type {v}")),
    };
    tcp_of(&sliced, depth)
}

fn from_ip(data: &[u8]) -> Result<LaxSlicedPacket<'_>, Decoded<'_>> {
    match data.first().map(|b| b >> 4) {
        Some(4) | Some(6) => LaxSlicedPacket::from_ip(data).map_err(|e| Decoded::Malformed(e.to_string())),
        Some(_) => Err(Decoded::NotTcp),
        None => Err(Decoded::Truncated),
    }
}

fn tcp_of<'a>(sliced: &LaxSlicedPacket<'a>, depth: u8) -> Decoded<'a> {
    let Some(net) = &sliced.net else {
        return match &sliced.stop_err {
            Some((err, _)) if is_length_error(err) => Decoded::Truncated,
            Some((err, _)) => Decoded::Malformed(err.to_string()),
            None => Decoded::NotTcp,
        };
    };
    let (src_ip, dst_ip, declared_len, payload) = match net {
        LaxNetSlice::Ipv4(v4) => {
            let h = v4.header();
            let declared = u64::from(h.total_len()).saturating_sub(u64::from(h.ihl()) * 4);
            (
                IpAddr::V4(h.source_addr()),
                IpAddr::V4(h.destination_addr()),
                declared,
                v4.payload(),
            )
        }
        LaxNetSlice::Ipv6(v6) => {
            let h = v6.header();
            let declared = u64::from(h.payload_length()).saturating_sub(v6.extensions().slice().len() as u64);
            (
                IpAddr::V6(h.source_addr()),
                IpAddr::V6(h.destination_addr()),
                declared,
                v6.payload(),
            )
        }
        LaxNetSlice::Arp(_) => return Decoded::NotTcp,
    };
    if payload.fragmented {
        // Only fragments of TCP matter here (UDP fragments are nobody's WebSocket).
        return if payload.ip_number == etherparse::IpNumber::TCP {
            Decoded::IpFragment
        } else {
            Decoded::NotTcp
        };
    }
    let missing_tail = if payload.incomplete {
        declared_len.saturating_sub(payload.payload.len() as u64)
    } else {
        0
    };
    match &sliced.transport {
        Some(TransportSlice::Tcp(tcp)) => Decoded::Tcp(TcpPacket {
            src: SocketAddr::new(src_ip, tcp.source_port()),
            dst: SocketAddr::new(dst_ip, tcp.destination_port()),
            seq: tcp.sequence_number(),
            ack: tcp.ack().then(|| tcp.acknowledgment_number()),
            syn: tcp.syn(),
            fin: tcp.fin(),
            rst: tcp.rst(),
            window: tcp.window_size(),
            payload: tcp.payload(),
            missing_tail,
        }),
        Some(TransportSlice::Udp(udp)) if depth < MAX_TUNNEL_DEPTH => {
            let (sp, dp) = (udp.source_port(), udp.destination_port());
            if sp == GTP_U_PORT || dp == GTP_U_PORT {
                match gtp_u_payload(udp.payload()) {
                    Some(inner) => match from_ip(inner) {
                        Ok(p) => tcp_of(&p, depth + 1),
                        Err(d) => d,
                    },
                    None => Decoded::NotTcp,
                }
            } else if sp == VXLAN_PORT || dp == VXLAN_PORT {
                match udp.payload().get(8..) {
                    Some(inner) => decode_at_depth(LinkType::Ethernet, inner, depth + 1),
                    None => Decoded::NotTcp,
                }
            } else {
                Decoded::NotTcp
            }
        }
        Some(_) => Decoded::NotTcp,
        None => match &sliced.stop_err {
            Some((err, _)) if is_length_error(err) => Decoded::Truncated,
            Some((err, _)) => Decoded::Malformed(err.to_string()),
            None => Decoded::NotTcp,
        },
    }
}

fn is_length_error(err: &etherparse::err::packet::SliceError) -> bool {
    matches!(err, etherparse::err::packet::SliceError::Len(_))
}

/// The inner packet of a GTP-U G-PDU (3GPP TS 29.281 §5.1), if this is one.
fn gtp_u_payload(data: &[u8]) -> Option<&[u8]> {
    let flags = *data.first()?;
    let msg_type = *data.get(1)?;
    if flags >> 5 != 1 || msg_type != 0xff {
        return None;
    }
    let mut offset = 8usize;
    if flags & 0x07 != 0 {
        // Sequence number, N-PDU number and next extension type are present.
        offset += 4;
        let mut next_ext = *data.get(offset - 1)?;
        while next_ext != 0 {
            let len_words = usize::from(*data.get(offset)?);
            if len_words == 0 {
                return None;
            }
            offset += len_words * 4;
            next_ext = *data.get(offset - 1)?;
        }
    }
    data.get(offset..)
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn tcp_ipv4_ethernet(payload: &[u8]) -> Vec<u8> {
        let builder = PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(40000, 8080, 1234, 1000)
            .ack(77);
        let mut out = Vec::new();
        builder.write(&mut out, payload).expect("build");
        out
    }

    #[test]
    fn decodes_tcp_over_ethernet() {
        let pkt = tcp_ipv4_ethernet(b"hello");
        match decode(LinkType::Ethernet, &pkt) {
            Decoded::Tcp(t) => {
                assert_eq!(t.src.to_string(), "10.0.0.1:40000");
                assert_eq!(t.dst.to_string(), "10.0.0.2:8080");
                assert_eq!(t.seq, 1234);
                assert_eq!(t.ack, Some(77));
                assert_eq!(t.payload, b"hello");
                assert_eq!(t.missing_tail, 0);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_snap_length_cut_reports_the_missing_tail() {
        let pkt = tcp_ipv4_ethernet(&[7u8; 100]);
        let cut = &pkt[..pkt.len() - 60];
        match decode(LinkType::Ethernet, cut) {
            Decoded::Tcp(t) => {
                assert_eq!(t.payload.len(), 40);
                assert_eq!(t.missing_tail, 60);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(decode(LinkType::Ethernet, &pkt[..30]), Decoded::Truncated);
    }

    #[test]
    fn decodes_sll2_null_and_raw_links() {
        let eth = tcp_ipv4_ethernet(b"x");
        let ip = &eth[14..];
        let mut sll2 = vec![0x08, 0x00];
        sll2.extend_from_slice(&[0; 18]);
        sll2.extend_from_slice(ip);
        let mut null = 2u32.to_le_bytes().to_vec();
        null.extend_from_slice(ip);
        for (link, bytes) in [
            (LinkType::LinuxSll2, &sll2[..]),
            (LinkType::Null, &null[..]),
            (LinkType::RawIp, ip),
        ] {
            match decode(link, bytes) {
                Decoded::Tcp(t) => assert_eq!(t.payload, b"x", "{link:?}"),
                other => panic!("{link:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn follows_gtp_u_tunnels() {
        let inner = &tcp_ipv4_ethernet(b"inner")[14..];
        let mut gtp = vec![0x30, 0xff, 0, inner.len() as u8, 0, 0, 0, 1];
        gtp.extend_from_slice(inner);
        let outer = PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([192, 0, 2, 1], [192, 0, 2, 2], 64)
            .udp(2152, 2152);
        let mut pkt = Vec::new();
        outer.write(&mut pkt, &gtp).expect("build");
        match decode(LinkType::Ethernet, &pkt) {
            Decoded::Tcp(t) => assert_eq!(t.payload, b"inner"),
            other => panic!("{other:?}"),
        }
    }

    proptest::proptest! {
        #[test]
        fn the_fast_path_agrees_with_etherparse(
            payload in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            v6 in proptest::prelude::any::<bool>(),
            vlan in 0u8..3,
            cut in 0usize..400,
            flags in proptest::prelude::any::<u8>(),
            seq in proptest::prelude::any::<u32>(),
        ) {
            let mut builder_out = Vec::new();
            let eth = PacketBuilder::ethernet2([1; 6], [2; 6]);
            let (v4a, v4b, v6a, v6b) = ([10, 0, 0, 1], [10, 0, 0, 2], [1; 16], [2; 16]);
            let tag = |n| etherparse::VlanId::try_new(n).expect("vlan");
            let ip = match (vlan, v6) {
                (0, false) => eth.ipv4(v4a, v4b, 64),
                (0, true) => eth.ipv6(v6a, v6b, 64),
                (1, false) => eth.single_vlan(tag(7)).ipv4(v4a, v4b, 64),
                (1, true) => eth.single_vlan(tag(7)).ipv6(v6a, v6b, 64),
                (_, false) => eth.double_vlan(tag(7), tag(9)).ipv4(v4a, v4b, 64),
                (_, true) => eth.double_vlan(tag(7), tag(9)).ipv6(v6a, v6b, 64),
            };
            let mut tcp = ip.tcp(1234, 80, seq, 1000);
            if flags & 1 != 0 { tcp = tcp.syn(); }
            if flags & 2 != 0 { tcp = tcp.fin(); }
            if flags & 4 != 0 { tcp = tcp.ack(seq ^ 0x5555); }
            if flags & 8 != 0 { tcp = tcp.rst(); }
            tcp.write(&mut builder_out, &payload).expect("build");
            let packet = &builder_out[..cut.min(builder_out.len())];
            let general = decode_at_depth(LinkType::Ethernet, packet, 0);
            let fast = fast_path(LinkType::Ethernet, packet);
            if packet.len() == builder_out.len() {
                // Whole packets of these shapes are exactly what the fast path is for.
                proptest::prop_assert!(fast.is_some());
            }
            if let Some(fast) = fast {
                proptest::prop_assert_eq!(Decoded::Tcp(fast), general);
            }
        }
    }

    #[test]
    fn garbage_never_panics() {
        for len in 0..80 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            for link in [
                LinkType::Ethernet,
                LinkType::LinuxSll,
                LinkType::LinuxSll2,
                LinkType::Null,
                LinkType::RawIp,
            ] {
                let _ = decode(link, &bytes);
            }
        }
    }
}
