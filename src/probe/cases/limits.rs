//! Autobahn category 9 (limits and performance: big messages, many fragments, small chops)
//! with Autobahn's sizes; cases over 1 MiB are marked slow (run with `--slow`). And
//! category 10 (misc): a 64 KiB message auto-fragmented into 1300-octet frames.

use crate::probe::Category;
use std::sync::Arc;

use crate::probe::cases::{Body, Case, case};
use crate::probe::script::{Chop, CloseExpect, Ev, Finish, Frame, Script, Step, secs};

const MIB: usize = 1 << 20;

fn fill(pattern: &[u8], len: usize) -> Vec<u8> {
    pattern.iter().copied().cycle().take(len).collect()
}

fn echo(step: Step, binary: bool, payload: Vec<u8>, wait: f64) -> Script {
    Script::new(
        vec![step],
        vec![Ev::Message { binary, payload }],
        CloseExpect::normal(),
        Finish::CloseAfter(secs(wait)),
    )
}

fn named(n: usize) -> String {
    if n >= MIB {
        format!("{} MiB", n / MIB)
    } else {
        format!("{} KiB", n / 1024)
    }
}

/// A case whose megabytes of payload are made only when it runs.
fn lazy(id: &str, description: &str, make: impl Fn() -> Script + Send + Sync + 'static) -> Case {
    Case {
        id: id.to_owned(),
        category: Category::Limits,
        description: description.to_owned(),
        slow: false,
        body: Body::Lazy(Arc::new(make)),
    }
}

pub fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let sizes = [64 * 1024, 256 * 1024, MIB, 4 * MIB, 8 * MIB, 16 * MIB];
    for (sub, binary, pattern) in [(1, false, &b"BAsd7&jh23"[..]), (2, true, &b"\x00\xfe\x23\xfa\xf0"[..])] {
        for (i, n) in sizes.iter().enumerate() {
            let n = *n;
            let mut k = lazy(
                &format!("9.{sub}.{}", i + 1),
                &format!("{} message of {}", if binary { "binary" } else { "text" }, named(n)),
                move || {
                    let payload = fill(pattern, n);
                    echo(
                        Step::Frame(Frame::new(if binary { 2 } else { 1 }, payload.clone())),
                        binary,
                        payload,
                        if n > MIB { 100.0 } else { 10.0 },
                    )
                },
            );
            k.slow = n > MIB;
            out.push(k);
        }
    }
    let frags = [64, 256, 1024, 4096, 16 * 1024, 64 * 1024, 256 * 1024, MIB, 4 * MIB];
    for (sub, binary) in [(3, false), (4, true)] {
        for (i, size) in frags.iter().enumerate() {
            let size = *size;
            let mut k = lazy(
                &format!("9.{sub}.{}", i + 1),
                &format!(
                    "fragmented {} message of 4 MiB in fragments of {}",
                    if binary { "binary" } else { "text" },
                    if size >= 1024 { named(size) } else { format!("{size} B") }
                ),
                move || {
                    let payload = if binary {
                        vec![0xfe; 4 * MIB]
                    } else {
                        vec![b'*'; 4 * MIB]
                    };
                    echo(
                        Step::Message {
                            binary,
                            payload: payload.clone(),
                            fragment: Some(size),
                        },
                        binary,
                        payload,
                        100.0,
                    )
                },
            );
            k.slow = true;
            out.push(k);
        }
    }
    for (sub, binary) in [(5, false), (6, true)] {
        for (i, chop) in [64usize, 128, 256, 512, 1024, 2048].into_iter().enumerate() {
            out.push(lazy(
                &format!("9.{sub}.{}", i + 1),
                &format!(
                    "{} message of 1 MiB sent in chops of {chop} octets",
                    if binary { "binary" } else { "text" }
                ),
                move || {
                    let payload = if binary { vec![0xfe; MIB] } else { vec![b'*'; MIB] };
                    echo(
                        Step::Frame(Frame::new(if binary { 2 } else { 1 }, payload.clone()).chop(Chop::Bytes(chop))),
                        binary,
                        payload,
                        100.0,
                    )
                },
            ));
        }
    }
    out
}

/// Category 10.
pub fn misc() -> Vec<Case> {
    let payload = vec![b'*'; 65536];
    vec![case(
        "10.1.1",
        Category::Misc,
        "text message of 64 KiB auto-fragmented into frames of 1300 octets",
        Script::new(
            vec![Step::Message {
                binary: false,
                payload: payload.clone(),
                fragment: Some(1300),
            }],
            vec![Ev::Message { binary: false, payload }],
            CloseExpect::normal(),
            Finish::Kill(secs(10.0)),
        ),
    )]
}
