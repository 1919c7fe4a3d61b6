//! Evaluates a checked expression on one message's facts.
//!
//! A field the message does not have makes every comparison on it false, `!=` included (as in
//! Wireshark): `close.code != 1000` holds only for close messages with another code, while
//! `!(close.code == 1000)` also holds for messages that are not closes.

use std::cmp::Ordering;

use crate::query::facts::MessageView;
use crate::query::fields::Builtin;
use crate::query::json::{self, Leaf};
use crate::query::lexer::CmpOp;
use crate::query::parser::{FieldRef, Lit, Node, Num, Op, SetItem, Test};

/// A field's value on one message.
enum Got<'a> {
    Missing,
    Num(Num),
    Bytes(&'a [u8]),
    Bool(bool),
    Opcode(u8),
    Dir(crate::analysis::event::Direction),
    Findings(&'a [crate::analysis::findings::FindingKind]),
    Leaf(Leaf),
}

pub fn eval(node: &Node, m: &MessageView<'_>) -> bool {
    match node {
        Node::Const(b) => *b,
        Node::Not(inner) => !eval(inner, m),
        Node::And(a, b) => eval(a, m) && eval(b, m),
        Node::Or(a, b) => eval(a, m) || eval(b, m),
        Node::Test(test) => eval_test(test, m),
    }
}

fn int(v: impl Into<i128>) -> Got<'static> {
    Got::Num(Num::Int(v.into()))
}

fn opt_str(s: Option<&str>) -> Got<'_> {
    s.map_or(Got::Missing, |s| Got::Bytes(s.as_bytes()))
}

fn get<'a>(field: &FieldRef, m: &MessageView<'a>) -> Got<'a> {
    let conn = m.connection;
    match field {
        FieldRef::Builtin(b) => match b {
            Builtin::Conn => int(m.conn),
            Builtin::Dir => Got::Dir(m.dir),
            Builtin::Opcode => Got::Opcode(m.opcode.as_u4()),
            Builtin::Len => int(m.len),
            Builtin::WireLen => int(m.wire_len),
            Builtin::Frames => int(m.frames),
            Builtin::Compressed => Got::Bool(m.compressed),
            Builtin::Truncated => Got::Bool(m.truncated),
            Builtin::Decoded => Got::Bool(m.decoded),
            Builtin::Time => Got::Num(Num::Float(m.time_secs())),
            Builtin::Ts => Got::Num(Num::Float(m.ts.as_secs_f64())),
            Builtin::CloseCode => m.close_code.map_or(Got::Missing, int),
            Builtin::CloseReason => m.close_reason_bytes().map_or(Got::Missing, Got::Bytes),
            Builtin::Text => {
                if m.opcode == crate::analysis::ws::frame::OpCode::Text && m.decoded {
                    Got::Bytes(m.payload)
                } else {
                    Got::Missing
                }
            }
            Builtin::Payload => Got::Bytes(m.payload),
            Builtin::RttMs => m.rtt_ms.map_or(Got::Missing, |r| Got::Num(Num::Float(r))),
            Builtin::Finding => {
                if m.findings.is_empty() {
                    Got::Missing
                } else {
                    Got::Findings(m.findings)
                }
            }
            Builtin::Client => opt_str(conn.map(|c| c.client.as_str())),
            Builtin::Server => opt_str(conn.map(|c| c.server.as_str())),
            Builtin::ClientIp => opt_str(conn.map(|c| c.client_ip.as_str())),
            Builtin::ServerIp => opt_str(conn.map(|c| c.server_ip.as_str())),
            Builtin::ClientPort => conn.map_or(Got::Missing, |c| int(c.client_port)),
            Builtin::ServerPort => conn.map_or(Got::Missing, |c| int(c.server_port)),
            Builtin::Path => opt_str(conn.and_then(|c| c.path.as_deref())),
            Builtin::Host => opt_str(conn.and_then(|c| c.host.as_deref())),
            Builtin::Subprotocol => opt_str(conn.and_then(|c| c.subprotocol.as_deref())),
            Builtin::Json => json_at(m, &[]),
        },
        FieldRef::Json(path) => json_at(m, path),
        FieldRef::App(name) => m.app.and_then(|app| app.field(name)).map_or(Got::Missing, Got::Leaf),
    }
}

fn json_at<'a>(m: &MessageView<'a>, path: &[json::Seg]) -> Got<'a> {
    if !m.decoded || m.truncated || m.opcode.is_control() {
        return Got::Missing;
    }
    json::lookup(m.payload, path).map_or(Got::Missing, Got::Leaf)
}

fn eval_test(test: &Test, m: &MessageView<'_>) -> bool {
    let got = get(&test.field, m);
    match &test.op {
        Op::Truth => match got {
            Got::Missing => false,
            Got::Bool(b) => b,
            _ => true,
        },
        Op::Cmp(op, lit) => compare(&got, *op, lit),
        Op::Contains(finder) => match &got {
            Got::Bytes(b) => finder.find(b).is_some(),
            Got::Leaf(Leaf::Str(s)) => finder.find(s.as_bytes()).is_some(),
            Got::Findings(kinds) => kinds.iter().any(|k| finder.find(k.slug().as_bytes()).is_some()),
            _ => false,
        },
        Op::Matches(regex) => match &got {
            Got::Bytes(b) => regex.is_match(b),
            Got::Leaf(Leaf::Str(s)) => regex.is_match(s.as_bytes()),
            Got::Findings(kinds) => kinds.iter().any(|k| regex.is_match(k.slug().as_bytes())),
            _ => false,
        },
        Op::In(items) => items.iter().any(|item| match item {
            SetItem::One(lit) => compare(&got, CmpOp::Eq, lit),
            SetItem::Range(lo, hi) => {
                compare(&got, CmpOp::Ge, &Lit::Num(*lo)) && compare(&got, CmpOp::Le, &Lit::Num(*hi))
            }
        }),
    }
}

fn holds(op: CmpOp, ord: Option<Ordering>) -> bool {
    let Some(ord) = ord else {
        return false;
    };
    match op {
        CmpOp::Eq => ord == Ordering::Equal,
        CmpOp::Ne => ord != Ordering::Equal,
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Le => ord != Ordering::Greater,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Ge => ord != Ordering::Less,
    }
}

/// `got op lit`; false whenever the field is missing or the types differ.
fn compare(got: &Got<'_>, op: CmpOp, lit: &Lit) -> bool {
    match (got, lit) {
        (Got::Missing, _) => false,
        (Got::Num(a), Lit::Num(b)) => holds(op, a.partial_cmp(*b)),
        (Got::Bytes(a), Lit::Bytes(b)) => holds(op, Some((*a).cmp(b.as_slice()))),
        (Got::Bool(a), Lit::Bool(b)) => holds(op, Some(a.cmp(b))),
        (Got::Opcode(a), Lit::Opcode(b)) => holds(op, Some(a.cmp(b))),
        (Got::Opcode(a), Lit::Num(b)) => holds(op, Num::Int((*a).into()).partial_cmp(*b)),
        (Got::Dir(a), Lit::Dir(b)) => holds(op, Some(if a == b { Ordering::Equal } else { Ordering::Less })),
        // A multi-valued field: `==` when any value is equal, `!=` when none is.
        (Got::Findings(kinds), Lit::Finding(k)) => match op {
            CmpOp::Eq => kinds.contains(k),
            CmpOp::Ne => !kinds.contains(k),
            _ => false,
        },
        (Got::Leaf(leaf), lit) => compare_leaf(leaf, op, lit),
        _ => false,
    }
}

fn compare_leaf(leaf: &Leaf, op: CmpOp, lit: &Lit) -> bool {
    match (leaf, lit) {
        (Leaf::Int(a), Lit::Num(b)) => holds(op, Num::Int(*a).partial_cmp(*b)),
        (Leaf::Float(a), Lit::Num(b)) => holds(op, Num::Float(*a).partial_cmp(*b)),
        (Leaf::Str(a), Lit::Bytes(b)) => holds(op, Some(a.as_bytes().cmp(b.as_slice()))),
        (Leaf::Bool(a), Lit::Bool(b)) => holds(op, Some(a.cmp(b))),
        (Leaf::Null, Lit::Null) => holds(op, Some(Ordering::Equal)),
        _ => false,
    }
}
