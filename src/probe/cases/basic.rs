//! Autobahn categories 1 (framing), 2 (ping/pong), 3 (reserved bits) and 4 (opcodes), plus
//! framescope's own framing cases (`1.fs.*`: unmasked client frames, length encodings).

use crate::probe::Behavior::NonStrict;
use crate::probe::Category;
use crate::probe::cases::{Case, case};
use crate::probe::script::{Chop, CloseExpect, Ev, Finish, Frame, Script, Step, secs};

fn echo(steps: Vec<Step>, ok: Vec<Ev>, finish: Finish) -> Script {
    Script::new(steps, ok, CloseExpect::normal(), finish)
}

fn must_fail(steps: Vec<Step>, finish: Finish) -> Script {
    Script::new(steps, vec![], CloseExpect::failed_by_peer(&[1002]), finish)
}

const HELLO: &str = "Hello, world!";

pub fn framing() -> Vec<Case> {
    let mut out = Vec::new();
    let sizes = [0usize, 125, 126, 127, 128, 65535, 65536];
    for (binary, sub) in [(false, 1), (true, 2)] {
        for (i, n) in sizes.iter().enumerate() {
            let payload = if binary { vec![0xfe; *n] } else { vec![b'*'; *n] };
            let ev = Ev::Message {
                binary,
                payload: payload.clone(),
            };
            let kill = if *n > 128 { 10.0 } else { 1.0 };
            out.push(case(
                &format!("1.{sub}.{}", i + 1),
                Category::Framing,
                &format!(
                    "{} message with payload of length {n}",
                    if binary { "binary" } else { "text" }
                ),
                echo(
                    vec![Step::Frame(Frame::new(if binary { 2 } else { 1 }, payload))],
                    vec![ev],
                    Finish::Kill(secs(kill)),
                ),
            ));
        }
        let payload = if binary { vec![0xfe; 65536] } else { vec![b'*'; 65536] };
        out.push(case(
            &format!("1.{sub}.8"),
            Category::Framing,
            &format!(
                "{} message with payload of length 65536, sent in chops of 997 octets",
                if binary { "binary" } else { "text" }
            ),
            echo(
                vec![Step::Frame(
                    Frame::new(if binary { 2 } else { 1 }, payload.clone()).chop(Chop::Bytes(997)),
                )],
                vec![Ev::Message { binary, payload }],
                Finish::Kill(secs(10.0)),
            ),
        ));
    }
    // framescope's own: rules Autobahn (always a masking client) never breaks.
    out.push(case(
        "1.fs.1",
        Category::Framing,
        "unmasked text frame from the client (RFC 6455 §5.1: the server MUST close the connection)",
        must_fail(
            vec![Step::Frame(Frame::new(1, HELLO).unmasked())],
            Finish::Kill(secs(1.0)),
        ),
    ));
    out.push(case(
        "1.fs.2",
        Category::Framing,
        "unmasked ping from the client (no pong may come back)",
        must_fail(
            vec![Step::Frame(Frame::new(9, "unmasked").unmasked())],
            Finish::Kill(secs(1.0)),
        ),
    ));
    let mut huge = vec![0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4];
    huge.extend_from_slice(b"abcde");
    let mut s = Script::new(
        vec![Step::Raw(huge)],
        vec![],
        CloseExpect::failed_by_peer(&[1002, 1009]),
        Finish::Kill(secs(1.0)),
    );
    s.close.require_clean = false;
    out.push(case(
        "1.fs.3",
        Category::Framing,
        "64-bit payload length with the most significant bit set (RFC 6455 §5.2 forbids it)",
        s,
    ));
    out
}

pub fn ping_pong() -> Vec<Case> {
    let mut out = Vec::new();
    let close_after = |steps: Vec<Step>, ok: Vec<Ev>, s: f64| echo(steps, ok, Finish::CloseAfter(secs(s)));
    let pings: [(&str, &str, Vec<u8>, Chop, f64); 4] = [
        ("2.1", "ping without payload", vec![], Chop::Whole, 1.0),
        (
            "2.2",
            "ping with small text payload",
            HELLO.as_bytes().to_vec(),
            Chop::Whole,
            1.0,
        ),
        (
            "2.3",
            "ping with small binary (non UTF-8) payload",
            vec![0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff],
            Chop::Whole,
            1.0,
        ),
        (
            "2.4",
            "ping with binary payload of 125 octets",
            vec![0xfe; 125],
            Chop::Whole,
            1.0,
        ),
    ];
    for (id, desc, payload, chop, wait) in pings {
        out.push(case(
            id,
            Category::PingPong,
            desc,
            close_after(
                vec![Step::Frame(Frame::new(9, payload.clone()).chop(chop))],
                vec![Ev::Pong(payload)],
                wait,
            ),
        ));
    }
    out.push(case(
        "2.5",
        Category::PingPong,
        "ping with binary payload of 126 octets (control frames carry at most 125)",
        must_fail(
            vec![Step::Frame(Frame::new(9, vec![0xfe; 126]))],
            Finish::Kill(secs(1.0)),
        ),
    ));
    out.push(case(
        "2.6",
        Category::PingPong,
        "ping with binary payload of 125 octets, sent in octet-wise chops",
        close_after(
            vec![Step::Frame(Frame::new(9, vec![0xfe; 125]).chop(Chop::Bytes(1)))],
            vec![Ev::Pong(vec![0xfe; 125])],
            2.0,
        ),
    ));
    out.push(case(
        "2.7",
        Category::PingPong,
        "unsolicited pong without payload, then close (nothing is answered)",
        close_after(
            vec![Step::Frame(Frame::new(10, vec![])), Step::Close(close_code(1000))],
            vec![],
            1.0,
        ),
    ));
    out.push(case(
        "2.8",
        Category::PingPong,
        "unsolicited pong with payload, then close",
        close_after(
            vec![
                Step::Frame(Frame::new(10, "unsolicited pong payload")),
                Step::Close(close_code(1000)),
            ],
            vec![],
            1.0,
        ),
    ));
    out.push(case(
        "2.9",
        Category::PingPong,
        "unsolicited pong, then a ping: the pong answers the ping's payload",
        close_after(
            vec![
                Step::Frame(Frame::new(10, "unsolicited pong payload")),
                Step::Frame(Frame::new(9, "ping payload")),
            ],
            vec![Ev::Pong(b"ping payload".to_vec())],
            1.0,
        ),
    ));
    for (id, chop, how) in [
        ("2.10", Chop::Whole, ""),
        ("2.11", Chop::Bytes(1), ", in octet-wise chops"),
    ] {
        let payloads: Vec<Vec<u8>> = (0..10).map(|i| format!("payload-{i}").into_bytes()).collect();
        out.push(case(
            id,
            Category::PingPong,
            &format!("10 pings with payload{how}: a pong for each (not required by the spec, checked anyway)"),
            close_after(
                payloads
                    .iter()
                    .map(|p| Step::Frame(Frame::new(9, p.clone()).chop(chop)))
                    .collect(),
                payloads.into_iter().map(Ev::Pong).collect(),
                3.0,
            ),
        ));
    }
    for c in &mut out {
        if let crate::probe::cases::Body::Script(s) = &mut c.body {
            s.strict_pongs = true;
        }
    }
    out
}

fn close_code(code: u16) -> Vec<u8> {
    code.to_be_bytes().to_vec()
}

/// Echo of the first message, then the connection failed: the usual shape of 3.x and 4.x.
fn echo_then_fail(steps: Vec<Step>) -> Script {
    Script::new(
        steps,
        vec![Ev::text(HELLO)],
        CloseExpect::failed_by_peer(&[1002]),
        Finish::Kill(secs(1.0)),
    )
    .or(NonStrict, vec![])
}

pub fn reserved_bits() -> Vec<Case> {
    let text = |rsv: u8, chop: Chop| Frame::new(1, HELLO).rsv(rsv).chop(chop);
    vec![
        case(
            "3.1",
            Category::ReservedBits,
            "small text message with RSV = 1",
            must_fail(vec![Step::Frame(text(1, Chop::Whole))], Finish::Kill(secs(1.0))),
        ),
        case(
            "3.2",
            Category::ReservedBits,
            "small text message, then again with RSV = 2, then a ping",
            echo_then_fail(vec![
                Step::Frame(text(0, Chop::Whole)),
                Step::Frame(text(2, Chop::Whole)),
                Step::Frame(Frame::new(9, vec![])),
            ]),
        ),
        case(
            "3.3",
            Category::ReservedBits,
            "small text message, then again with RSV = 3, then a ping; frame-wise chops",
            echo_then_fail(vec![
                Step::Frame(text(0, Chop::Sync)),
                Step::Frame(text(3, Chop::Sync)),
                Step::Frame(Frame::new(9, vec![]).chop(Chop::Sync)),
            ]),
        ),
        case(
            "3.4",
            Category::ReservedBits,
            "small text message, then again with RSV = 4, then a ping; octet-wise chops",
            echo_then_fail(vec![
                Step::Frame(text(0, Chop::Bytes(1))),
                Step::Frame(text(4, Chop::Bytes(1))),
                Step::Frame(Frame::new(9, vec![]).chop(Chop::Bytes(1))),
            ]),
        ),
        case(
            "3.5",
            Category::ReservedBits,
            "small binary message with RSV = 5",
            must_fail(
                vec![Step::Frame(
                    Frame::new(2, vec![0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff]).rsv(5),
                )],
                Finish::Kill(secs(1.0)),
            ),
        ),
        case(
            "3.6",
            Category::ReservedBits,
            "small binary message with RSV = 6 (Autobahn calls it a ping; it sends opcode 2)",
            must_fail(vec![Step::Frame(Frame::new(2, HELLO).rsv(6))], Finish::Kill(secs(1.0))),
        ),
        case(
            "3.7",
            Category::ReservedBits,
            "close with RSV = 7",
            must_fail(vec![Step::Frame(Frame::new(8, vec![]).rsv(7))], Finish::Kill(secs(1.0))),
        ),
    ]
}

pub fn opcodes() -> Vec<Case> {
    let mut out = Vec::new();
    for (sub, first) in [(1, 3u8), (2, 11u8)] {
        let kind = if sub == 1 { "non-control" } else { "control" };
        out.push(case(
            &format!("4.{sub}.1"),
            Category::Opcodes,
            &format!("frame with reserved {kind} opcode {first}"),
            must_fail(vec![Step::Frame(Frame::new(first, vec![]))], Finish::Kill(secs(1.0))),
        ));
        out.push(case(
            &format!("4.{sub}.2"),
            Category::Opcodes,
            &format!("frame with reserved {kind} opcode {} and non-empty payload", first + 1),
            must_fail(
                vec![Step::Frame(Frame::new(first + 1, "reserved opcode payload"))],
                Finish::Kill(secs(1.0)),
            ),
        ));
        let shapes: [(u8, &[u8], Chop, &str); 3] = [
            (first + 2, b"", Chop::Whole, ""),
            (first + 3, HELLO.as_bytes(), Chop::Whole, " with payload"),
            (
                first + 4,
                HELLO.as_bytes(),
                Chop::Bytes(1),
                " with payload, octet-wise chops",
            ),
        ];
        for (i, (op, payload, chop, how)) in shapes.into_iter().enumerate() {
            out.push(case(
                &format!("4.{sub}.{}", i + 3),
                Category::Opcodes,
                &format!("text message, then a frame with reserved {kind} opcode {op}{how}, then a ping"),
                echo_then_fail(vec![
                    Step::Frame(Frame::new(1, HELLO).chop(chop)),
                    Step::Frame(Frame::new(op, payload.to_vec()).chop(chop)),
                    Step::Frame(Frame::new(9, vec![]).chop(chop)),
                ]),
            ));
        }
    }
    out
}
