//! Tests of the filter language: parsing, errors, and what each operator means.

use proptest::prelude::*;

use super::*;
use crate::analysis::Timestamp;
use crate::analysis::event::{Direction, MessageFacts};
use crate::analysis::findings::FindingKind;
use crate::analysis::ws::frame::OpCode;

fn conn_facts() -> ConnFacts {
    ConnFacts {
        path: Some("/chat?room=1".into()),
        host: Some("example.test".into()),
        subprotocol: Some("chat.v2".into()),
        ..ConnFacts::new(
            "127.0.0.1:50432".parse().expect("addr"),
            "127.0.0.1:8080".parse().expect("addr"),
        )
    }
}

/// A text message of conn 3, client to server, 2.5 s after the capture started.
fn text<'a>(payload: &'a [u8], conn: &'a ConnFacts) -> MessageView<'a> {
    let facts = MessageFacts {
        conn: 3,
        dir: Direction::ClientToServer,
        ts: Timestamp::from_secs_micros(1_000_002, 500_000),
        first_ts: Timestamp::from_secs_micros(1_000_002, 500_000),
        opcode: OpCode::Text,
        frames: 1,
        compressed: false,
        wire_len: payload.len() as u64 + 6,
        len: payload.len() as u64,
        truncated: false,
        decoded: true,
        close_code: None,
        stream_offset: 0,
    };
    MessageView {
        connection: Some(conn),
        ..MessageView::new(facts, payload, Timestamp::from_secs_micros(1_000_000, 0))
    }
}

/// The same message with another opcode.
fn with_opcode(mut m: MessageView<'_>, opcode: OpCode) -> MessageView<'_> {
    m.facts.opcode = opcode;
    m
}

/// A close from the server; `payload` is its body (code and reason).
fn close<'a>(code: u16, payload: &'a [u8], conn: &'a ConnFacts) -> MessageView<'a> {
    let mut m = with_opcode(text(payload, conn), OpCode::Close);
    m.facts.dir = Direction::ServerToClient;
    m.facts.close_code = Some(code);
    m
}

fn hit(expr: &str, m: &MessageView<'_>) -> bool {
    Filter::compile(expr)
        .unwrap_or_else(|e| panic!("{}", e.render(expr)))
        .matches(m)
}

fn error(expr: &str) -> FilterError {
    match Filter::compile(expr) {
        Ok(_) => panic!("{expr} compiled"),
        Err(e) => e,
    }
}

#[test]
fn basic_fields_compare_with_every_operator() {
    let c = conn_facts();
    let m = text(br#"{"type":"order.paid"}"#, &c);
    assert!(hit("conn == 3", &m));
    assert!(hit("conn != 4", &m));
    assert!(hit("len == 21 && wire_len == 27", &m));
    assert!(hit("len > 20 and len >= 21 and len < 22 and len <= 21", &m));
    assert!(!hit("len > 21", &m));
    assert!(hit("dir == c2s", &m));
    assert!(hit("dir == \"c2s\"", &m));
    assert!(!hit("dir == s2c", &m));
    assert!(hit("opcode == text", &m));
    assert!(hit("opcode == 1", &m));
    assert!(hit("opcode in {text binary}", &m));
    assert!(!hit("opcode in {ping, pong, close}", &m));
    assert!(hit("frames == 1", &m));
    assert!(hit("!compressed", &m));
    assert!(hit("compressed == false", &m));
    assert!(hit("time > 2.4 && time < 2.6", &m));
    assert!(hit("ts >= 1000002.5", &m));
    assert!(hit("len eq 21 and conn ge 3", &m));
}

#[test]
fn text_contains_matches_and_json_paths_read_the_payload() {
    let c = conn_facts();
    let m = text(
        br#"{"type":"order.paid","items":[{"id":2},{"id":7}],"user":{"name":"Ann"},"a.b":true}"#,
        &c,
    );
    assert!(hit(r#"text contains "order.paid""#, &m));
    assert!(!hit(r#"text contains "Order.paid""#, &m));
    assert!(hit(r#"text matches "\"id\":\s*7""#, &m));
    assert!(hit(r#"text ~ r"items.*\d""#, &m));
    assert!(hit(r#"text matches "(?i)ORDER""#, &m));
    assert!(hit(r#"json.type == "order.paid""#, &m));
    assert!(hit(r#"json.type == order.paid"#, &m));
    assert!(hit("json.items[1].id > 3", &m));
    assert!(!hit("json.items[0].id > 3", &m));
    assert!(hit("json.items[0].id in {1..2}", &m));
    assert!(hit(r#"json.user.name contains "An""#, &m));
    assert!(hit(r#"json["a.b"] == true"#, &m));
    assert!(hit("json.items", &m));
    assert!(!hit("json.missing", &m));
    assert!(hit("json", &m));
    assert!(!hit("json", &text(b"not json", &c)));
    // Types must agree: a JSON number is not the string "2".
    assert!(!hit(r#"json.items[0].id == "2""#, &m));
}

#[test]
fn a_missing_field_makes_every_comparison_false_including_not_equal() {
    let c = conn_facts();
    let m = text(b"hello", &c);
    assert!(!hit("close.code == 1000", &m));
    assert!(!hit("close.code != 1000", &m));
    assert!(!hit("close.code", &m));
    assert!(hit("!(close.code == 1000)", &m));
    assert!(!hit("rtt_ms < 1000", &m));
    assert!(!hit("rtt_ms >= 0", &m));
    assert!(!hit(r#"finding == "invalid-utf8""#, &m));
    assert!(!hit(r#"finding != "invalid-utf8""#, &m));
    let bin = with_opcode(text(b"hello", &c), OpCode::Binary);
    assert!(!hit(r#"text contains "hello""#, &bin), "text is only on text messages");
    assert!(hit(r#"payload contains "hello""#, &bin));
}

#[test]
fn close_codes_reasons_and_sets_with_ranges() {
    let c = conn_facts();
    let m = close(1001, b"\x03\xe9going away", &c);
    assert!(hit("close.code == 1001", &m));
    assert!(hit("close.code", &m));
    assert!(hit("close.code in {1000..1003 4000}", &m));
    assert!(!hit("close.code in {1000, 1002..1003}", &m));
    assert!(hit("close.code not in {1000 1002}", &m));
    assert!(hit(r#"close.reason == "going away""#, &m));
    assert!(hit(r#"close.reason contains "away""#, &m));
    assert!(hit("opcode == close && dir == s2c", &m));
    assert!(!hit("text", &m));
}

#[test]
fn connection_fields_come_from_the_connection_facts() {
    let c = conn_facts();
    let m = text(b"x", &c);
    assert!(hit(r#"client == "127.0.0.1:50432""#, &m));
    assert!(hit(r#"server contains ":8080""#, &m));
    assert!(hit("server.port == 8080 && client.port > 50000", &m));
    assert!(hit(r#"client.ip == "127.0.0.1""#, &m));
    assert!(hit(r#"path matches "^/chat""#, &m));
    assert!(hit(r#"host == "example.test""#, &m));
    assert!(hit(r#"subprotocol == "chat.v2""#, &m));
    let bare = ConnFacts::new("[::1]:1".parse().expect("addr"), "[::1]:2".parse().expect("addr"));
    let m = text(b"x", &bare);
    assert!(hit(r#"client == "[::1]:1""#, &m));
    assert!(!hit("path", &m));
    assert!(!hit(r#"subprotocol != "x""#, &m));
}

#[test]
fn findings_and_rtt_are_multi_valued_and_optional() {
    let c = conn_facts();
    let kinds = [FindingKind::UnmaskedClientFrame, FindingKind::InvalidUtf8];
    let m = MessageView {
        findings: &kinds,
        ..text(b"\xff", &c)
    };
    assert!(hit(r#"finding == "invalid-utf8""#, &m));
    assert!(hit("finding == unmasked-client-frame", &m));
    assert!(!hit(r#"finding != "invalid-utf8""#, &m));
    assert!(hit(r#"finding != "tcp-gap""#, &m));
    assert!(hit(r#"finding contains "utf""#, &m));
    assert!(hit("finding", &m));
    let pong = MessageView {
        rtt_ms: Some(12.5),
        ..with_opcode(text(b"", &c), OpCode::Pong)
    };
    assert!(hit("rtt_ms > 12 && rtt_ms < 13", &pong));
    assert!(hit("rtt_ms", &pong));
}

#[test]
fn precedence_is_not_then_and_then_or() {
    let c = conn_facts();
    let m = text(b"abc", &c);
    // `false && false || true` is true only if && binds tighter.
    assert!(hit("len == 0 && len == 1 || len == 3", &m));
    assert!(!hit("len == 0 && (len == 1 || len == 3)", &m));
    assert!(hit("!len == 0", &m), "! applies to the test, not to len");
    assert!(hit("not not true", &m));
    assert!(!hit("false", &m));
    assert!(hit("true or false and false", &m));
}

#[test]
fn errors_point_at_the_column_of_the_mistake() {
    let e = error("len > \"x\"");
    assert_eq!(
        (e.column, e.message.as_str()),
        (6, "len is a number; compare it with a number")
    );
    assert_eq!(
        e.render("len > \"x\""),
        "len > \"x\"\n      ^ len is a number; compare it with a number"
    );
    let e = error("opcode == txet");
    assert_eq!(e.column, 10);
    assert!(e.message.starts_with("expected an opcode"), "{}", e.message);
    let e = error("lenn > 3");
    assert_eq!(e.column, 0);
    assert!(e.message.starts_with("unknown field 'lenn'"), "{}", e.message);
    let e = error("(len > 3");
    assert_eq!(e.column, 8);
    assert!(e.message.contains("not closed"), "{}", e.message);
    let e = error("len > 3 &&");
    assert_eq!(e.column, 10);
    let e = error("text matches \"(\"");
    assert_eq!(e.column, 13);
    assert!(e.message.starts_with("bad regular expression"), "{}", e.message);
    let e = error("dir < c2s");
    assert_eq!(e.column, 4);
    let e = error("len contains \"a\"");
    assert_eq!(e.column, 0);
    let e = error("finding == nosuch");
    assert_eq!(e.column, 11);
    let e = error("json.a..b == 1");
    assert_eq!(e.column, 6);
    // Columns count characters, not bytes.
    let e = error("text == \"ééé\" && lenn");
    assert_eq!((e.column, e.byte_offset), (17, 20));
    assert_eq!(error("").message, "empty filter");
    let e = error("len 3");
    assert_eq!(e.column, 4);
}

#[test]
fn registered_application_fields_compile_and_read_the_decoder() {
    struct Mqtt;
    impl AppFields for Mqtt {
        fn field(&self, name: &str) -> Option<Leaf> {
            match name {
                "zzmqtt.topic" => Some(Leaf::Str("sensors/t1".into())),
                "zzmqtt.qos" => Some(Leaf::Int(1)),
                "zzmqtt" => Some(Leaf::Bool(true)),
                _ => None,
            }
        }
    }
    assert!(Filter::compile("zzmqtt.topic == \"sensors/t1\"").is_err());
    for name in ["zzmqtt.topic", "zzmqtt.qos", "zzmqtt", "zzmqtt.retain"] {
        register_app_field(FieldDef {
            name: Box::leak(name.to_owned().into_boxed_str()),
            kind: FieldKind::Dynamic,
            description: "test",
        });
    }
    let c = conn_facts();
    let m = MessageView {
        app: Some(&Mqtt),
        ..text(b"", &c)
    };
    assert!(hit("zzmqtt.topic == \"sensors/t1\"", &m));
    assert!(hit("zzmqtt.topic matches \"^sensors/\"", &m));
    assert!(hit("zzmqtt.qos >= 1", &m));
    assert!(hit("zzmqtt", &m));
    assert!(!hit("zzmqtt.retain", &m));
    assert!(!hit("zzmqtt", &text(b"", &c)), "no decoder, no field");
}

#[test]
fn suggestions_offer_fields_and_values_for_the_word_at_the_cursor() {
    let s = suggest("len > 3 && clo", 14);
    assert_eq!(s.replace, 11..14);
    assert_eq!(s.candidates, ["close.code", "close.reason"]);
    let s = suggest("opcode == p", 11);
    assert_eq!(s.candidates, ["ping", "pong"]);
    let s = suggest("dir == ", 7);
    assert_eq!(s.candidates, ["c2s", "s2c"]);
    let s = suggest("finding == invalid", 18);
    assert_eq!(s.candidates, ["invalid-utf8"]);
    let s = suggest("", 0);
    assert!(s.candidates.len() >= 26, "every field: {:?}", s.candidates);
}

#[test]
fn filters_report_which_later_events_they_need() {
    let f = Filter::compile("rtt_ms > 3").expect("compiles");
    assert!(f.needs_later_events());
    let f = Filter::compile("opcode == ping || finding == pong-missing").expect("compiles");
    assert!(f.needs_later_events());
    let f = Filter::compile("len > 3 && client contains \"1\"").expect("compiles");
    assert!(!f.needs_later_events());
    assert!(f.reads_connection());
}

proptest! {
    /// `a && b`, `a || b` and `!a` agree with Rust's operators on the tests they join.
    #[test]
    fn boolean_operators_agree_with_their_definition(lo in 0u64..40, hi in 0u64..40, len in 0usize..40, neg in any::<bool>()) {
        let c = conn_facts();
        let payload = vec![b'a'; len];
        let m = text(&payload, &c);
        let a = len as u64 >= lo;
        let b = (len as u64) < hi;
        let and = format!("len >= {lo} && len < {hi}");
        let or = format!("len >= {lo} or len < {hi}");
        prop_assert_eq!(hit(&and, &m), a && b);
        prop_assert_eq!(hit(&or, &m), a || b);
        let not = if neg { format!("!(len >= {lo})") } else { format!("not len >= {lo}") };
        prop_assert_eq!(hit(&not, &m), !a);
        let range = format!("len in {{{lo}..{hi}}}");
        prop_assert_eq!(hit(&range, &m), a && len as u64 <= hi);
    }

    /// Any string survives the quoting of the language: `text == "<escaped>"` matches exactly it.
    #[test]
    fn any_string_round_trips_through_escapes(s in "\\PC{0,20}") {
        let escaped: String = s.chars().map(|c| match c {
            '"' => "\\\"".to_owned(),
            '\\' => "\\\\".to_owned(),
            c => c.to_string(),
        }).collect();
        let c = conn_facts();
        let expr = format!("text == \"{escaped}\"");
        prop_assert!(hit(&expr, &text(s.as_bytes(), &c)));
        let longer = format!("{s}x");
        prop_assert!(!hit(&expr, &text(longer.as_bytes(), &c)));
    }

    /// No input makes the compiler panic, and every error's column is inside the input.
    #[test]
    fn the_compiler_never_panics_and_errors_stay_inside(s in "[ -~é]{0,40}") {
        if let Err(e) = Filter::compile(&s) {
            prop_assert!(e.column <= s.chars().count());
            prop_assert!(e.byte_offset <= s.len());
            prop_assert!(s.is_char_boundary(e.byte_offset));
        }
    }
}
