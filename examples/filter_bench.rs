//! Times the display filter on 1M messages: `cargo run --release --example filter_bench [N]`.
//! Prints, per filter, how many matched and how long one pass over every message took.

use std::hint::black_box;
use std::time::Instant;

use framescope::analysis::Timestamp;
use framescope::analysis::event::{Direction, MessageFacts};
use framescope::analysis::ws::frame::OpCode;
use framescope::query::{ConnFacts, Filter, MessageView};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let conns: Vec<ConnFacts> = (0..200)
        .map(|i| ConnFacts {
            path: Some(format!("/feed/{i}")),
            ..ConnFacts::new(
                format!("10.0.0.{}:{}", i % 250, 40000 + i).parse().expect("addr"),
                "10.0.1.1:443".parse().expect("addr"),
            )
        })
        .collect();
    // Payloads like a market feed: JSON objects of ~120 bytes, some binary, some closes.
    let payloads: Vec<Vec<u8>> = (0..n)
        .map(|i| match i % 10 {
            9 => vec![(i % 251) as u8; 64],
            _ => format!(
                r#"{{"type":"{}","seq":{i},"items":[{{"id":{},"qty":{}}},{{"id":{}}}],"user":"user-{}"}}"#,
                if i % 7 == 0 { "order.paid" } else { "tick" },
                i % 13,
                i % 500,
                i % 11,
                i % 5000
            )
            .into_bytes(),
        })
        .collect();
    let start = Timestamp::from_secs_micros(1_700_000_000, 0);
    let facts: Vec<MessageView<'_>> = payloads
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let facts = MessageFacts {
                conn: (i % 200) as u32,
                dir: if i % 2 == 0 {
                    Direction::ClientToServer
                } else {
                    Direction::ServerToClient
                },
                ts: Timestamp::from_nanos(start.nanos + i as i64 * 1_000_000),
                first_ts: Timestamp::from_nanos(start.nanos + i as i64 * 1_000_000),
                opcode: if i % 10 == 9 { OpCode::Binary } else { OpCode::Text },
                frames: 1,
                compressed: i % 3 == 0,
                wire_len: p.len() as u64 + 6,
                len: p.len() as u64,
                truncated: false,
                decoded: true,
                close_code: None,
                stream_offset: 0,
            };
            MessageView {
                connection: conns.get(i % 200),
                ..MessageView::new(facts, p, start)
            }
        })
        .collect();
    println!("{n} messages");
    for expr in [
        "opcode == text && dir == s2c",
        "len > 100 && compressed && conn in {1 5 9..20}",
        "time > 100 && time < 500",
        r#"text contains "order.paid""#,
        r#"text matches "user-4[0-9]{3}\"""#,
        r#"path == "/feed/7" || client.port > 40190"#,
        r#"json.type == "order.paid""#,
        "json.items[0].qty > 400",
    ] {
        let filter = Filter::compile(expr).expect("compiles");
        let t = Instant::now();
        let hits = facts.iter().filter(|m| filter.matches(black_box(m))).count();
        let ms = t.elapsed().as_secs_f64() * 1e3;
        println!("{ms:8.1} ms  {hits:8} hits  {expr}");
    }
}
