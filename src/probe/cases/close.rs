//! Autobahn category 7: close handling — data after a close, close payload lengths, valid and
//! invalid close codes, an invalid UTF-8 reason. Here a wrong close code fails the case and an
//! unclean closing handshake does too (elsewhere both are only noted: other categories judge
//! their own topic, so a server that mishandles closing fails here and nowhere else).

use crate::probe::Category;
use crate::probe::cases::{Case, case};
use crate::probe::script::{CloseExpect, Ev, Finish, Frame, Script, Special, Step, close_payload, secs};

fn closing(steps: Vec<Step>, ok: Vec<Ev>, codes: &[u16], clean: bool) -> Script {
    let mut s = Script::new(
        steps,
        ok,
        CloseExpect {
            by_me: true,
            codes: codes.to_vec(),
            require_clean: clean,
            wrong_endpoint_fatal: false,
        },
        Finish::Kill(secs(1.0)),
    );
    s.suppress_close = true;
    s.special = Special::WrongCodeFails;
    s
}

pub fn cases() -> Vec<Case> {
    let c = Category::Close;
    let normal = || Step::Close(close_payload(1000, b""));
    let mut first = closing(
        vec![Step::Frame(Frame::new(1, "Hello World!"))],
        vec![Ev::text("Hello World!")],
        &[1000],
        true,
    );
    first.suppress_close = false;
    let mut out = vec![
        case("7.1.1", c, "a message followed by a close frame", first),
        case(
            "7.1.2",
            c,
            "two close frames",
            closing(
                vec![normal(), Step::Frame(Frame::new(8, vec![]))],
                vec![],
                &[1000],
                true,
            ),
        ),
        case(
            "7.1.3",
            c,
            "a ping after the close frame",
            closing(
                vec![normal(), Step::Frame(Frame::new(9, vec![]))],
                vec![],
                &[1000],
                true,
            ),
        ),
        case(
            "7.1.4",
            c,
            "a text message after the close frame",
            closing(
                vec![normal(), Step::Frame(Frame::new(1, "Hello World!"))],
                vec![],
                &[1000],
                true,
            ),
        ),
        case(
            "7.1.5",
            c,
            "a message fragment, then close, then the final fragment",
            closing(
                vec![
                    Step::Frame(Frame::new(1, "fragment1").fin(false)),
                    normal(),
                    Step::Frame(Frame::new(0, "fragment2")),
                ],
                vec![],
                &[1000],
                true,
            ),
        ),
    ];
    let big: Vec<u8> = b"BAsd7&jh23".iter().copied().cycle().take(256 * 1024).collect();
    let mut s716 = closing(
        vec![
            Step::Frame(Frame::new(1, big)),
            Step::Frame(Frame::new(1, "Hello World!")),
            normal(),
            Step::Frame(Frame::new(9, vec![])),
        ],
        vec![Ev::text("BAsd7&jh23")], // placeholder, replaced below
        &[1000],
        true,
    );
    // Either order is allowed: informational.
    s716.expect = vec![
        (crate::probe::Behavior::Ok, vec![]),
        (crate::probe::Behavior::NonStrict, vec![]),
    ];
    s716.special = Special::Informational;
    out.push(case(
        "7.1.6",
        c,
        "a 256 KiB message, a small one, close, then a ping (informational: was the data processed before the close?)",
        s716,
    ));
    out.push(case(
        "7.3.1",
        c,
        "close frame with payload length 0 (no code, no reason)",
        closing(vec![Step::Close(vec![])], vec![], &[1000], true),
    ));
    out.push(case(
        "7.3.2",
        c,
        "close frame with payload length 1",
        closing(vec![Step::Close(b"a".to_vec())], vec![], &[1002], false),
    ));
    out.push(case(
        "7.3.3",
        c,
        "close frame with payload length 2 (a code)",
        closing(vec![normal()], vec![], &[1000], true),
    ));
    out.push(case(
        "7.3.4",
        c,
        "close frame with a code and a reason",
        closing(
            vec![Step::Close(close_payload(1000, b"Hello World!"))],
            vec![],
            &[1000],
            true,
        ),
    ));
    out.push(case(
        "7.3.5",
        c,
        "close frame with a code and a reason of the maximum length (123)",
        closing(
            vec![Step::Close(close_payload(1000, &[b'*'; 123]))],
            vec![],
            &[1000],
            true,
        ),
    ));
    out.push(case(
        "7.3.6",
        c,
        "close frame with a reason too long (124): frame payload 126 octets",
        closing(
            vec![Step::Close(close_payload(1000, &[b'*'; 124]))],
            vec![],
            &[1002],
            false,
        ),
    ));
    let bad_reason = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64";
    out.push(case(
        "7.5.1",
        c,
        "close frame with an invalid UTF-8 reason",
        closing(
            vec![Step::Close(close_payload(1000, bad_reason))],
            vec![],
            &[1002, 1007],
            false,
        ),
    ));
    for (i, code) in [
        1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999,
    ]
    .into_iter()
    .enumerate()
    {
        out.push(case(
            &format!("7.7.{}", i + 1),
            c,
            &format!("close with valid close code {code}"),
            closing(
                vec![Step::Close(code.to_be_bytes().to_vec())],
                vec![],
                &[1000, code],
                true,
            ),
        ));
    }
    for (i, code) in [0u16, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999]
        .into_iter()
        .enumerate()
    {
        out.push(case(
            &format!("7.9.{}", i + 1),
            c,
            &format!("close with invalid close code {code}"),
            closing(vec![Step::Close(code.to_be_bytes().to_vec())], vec![], &[1002], false),
        ));
    }
    for (id, code) in [("7.13.1", 5000u16), ("7.13.2", 65535)] {
        let mut s = closing(
            vec![Step::Close(code.to_be_bytes().to_vec())],
            vec![],
            &[1000, code, 1002],
            false,
        );
        s.special = Special::Informational;
        out.push(case(
            id,
            c,
            &format!("close with close code {code} (undefined by the spec: informational)"),
            s,
        ));
    }
    out
}
