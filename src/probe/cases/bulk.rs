//! Cases that echo many messages in a row: 9.7/9.8 (round trips of small messages) and
//! 12/13 (permessage-deflate, compressed with the engine's own deflater, offers as Autobahn
//! makes them). Autobahn sends 1000 messages per case; framescope sends 100 of each size
//! (runtime), and its data sets are generated, not Autobahn's files: the ids say which
//! Autobahn case each one mirrors, the descriptions say what differs.

use crate::probe::Category;
use crate::probe::cases::{Body, Case};

/// Made-up stand-ins for Autobahn's five test files: similar kinds of content, generated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataSet {
    Json,
    Bitmap,
    Prose,
    Html,
    Pdf,
}

impl DataSet {
    pub fn binary(self) -> bool {
        matches!(self, DataSet::Bitmap | DataSet::Prose | DataSet::Pdf)
    }
    fn describe(self) -> &'static str {
        match self {
            DataSet::Json => "JSON text",
            DataSet::Bitmap => "a bitmap-like binary",
            DataSet::Prose => "prose sent as binary",
            DataSet::Html => "HTML text",
            DataSet::Pdf => "noisy binary",
        }
    }
    /// 256 KiB of this kind of data, the same every run.
    pub fn bytes(self) -> Vec<u8> {
        let mut seed: u32 = 0x9e37_79b9;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        let words = [
            "websocket",
            "frame",
            "deflate",
            "Faust",
            "Gretchen",
            "server",
            "client",
            "message",
            "ueber",
            "Nacht",
        ];
        let mut out = Vec::with_capacity(256 * 1024 + 256);
        while out.len() < 256 * 1024 {
            let r = next();
            let w = words.get(r as usize % words.len()).copied().unwrap_or("x");
            match self {
                DataSet::Json => out
                    .extend_from_slice(format!("{{\"id\":{},\"name\":\"{w}\",\"ok\":true}},", r % 100_000).as_bytes()),
                DataSet::Html => {
                    out.extend_from_slice(format!("<div class=\"{w}\"><p>{w} {}</p></div>\n", r % 1000).as_bytes())
                }
                DataSet::Prose => out.extend_from_slice(format!("{w} ").as_bytes()),
                DataSet::Bitmap => out.extend((0..64u32).map(|i| ((i + (r % 7)) * 4) as u8)),
                DataSet::Pdf => out.extend(r.to_le_bytes()),
            }
        }
        out
    }
}

#[derive(Clone, Debug)]
pub struct Bulk {
    /// The `Sec-WebSocket-Extensions` offer, or none (9.7/9.8).
    pub offer: Option<String>,
    pub count: usize,
    pub len: usize,
    pub data: DataSet,
    /// Frames of at most this many octets (0: one frame per message).
    pub fragment: usize,
    pub wait_secs: f64,
}

fn bulk(id: String, category: Category, description: String, slow: bool, b: Bulk) -> Case {
    Case {
        id,
        category,
        description,
        slow,
        body: Body::Bulk(b),
    }
}

pub fn round_trip_cases() -> Vec<Case> {
    let mut out = Vec::new();
    for (sub, data) in [(7, DataSet::Json), (8, DataSet::Pdf)] {
        for (i, len) in [0usize, 16, 64, 256, 1024, 4096].into_iter().enumerate() {
            out.push(bulk(
                format!("9.{sub}.{}", i + 1),
                Category::Limits,
                format!(
                    "1000 {} messages of {len} octets, one after the other (round trips)",
                    if data.binary() { "binary" } else { "text" }
                ),
                false,
                Bulk {
                    offer: None,
                    count: 1000,
                    len,
                    data,
                    fragment: 0,
                    wait_secs: 60.0,
                },
            ));
        }
    }
    out
}

/// Autobahn's 12.x/13.x sizes: (length, auto-fragment size).
const SIZES: [(usize, usize); 18] = [
    (16, 0),
    (64, 0),
    (256, 0),
    (1024, 0),
    (4096, 0),
    (8192, 0),
    (16384, 0),
    (32768, 0),
    (65536, 0),
    (131072, 0),
    (8192, 256),
    (16384, 256),
    (32768, 256),
    (65536, 256),
    (131072, 256),
    (131072, 1024),
    (131072, 4096),
    (131072, 32768),
];

const PER_CASE: usize = 100;

pub fn deflate_cases() -> Vec<Case> {
    let mut out = Vec::new();
    let sets = [
        DataSet::Json,
        DataSet::Bitmap,
        DataSet::Prose,
        DataSet::Html,
        DataSet::Pdf,
    ];
    for (j, data) in sets.into_iter().enumerate() {
        for (i, (len, frag)) in SIZES.into_iter().enumerate() {
            out.push(bulk(
                format!("12.{}.{}", j + 1, i + 1),
                Category::Deflate,
                format!(
                    "{PER_CASE} compressed messages of {len} octets ({}), auto-fragmented at {frag}; default offer",
                    data.describe()
                ),
                len >= 32768,
                Bulk {
                    offer: Some("permessage-deflate; client_no_context_takeover; client_max_window_bits".to_owned()),
                    count: PER_CASE,
                    len,
                    data,
                    fragment: frag,
                    wait_secs: 60.0,
                },
            ));
        }
    }
    // Autobahn's PerMessageDeflateOffer always says client_no_context_takeover and
    // client_max_window_bits (what it accepts), then what it requests of the server.
    let base = "permessage-deflate; client_no_context_takeover; client_max_window_bits";
    let offers = [
        base.to_owned(),
        format!("{base}; server_no_context_takeover"),
        format!("{base}; server_max_window_bits=9"),
        format!("{base}; server_max_window_bits=15"),
        format!("{base}; server_no_context_takeover; server_max_window_bits=9"),
        format!("{base}; server_no_context_takeover; server_max_window_bits=15"),
        format!(
            "{base}; server_no_context_takeover; server_max_window_bits=9, {base}; server_no_context_takeover, {base}"
        ),
    ];

    for (j, offer) in offers.iter().enumerate() {
        for (i, (len, frag)) in SIZES.into_iter().enumerate() {
            out.push(bulk(
                format!("13.{}.{}", j + 1, i + 1),
                Category::Deflate,
                format!(
                    "{PER_CASE} compressed JSON messages of {len} octets, auto-fragmented at {frag}; offer: {offer}"
                ),
                len >= 32768,
                Bulk {
                    offer: Some(offer.clone()),
                    count: PER_CASE,
                    len,
                    data: DataSet::Json,
                    fragment: frag,
                    wait_secs: 60.0,
                },
            ));
        }
    }
    out
}
