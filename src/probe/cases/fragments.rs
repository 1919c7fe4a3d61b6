//! Autobahn category 5: fragmentation — control frames may not be fragmented, continuations
//! need a message to continue, pings may come between fragments.

use crate::probe::Behavior::NonStrict;
use crate::probe::Category;
use crate::probe::cases::{Case, case};
use crate::probe::script::{Chop, CloseExpect, Ev, Finish, Frame, Script, Step, secs};

fn fail(steps: Vec<Step>) -> Script {
    Script::new(
        steps,
        vec![],
        CloseExpect::failed_by_peer(&[1002]),
        Finish::Kill(secs(1.0)),
    )
}

fn f(op: u8, fin: bool, payload: &str, chop: Chop) -> Step {
    Step::Frame(Frame::new(op, payload).fin(fin).chop(chop))
}

pub fn cases() -> Vec<Case> {
    let c = Category::Fragmentation;
    let mut out = vec![
        case(
            "5.1",
            c,
            "ping fragmented into 2 fragments",
            fail(vec![
                f(9, false, "fragment1", Chop::Whole),
                f(0, true, "fragment2", Chop::Whole),
            ]),
        ),
        case(
            "5.2",
            c,
            "pong fragmented into 2 fragments",
            fail(vec![
                f(10, false, "fragment1", Chop::Whole),
                f(0, true, "fragment2", Chop::Whole),
            ]),
        ),
    ];
    for (id, chop, how) in [
        ("5.3", Chop::Whole, ""),
        ("5.4", Chop::Sync, ", frame-wise chops"),
        ("5.5", Chop::Bytes(1), ", octet-wise chops"),
    ] {
        out.push(case(
            id,
            c,
            &format!("text message fragmented into 2 fragments{how}"),
            Script::new(
                vec![f(1, false, "fragment1", chop), f(0, true, "fragment2", chop)],
                vec![Ev::text("fragment1fragment2")],
                CloseExpect::normal(),
                Finish::CloseAfter(secs(1.0)),
            ),
        ));
    }
    for (id, chop, how) in [
        ("5.6", Chop::Whole, ""),
        ("5.7", Chop::Sync, ", frame-wise chops"),
        ("5.8", Chop::Bytes(1), ", octet-wise chops"),
    ] {
        let mut s = Script::new(
            vec![
                f(1, false, "fragment1", chop),
                f(9, true, "ping payload", chop),
                f(0, true, "fragment2", chop),
            ],
            vec![Ev::Pong(b"ping payload".to_vec()), Ev::text("fragment1fragment2")],
            CloseExpect::normal(),
            Finish::CloseAfter(secs(1.0)),
        );
        s.strict_pongs = false;
        out.push(case(
            id,
            c,
            &format!("text message in 2 fragments with a ping in between{how}"),
            s,
        ));
    }
    for (i, (fin, chop, how)) in [
        (true, Chop::Whole, "one chop"),
        (true, Chop::Sync, "per-frame chops"),
        (true, Chop::Bytes(1), "octet-wise chops"),
        (false, Chop::Whole, "one chop"),
        (false, Chop::Sync, "per-frame chops"),
        (false, Chop::Bytes(1), "octet-wise chops"),
    ]
    .into_iter()
    .enumerate()
    {
        out.push(case(
            &format!("5.{}", 9 + i),
            c,
            &format!(
                "continuation frame with FIN = {fin} where there is nothing to continue, then a text message; {how}"
            ),
            fail(vec![
                f(0, fin, "non-continuation payload", chop),
                f(1, true, "Hello, world!", chop),
            ]),
        ));
    }
    out.push(case(
        "5.15",
        c,
        "text message in 2 fragments, then a continuation with FIN = false where there is nothing to continue, then a text message",
        Script::new(
            vec![
                f(1, false, "fragment1", Chop::Whole),
                f(0, true, "fragment2", Chop::Whole),
                f(0, false, "fragment3", Chop::Whole),
                f(1, true, "fragment4", Chop::Whole),
            ],
            vec![Ev::text("fragment1fragment2")],
            CloseExpect::failed_by_peer(&[1002]),
            Finish::Kill(secs(1.0)),
        )
        .or(NonStrict, vec![]),
    ));
    for (id, fin) in [("5.16", false), ("5.17", true)] {
        let mut steps = Vec::new();
        for _ in 0..2 {
            steps.push(f(0, fin, "fragment1", Chop::Whole));
            steps.push(f(1, false, "fragment2", Chop::Whole));
            steps.push(f(0, true, "fragment3", Chop::Whole));
        }
        out.push(case(
            id,
            c,
            &format!(
                "repeated 2x: continuation with FIN = {fin} (nothing to continue), then a text message in 2 fragments"
            ),
            fail(steps),
        ));
    }
    out.push(case(
        "5.18",
        c,
        "text message in 2 fragments, both frames with the text opcode",
        fail(vec![
            f(1, false, "fragment1", Chop::Whole),
            f(1, true, "fragment2", Chop::Whole),
        ]),
    ));
    for (id, chop) in [("5.19", Chop::Whole), ("5.20", Chop::Sync)] {
        let mut s = Script::new(
            vec![
                f(1, false, "fragment1", chop),
                f(0, false, "fragment2", chop),
                f(9, true, "pongme 1!", chop),
                Step::Wait(secs(1.0), None),
                f(0, false, "fragment3", chop),
                f(0, false, "fragment4", chop),
                f(9, true, "pongme 2!", chop),
                f(0, true, "fragment5", chop),
            ],
            vec![
                Ev::Pong(b"pongme 1!".to_vec()),
                Ev::Pong(b"pongme 2!".to_vec()),
                Ev::text("fragment1fragment2fragment3fragment4fragment5"),
            ],
            CloseExpect::normal(),
            Finish::CloseAfter(secs(1.0)),
        );
        s.strict_pongs = false;
        out.push(case(
            id,
            c,
            &format!(
                "text message in 5 fragments with 2 pings in between and a 1 s pause{}",
                if chop == Chop::Sync { ", frame-wise chops" } else { "" }
            ),
            s,
        ));
    }
    out
}
