//! Test support: the hostile byte streams that mid-stream detection (`detect.rs`) is held
//! to, shared by its unit tests and `examples/detect_growth.rs` so both measure the same
//! inputs. Not part of the API.

/// Pseudo-random bytes (xorshift from `seed`), like the payload of a compressed or binary
/// frame, or encrypted bytes.
pub fn noise(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// `pattern` repeated to `len` bytes.
pub fn repeat(pattern: &[u8], len: usize) -> Vec<u8> {
    pattern.iter().copied().cycle().take(len).collect()
}

/// Makes a stream of the given length.
pub type Maker = fn(usize) -> Vec<u8>;

/// Inputs that were quadratic (zeros: a chain from every segment start, all following one
/// future) or are built to keep many chains alive, by name.
pub const HOSTILE: [(&str, Maker); 6] = [
    ("noise", |n| noise(n, 99)),
    ("zeros", |n| vec![0; n]),
    ("empty binary frames 82 00", |n| repeat(&[0x82, 0x00], n)),
    ("text headers of 32 KiB ASCII, every 4 bytes", |n| {
        repeat(&[0x01, 0x7e, 0x7f, 0x7f], n)
    }),
    ("masked zero-length continuations 80 80 ..", |n| repeat(&[0x80], n)),
    ("headers of every length", |n| (0..n).map(|i| (i % 251) as u8).collect()),
];
