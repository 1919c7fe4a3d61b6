//! Autobahn category 6: UTF-8 handling — valid text echoed, invalid text fails the connection
//! with 1007, and the fail-fast rule (6.4.x): failing as soon as the bad bytes arrive is OK,
//! failing only once the message is complete is NON-STRICT, not failing at all is FAILED.

use crate::analysis::ws::builder::FrameSpec;
use crate::probe::Behavior::NonStrict;
use crate::probe::Category;
use crate::probe::cases::{Case, case};
use crate::probe::script::{CloseExpect, Ev, Finish, Frame, Script, Step, secs};

fn echo_text(steps: Vec<Step>, payload: &[u8]) -> Script {
    Script::new(
        steps,
        vec![Ev::Message {
            binary: false,
            payload: payload.to_vec(),
        }],
        CloseExpect::normal(),
        Finish::CloseAfter(secs(1.0)),
    )
}

fn invalid(steps: Vec<Step>, kill: f64) -> Script {
    let mut close = CloseExpect::failed_by_peer(&[1007]);
    close.wrong_endpoint_fatal = true;
    Script::new(steps, vec![], close, Finish::Kill(secs(kill)))
}

fn frame(op: u8, fin: bool, payload: &[u8]) -> Step {
    Step::Frame(Frame::new(op, payload.to_vec()).fin(fin))
}

const HELLO_UTF8: &str = "Hello-µ@ßöäüàá-UTF-8!!";
const KOSME: &[u8] = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";

/// Fixed masking key for the hand-chopped frames of 6.4.3/6.4.4 (their bytes are built
/// when the catalogue is, not at send time).
const KEY: [u8; 4] = [0x1b, 0x6e, 0xc4, 0x25];

pub fn cases() -> Vec<Case> {
    let c = Category::Utf8;
    let mut out = vec![
        case(
            "6.1.1",
            c,
            "text message of length 0",
            echo_text(vec![frame(1, true, b"")], b""),
        ),
        case(
            "6.1.2",
            c,
            "fragmented text message, 3 fragments each of length 0",
            echo_text(
                vec![frame(1, false, b""), frame(0, false, b""), frame(0, true, b"")],
                b"",
            ),
        ),
        case(
            "6.1.3",
            c,
            "fragmented text message, 3 fragments, first and last of length 0",
            echo_text(
                vec![
                    frame(1, false, b""),
                    frame(0, false, b"middle frame payload"),
                    frame(0, true, b""),
                ],
                b"middle frame payload",
            ),
        ),
        case(
            "6.2.1",
            c,
            "valid UTF-8 text message in one fragment",
            echo_text(vec![frame(1, true, HELLO_UTF8.as_bytes())], HELLO_UTF8.as_bytes()),
        ),
        case(
            "6.2.2",
            c,
            "valid UTF-8 text message in two fragments, split on a code point boundary",
            echo_text(
                vec![
                    frame(1, false, "Hello-µ@ßöä".as_bytes()),
                    frame(0, true, "üàá-UTF-8!!".as_bytes()),
                ],
                HELLO_UTF8.as_bytes(),
            ),
        ),
        case(
            "6.2.3",
            c,
            "valid UTF-8 text message in fragments of 1 octet (frames end inside code points)",
            echo_text(
                vec![Step::Message {
                    binary: false,
                    payload: HELLO_UTF8.as_bytes().to_vec(),
                    fragment: Some(1),
                }],
                HELLO_UTF8.as_bytes(),
            ),
        ),
        case(
            "6.2.4",
            c,
            "valid UTF-8 text message (Greek 'kosme') in fragments of 1 octet",
            echo_text(
                vec![Step::Message {
                    binary: false,
                    payload: KOSME.to_vec(),
                    fragment: Some(1),
                }],
                KOSME,
            ),
        ),
    ];
    let bad = [KOSME, b"\xed\xa0\x80", b"edited"].concat();
    out.push(case(
        "6.3.1",
        c,
        "invalid UTF-8 text message, unfragmented",
        invalid(vec![frame(1, true, &bad)], 1.0),
    ));
    out.push(case(
        "6.3.2",
        c,
        "invalid UTF-8 text message in fragments of 1 octet",
        invalid(
            vec![Step::Message {
                binary: false,
                payload: bad,
                fragment: Some(1),
            }],
            1.0,
        ),
    ));
    // 6.4.x: the fail-fast rule.
    let p1 = KOSME;
    let p2: &[u8] = b"\xf4\x90\x80\x80";
    let p3: &[u8] = b"edited";
    let whole = [p1, p2, p3].concat();
    let fail_fast = |steps: Vec<Step>| invalid(steps, 1.0).or(NonStrict, vec![Ev::Timeout("A"), Ev::Timeout("B")]);
    let mut s641 = fail_fast(vec![
        frame(1, false, p1),
        Step::Wait(secs(1.0), Some("A")),
        frame(0, false, p2),
        Step::Wait(secs(1.0), Some("B")),
        frame(0, true, p3),
    ]);
    s641.expect[0].1 = vec![Ev::Timeout("A")];
    out.push(case("6.4.1", c, "invalid UTF-8 in 3 frames with pauses: the 2nd frame (a code point over U+10FFFF) should fail the connection at once", s641));
    let (a, rest) = whole.split_at(12.min(whole.len()));
    let (b, cc) = rest.split_at(1.min(rest.len()));
    let mut s642 = fail_fast(vec![
        frame(1, false, a),
        Step::Wait(secs(1.0), Some("A")),
        frame(0, false, b),
        Step::Wait(secs(1.0), Some("B")),
        frame(0, true, cc),
    ]);
    s642.expect[0].1 = vec![Ev::Timeout("A")];
    out.push(case(
        "6.4.2",
        c,
        "as 6.4.1, but the 2nd frame is the single octet that makes the text invalid",
        s642,
    ));
    for (id, cut1, cut2, what) in [
        ("6.4.3", p1.len(), p1.len() + p2.len(), "3 chops of one frame"),
        ("6.4.4", 12, 13, "3 chops of one frame, the middle chop one octet"),
    ] {
        let bytes = FrameSpec {
            fin: true,
            rsv1: false,
            rsv2: false,
            rsv3: false,
            opcode: 1,
            mask: Some(KEY),
            length_form: Default::default(),
            payload: whole.clone(),
        }
        .to_bytes();
        // Header: 2 bytes + 4 of mask (the payload is short).
        let head = 6;
        let cut = |from: usize, to: usize| bytes.get(head + from..head + to).unwrap_or_default().to_vec();
        let mut first = bytes.get(..head).unwrap_or_default().to_vec();
        first.extend(cut(0, cut1));
        let mut s = fail_fast(vec![
            Step::Raw(first),
            Step::Wait(secs(1.0), Some("A")),
            Step::Raw(cut(cut1, cut2)),
            Step::Wait(secs(1.0), Some("B")),
            Step::Raw(cut(cut2, whole.len())),
        ]);
        s.expect[0].1 = vec![Ev::Timeout("A")];
        out.push(case(id, c, &format!("as 6.4.1, but sent as {what}"), s));
    }
    for (group_no, (name, seqs)) in sequences().into_iter().enumerate() {
        for (j, bytes) in seqs.into_iter().enumerate() {
            let valid = std::str::from_utf8(&bytes).is_ok();
            let id = format!("6.{}.{}", group_no + 5, j + 1);
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let desc = format!("{name}: {} text 0x{hex}", if valid { "valid" } else { "invalid" });
            let step = frame(1, true, &bytes);
            let script = if valid {
                let mut s = echo_text(vec![step], &bytes);
                s.finish = Finish::Kill(secs(0.5));
                s
            } else {
                invalid(vec![step], 0.5)
            };
            out.push(case(&id, c, &desc, script));
        }
    }
    out
}

/// Markus Kuhn's UTF-8 decoder test sequences, grouped as Autobahn's 6.5 … 6.23 are.
// One push per group, in the test file's order, so the numbering can be checked by eye.
#[allow(clippy::vec_init_then_push)]
pub fn sequences() -> Vec<(&'static str, Vec<Vec<u8>>)> {
    let v = |items: &[&[u8]]| items.iter().map(|s| s.to_vec()).collect::<Vec<_>>();
    let mut groups = Vec::new();
    groups.push((
        "Some valid UTF-8 sequences",
        v(&[
            b"hello\x24world",
            b"hello\xc2\xa2world",
            b"hello\xe2\x82\xacworld",
            b"hello\xf0\xa4\xad\xa2world",
            KOSME,
        ]),
    ));
    groups.push((
        "All prefixes of a valid UTF-8 string that contains multi-byte code points",
        (1..=KOSME.len())
            .map(|i| KOSME.get(..i).unwrap_or_default().to_vec())
            .collect(),
    ));
    groups.push((
        "First possible sequence of a certain length",
        v(&[b"\x00", b"\xc2\x80", b"\xe0\xa0\x80", b"\xf0\x90\x80\x80"]),
    ));
    groups.push((
        "First possible sequence length 5/6 (invalid codepoints)",
        v(&[b"\xf8\x88\x80\x80\x80", b"\xfc\x84\x80\x80\x80\x80"]),
    ));
    groups.push((
        "Last possible sequence of a certain length",
        v(&[b"\x7f", b"\xdf\xbf", b"\xef\xbf\xbf", b"\xf4\x8f\xbf\xbf"]),
    ));
    groups.push((
        "Last possible sequence length 4/5/6 (invalid codepoints)",
        v(&[
            b"\xf7\xbf\xbf\xbf",
            b"\xfb\xbf\xbf\xbf\xbf",
            b"\xfd\xbf\xbf\xbf\xbf\xbf",
        ]),
    ));
    groups.push((
        "Other boundary conditions",
        v(&[
            b"\xed\x9f\xbf",
            b"\xee\x80\x80",
            b"\xef\xbf\xbd",
            b"\xf4\x8f\xbf\xbf",
            b"\xf4\x90\x80\x80",
        ]),
    ));
    let mut cont = v(&[
        b"\x80",
        b"\xbf",
        b"\x80\xbf",
        b"\x80\xbf\x80",
        b"\x80\xbf\x80\xbf",
        b"\x80\xbf\x80\xbf\x80",
        b"\x80\xbf\x80\xbf\x80\xbf",
    ]);
    cont.push((0x80u8..0xbf).collect());
    groups.push(("Unexpected continuation bytes", cont));
    let lonely = [(0xc0u8, 0xdfu8), (0xe0, 0xef), (0xf0, 0xf7), (0xf8, 0xfb), (0xfc, 0xfd)]
        .iter()
        .map(|&(a, b)| (a..b).flat_map(|i| [i, 0x20]).collect())
        .collect();
    groups.push(("Lonely start characters", lonely));
    let missing: Vec<&[u8]> = vec![
        b"\xc0",
        b"\xe0\x80",
        b"\xf0\x80\x80",
        b"\xf8\x80\x80\x80",
        b"\xfc\x80\x80\x80\x80",
        b"\xdf",
        b"\xef\xbf",
        b"\xf7\xbf\xbf",
        b"\xfb\xbf\xbf\xbf",
        b"\xfd\xbf\xbf\xbf\xbf",
    ];
    groups.push(("Sequences with last continuation byte missing", v(&missing)));
    groups.push(("Concatenation of incomplete sequences", vec![missing.concat()]));
    groups.push(("Impossible bytes", v(&[b"\xfe", b"\xff", b"\xfe\xfe\xff\xff"])));
    groups.push((
        "Examples of an overlong ASCII character",
        v(&[
            b"\xc0\xaf",
            b"\xe0\x80\xaf",
            b"\xf0\x80\x80\xaf",
            b"\xf8\x80\x80\x80\xaf",
            b"\xfc\x80\x80\x80\x80\xaf",
        ]),
    ));
    groups.push((
        "Maximum overlong sequences",
        v(&[
            b"\xc1\xbf",
            b"\xe0\x9f\xbf",
            b"\xf0\x8f\xbf\xbf",
            b"\xf8\x87\xbf\xbf\xbf",
            b"\xfc\x83\xbf\xbf\xbf\xbf",
        ]),
    ));
    groups.push((
        "Overlong representation of the NUL character",
        v(&[
            b"\xc0\x80",
            b"\xe0\x80\x80",
            b"\xf0\x80\x80\x80",
            b"\xf8\x80\x80\x80\x80",
            b"\xfc\x80\x80\x80\x80\x80",
        ]),
    ));
    groups.push((
        "Single UTF-16 surrogates",
        v(&[
            b"\xed\xa0\x80",
            b"\xed\xad\xbf",
            b"\xed\xae\x80",
            b"\xed\xaf\xbf",
            b"\xed\xb0\x80",
            b"\xed\xbe\x80",
            b"\xed\xbf\xbf",
        ]),
    ));
    groups.push((
        "Paired UTF-16 surrogates",
        v(&[
            b"\xed\xa0\x80\xed\xb0\x80",
            b"\xed\xa0\x80\xed\xbf\xbf",
            b"\xed\xad\xbf\xed\xb0\x80",
            b"\xed\xad\xbf\xed\xbf\xbf",
            b"\xed\xae\x80\xed\xb0\x80",
            b"\xed\xae\x80\xed\xbf\xbf",
            b"\xed\xaf\xbf\xed\xb0\x80",
            b"\xed\xaf\xbf\xed\xbf\xbf",
        ]),
    ));
    let mut nonchars = v(&[b"\xef\xbf\xbe", b"\xef\xbf\xbf"]);
    for z1 in [0xf0u8, 0xf1, 0xf2, 0xf3, 0xf4] {
        for z2 in [0x8fu8, 0x9f, 0xaf, 0xbf] {
            if z1 == 0xf4 && z2 != 0x8f {
                continue;
            }
            for z3 in [0xbeu8, 0xbf] {
                if z1 == 0xf0 && z2 == 0x8f {
                    continue; // overlong
                }
                nonchars.push(vec![z1, z2, 0xbf, z3]);
            }
        }
    }
    groups.push(("Non-character code points (valid UTF-8)", nonchars));
    groups.push((
        "Unicode specials (i.e. replacement char)",
        v(&[
            b"\xef\xbf\xb9",
            b"\xef\xbf\xba",
            b"\xef\xbf\xbb",
            b"\xef\xbf\xbc",
            b"\xef\xbf\xbd",
            b"\xef\xbf\xbe",
            b"\xef\xbf\xbf",
        ]),
    ));
    groups
}

#[cfg(test)]
mod tests {
    #[test]
    fn nineteen_groups_with_autobahns_counts() {
        let g = super::sequences();
        assert_eq!(g.len(), 19);
        let counts: Vec<usize> = g.iter().map(|(_, s)| s.len()).collect();
        assert_eq!(counts, vec![5, 11, 4, 2, 4, 3, 5, 8, 5, 10, 1, 3, 5, 5, 5, 7, 8, 34, 7]);
        // Validity by the standard library agrees with the group names.
        assert!(g[16].1.iter().all(|s| std::str::from_utf8(s).is_err()));
        assert!(g[17].1.iter().all(|s| std::str::from_utf8(s).is_ok()));
    }
}
