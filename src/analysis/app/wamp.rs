//! WAMP v2 (`wamp.2.json`, `wamp.2.msgpack`, `wamp.2.cbor`): message type, request ids,
//! URIs and arguments, calls paired with results.

use serde_json::{Map, Value};

use crate::analysis::app::{DecodeCtx, Decoded, Protocol, binary, util};
use crate::analysis::findings::FindingKind;

/// How a WAMP connection serialises its messages (from the subprotocol).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WampEncoding {
    #[default]
    Json,
    MsgPack,
    Cbor,
}

impl WampEncoding {
    pub fn from_subprotocol(s: Option<&str>) -> WampEncoding {
        match s {
            Some(s) if s.contains("msgpack") => WampEncoding::MsgPack,
            Some(s) if s.contains("cbor") => WampEncoding::Cbor,
            _ => WampEncoding::Json,
        }
    }
}

/// (code, name, names of the elements after the code).
const LAYOUTS: &[(u64, &str, &[&str])] = &[
    (1, "HELLO", &["realm", "details"]),
    (2, "WELCOME", &["session", "details"]),
    (3, "ABORT", &["details", "reason"]),
    (4, "CHALLENGE", &["auth_method", "extra"]),
    (5, "AUTHENTICATE", &["signature", "extra"]),
    (6, "GOODBYE", &["details", "reason"]),
    (
        8,
        "ERROR",
        &["request_type", "request", "details", "error", "args", "kwargs"],
    ),
    (16, "PUBLISH", &["request", "options", "topic", "args", "kwargs"]),
    (17, "PUBLISHED", &["request", "publication"]),
    (32, "SUBSCRIBE", &["request", "options", "topic"]),
    (33, "SUBSCRIBED", &["request", "subscription"]),
    (34, "UNSUBSCRIBE", &["request", "subscription"]),
    (35, "UNSUBSCRIBED", &["request"]),
    (
        36,
        "EVENT",
        &["subscription", "publication", "details", "args", "kwargs"],
    ),
    (48, "CALL", &["request", "options", "procedure", "args", "kwargs"]),
    (49, "CANCEL", &["request", "options"]),
    (50, "RESULT", &["request", "details", "args", "kwargs"]),
    (64, "REGISTER", &["request", "options", "procedure"]),
    (65, "REGISTERED", &["request", "registration"]),
    (66, "UNREGISTER", &["request", "registration"]),
    (67, "UNREGISTERED", &["request"]),
    (
        68,
        "INVOCATION",
        &["request", "registration", "details", "args", "kwargs"],
    ),
    (69, "INTERRUPT", &["request", "options"]),
    (70, "YIELD", &["request", "options", "args", "kwargs"]),
];

pub fn decode(enc: WampEncoding, binary_message: bool, payload: &[u8], ctx: &mut DecodeCtx<'_>) -> Option<Decoded> {
    let value = match (enc, binary_message) {
        (WampEncoding::MsgPack, true) => binary::msgpack_value(payload).ok().map(|(v, _)| v),
        (WampEncoding::Cbor, true) => binary::cbor_value(payload).ok().map(|(v, _)| v),
        _ => util::utf8(payload).and_then(util::json),
    };
    let Some(Value::Array(items)) = value else {
        ctx.finding(FindingKind::WampMalformed, "WAMP message is not an array");
        return None;
    };
    let code = items.first().and_then(Value::as_u64);
    let Some((code, name, names)) = code.and_then(|c| LAYOUTS.iter().find(|(k, _, _)| *k == c)) else {
        ctx.finding(
            FindingKind::WampMalformed,
            format!("unknown WAMP message code {:?}", items.first()),
        );
        return None;
    };
    let mut f = Map::new();
    f.insert("type".into(), (*name).into());
    f.insert("code".into(), (*code).into());
    for (k, v) in names.iter().zip(items.iter().skip(1)) {
        f.insert((*k).into(), v.clone());
    }
    let request = f.get("request").map(util::id_text);
    let uri = ["procedure", "topic", "realm", "error", "reason"]
        .iter()
        .find_map(|k| f.get(*k).and_then(Value::as_str))
        .map(str::to_owned);
    if let Some(r) = &request {
        match *code {
            16 | 32 | 34 | 48 | 64 | 66 | 68 => {
                let key = uri.clone().unwrap_or_else(|| (*name).to_owned());
                ctx.request(Protocol::Wamp, r.clone(), key);
            }
            8 | 17 | 33 | 35 | 50 | 65 | 67 | 70 => ctx.response(Protocol::Wamp, r.clone()),
            _ => {}
        }
    }
    let mut s = (*name).to_owned();
    if let Some(u) = &uri {
        s.push(' ');
        s.push_str(u);
    }
    if let Some(r) = &request {
        s.push_str(&format!(" #{r}"));
    }
    if let Some(a) = f.get("args") {
        s.push(' ');
        s.push_str(&util::preview(a));
    }
    Some(Decoded::new(Protocol::Wamp, s, Value::Object(f)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::event::Direction;
    use crate::analysis::time::Timestamp;
    use serde_json::json;

    #[test]
    fn a_call_names_its_procedure_and_request() {
        let mut findings = Vec::new();
        let mut pairs = Vec::new();
        let mut ctx = DecodeCtx {
            conn: 0,
            dir: Direction::ClientToServer,
            ts: Timestamp::ZERO,
            findings: &mut findings,
            pairs: &mut pairs,
        };
        let d = decode(WampEncoding::Json, false, br#"[48,7,{},"com.add",[2,3]]"#, &mut ctx).unwrap();
        assert_eq!(d.summary, "CALL com.add #7 [2,3]");
        assert_eq!(d.field("wamp.procedure"), Some(&json!("com.add")));
        assert!(decode(WampEncoding::Json, false, b"[999]", &mut ctx).is_none());
        assert_eq!(findings.len(), 1);
        assert_eq!(pairs.len(), 1);
    }
}
