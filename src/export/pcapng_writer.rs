//! Writing pcapng: one section, one interface per link type, nanosecond timestamps.
//!
//! Written by hand (about forty lines of block framing) rather than through a crate: the
//! readers in our stack (pcap-parser without its serialisation feature, libpcap's dumper)
//! write only classic pcap, and captures saved from the window should be pcapng.

use std::io::{self, Write};

use crate::analysis::Timestamp;

const SECTION_HEADER: u32 = 0x0a0d_0d0a;
const INTERFACE_DESCRIPTION: u32 = 1;
const ENHANCED_PACKET: u32 = 6;
const DECRYPTION_SECRETS: u32 = 0x0000_000a;
/// The Decryption Secrets Block type of NSS key log text (`SSLKEYLOGFILE`).
const SECRETS_TLS_KEY_LOG: u32 = 0x544c_534b;
const OPT_ENDOFOPT: u16 = 0;
const OPT_IF_NAME: u16 = 2;
const OPT_IF_TSRESOL: u16 = 9;

/// A streaming little-endian pcapng writer.
pub struct PcapNgWriter<W: Write> {
    out: W,
    interfaces: u32,
}

fn option(body: &mut Vec<u8>, code: u16, value: &[u8]) {
    body.extend_from_slice(&code.to_le_bytes());
    body.extend_from_slice(&(value.len() as u16).to_le_bytes());
    body.extend_from_slice(value);
    body.resize(body.len().div_ceil(4) * 4, 0);
}

impl<W: Write> PcapNgWriter<W> {
    /// Starts a section.
    pub fn new(mut out: W) -> io::Result<Self> {
        let mut shb = Vec::with_capacity(16);
        shb.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
        shb.extend_from_slice(&1u16.to_le_bytes());
        shb.extend_from_slice(&0u16.to_le_bytes());
        shb.extend_from_slice(&(-1i64).to_le_bytes());
        write_block(&mut out, SECTION_HEADER, &shb)?;
        Ok(PcapNgWriter { out, interfaces: 0 })
    }

    /// Describes an interface; returns its id for `write_packet`.
    pub fn add_interface(&mut self, linktype: u16, snaplen: u32, name: &str) -> io::Result<u32> {
        let mut idb = Vec::with_capacity(32);
        idb.extend_from_slice(&linktype.to_le_bytes());
        idb.extend_from_slice(&0u16.to_le_bytes());
        idb.extend_from_slice(&snaplen.to_le_bytes());
        if !name.is_empty() {
            option(&mut idb, OPT_IF_NAME, name.as_bytes());
        }
        option(&mut idb, OPT_IF_TSRESOL, &[9]);
        option(&mut idb, OPT_ENDOFOPT, &[]);
        write_block(&mut self.out, INTERFACE_DESCRIPTION, &idb)?;
        self.interfaces += 1;
        Ok(self.interfaces - 1)
    }

    /// Writes one packet: `data` as captured, `orig_len` its length on the wire.
    pub fn write_packet(&mut self, interface: u32, ts: Timestamp, data: &[u8], orig_len: u32) -> io::Result<()> {
        let units = ts.nanos.max(0) as u64;
        let mut epb = Vec::with_capacity(20 + data.len() + 3);
        epb.extend_from_slice(&interface.to_le_bytes());
        epb.extend_from_slice(&((units >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(units as u32).to_le_bytes());
        epb.extend_from_slice(&(data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&orig_len.to_le_bytes());
        epb.extend_from_slice(data);
        epb.resize(epb.len().div_ceil(4) * 4, 0);
        write_block(&mut self.out, ENHANCED_PACKET, &epb)
    }

    /// Embeds TLS key log lines as a Decryption Secrets Block (as `editcap --inject-secrets`
    /// does), so the file decrypts with no key log beside it. Readers apply a block to the
    /// packets after it.
    pub fn write_tls_keys(&mut self, keylog: &[u8]) -> io::Result<()> {
        if keylog.is_empty() {
            return Ok(());
        }
        let len = u32::try_from(keylog.len()).map_err(|_| io::Error::other("key log too large for one block"))?;
        let mut dsb = Vec::with_capacity(8 + keylog.len() + 3);
        dsb.extend_from_slice(&SECRETS_TLS_KEY_LOG.to_le_bytes());
        dsb.extend_from_slice(&len.to_le_bytes());
        dsb.extend_from_slice(keylog);
        dsb.resize(dsb.len().div_ceil(4) * 4, 0);
        write_block(&mut self.out, DECRYPTION_SECRETS, &dsb)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

fn write_block(out: &mut impl Write, kind: u32, body: &[u8]) -> io::Result<()> {
    let total = (12 + body.len()) as u32;
    out.write_all(&kind.to_le_bytes())?;
    out.write_all(&total.to_le_bytes())?;
    out.write_all(body)?;
    out.write_all(&total.to_le_bytes())
}
