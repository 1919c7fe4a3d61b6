//! JSON-RPC 2.0: requests, notifications, results, errors and batches.

use serde_json::{Map, Value};

use crate::analysis::app::util;
use crate::analysis::app::{DecodeCtx, Decoded, Protocol};
use crate::analysis::findings::FindingKind;

/// Batch members listed in a summary before "…".
const SUMMARY_BATCH_ITEMS: usize = 3;

pub fn decode(text: &str, ctx: &mut DecodeCtx<'_>) -> Option<Decoded> {
    let Some(v) = util::json(text) else {
        ctx.finding(FindingKind::JsonRpcMalformed, "JSON-RPC message is not JSON");
        return None;
    };
    match v {
        Value::Array(items) => {
            if items.is_empty() {
                ctx.finding(FindingKind::JsonRpcMalformed, "empty batch");
            }
            let mut decoded: Vec<(String, Value)> = items.iter().map(|i| one(i, ctx)).collect();
            let mut summary = format!("batch of {}:", decoded.len());
            for (s, _) in decoded.iter().take(SUMMARY_BATCH_ITEMS) {
                summary.push(' ');
                summary.push_str(s);
                summary.push(';');
            }
            if decoded.len() > SUMMARY_BATCH_ITEMS {
                summary.push_str(" …");
            }
            let summary = summary.trim_end_matches(';').to_owned();
            let mut f = Map::new();
            f.insert("kind".into(), "batch".into());
            if let Some((_, first)) = decoded.first() {
                for key in ["method", "id"] {
                    if let Some(v) = first.get(key) {
                        f.insert(key.into(), v.clone());
                    }
                }
            }
            f.insert(
                "items".into(),
                Value::Array(decoded.drain(..).map(|(_, v)| v).collect()),
            );
            Some(Decoded::new(Protocol::JsonRpc, summary, Value::Object(f)))
        }
        other => {
            let (summary, fields) = one(&other, ctx);
            Some(Decoded::new(Protocol::JsonRpc, summary, fields))
        }
    }
}

/// One request, notification or response: (summary, fields).
fn one(v: &Value, ctx: &mut DecodeCtx<'_>) -> (String, Value) {
    let mut f = Map::new();
    let Some(obj) = v.as_object() else {
        ctx.finding(FindingKind::JsonRpcMalformed, "batch member is not an object");
        f.insert("kind".into(), "invalid".into());
        return ("invalid".into(), Value::Object(f));
    };
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        ctx.finding(FindingKind::JsonRpcMalformed, "\"jsonrpc\" is not \"2.0\"");
    }
    let id = obj.get("id").filter(|i| !i.is_null());
    let method = obj.get("method").and_then(Value::as_str);
    let kind = match (method, id, obj.get("result"), obj.get("error")) {
        (Some(_), Some(_), _, _) => "request",
        (Some(_), None, _, _) => "notification",
        (None, _, Some(_), None) => "response",
        (None, _, None, Some(_)) => "error",
        _ => {
            ctx.finding(
                FindingKind::JsonRpcMalformed,
                "neither a method nor exactly one of result and error",
            );
            "invalid"
        }
    };
    f.insert("kind".into(), kind.into());
    if let Some(m) = method {
        f.insert("method".into(), m.into());
    }
    if let Some(id) = obj.get("id") {
        f.insert("id".into(), id.clone());
    }
    for key in ["params", "result", "error"] {
        if let Some(x) = obj.get(key) {
            f.insert(key.into(), x.clone());
        }
    }
    let id_text = id.map(util::id_text);
    let mut s = kind.to_owned();
    if let Some(m) = method {
        s.push(' ');
        s.push_str(m);
    }
    if let Some(i) = &id_text {
        s.push_str(&format!(" #{i}"));
    }
    match kind {
        "request" => {
            if let (Some(m), Some(i)) = (method, &id_text) {
                ctx.request(Protocol::JsonRpc, i.clone(), m.to_owned());
            }
            if let Some(p) = obj.get("params") {
                s.push(' ');
                s.push_str(&util::preview(p));
            }
        }
        "response" | "error" => {
            if let Some(i) = &id_text {
                ctx.response(Protocol::JsonRpc, i.clone());
            }
            if let Some(e) = obj.get("error") {
                if let Some(code) = e.get("code") {
                    s.push_str(&format!(" {code}"));
                }
                if let Some(m) = e.get("message").and_then(Value::as_str) {
                    s.push(' ');
                    s.push_str(&util::preview_str(m));
                }
            } else if let Some(r) = obj.get("result") {
                s.push(' ');
                s.push_str(&util::preview(r));
            }
        }
        "notification" => {
            if let Some(p) = obj.get("params") {
                s.push(' ');
                s.push_str(&util::preview(p));
            }
        }
        _ => {}
    }
    (s, Value::Object(f))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::app::with_test_ctx;
    use serde_json::json;

    fn run(t: &str) -> (Decoded, usize, usize) {
        let (d, findings, pairs) = with_test_ctx(|ctx| decode(t, ctx));
        (d.unwrap(), findings, pairs)
    }

    #[test]
    fn requests_responses_and_errors_have_their_kind_method_and_id() {
        let (d, bad, pairs) = run(r#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}"#);
        assert_eq!((bad, pairs), (0, 1));
        assert_eq!(d.summary, "request add #1 [1,2]");
        assert_eq!(d.field("jsonrpc.method"), Some(&json!("add")));
        let (d, _, _) = run(r#"{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":"x"}"#);
        assert_eq!(d.field("jsonrpc.kind"), Some(&json!("error")));
        assert_eq!(d.field("jsonrpc.error.code"), Some(&json!(-32601)));
        assert_eq!(d.summary, "error #x -32601 Method not found");
    }

    #[test]
    fn a_batch_lists_its_members_and_pairs_each_request() {
        let (d, bad, pairs) = run(
            r#"[{"jsonrpc":"2.0","method":"a","id":1},{"jsonrpc":"2.0","method":"n"},{"jsonrpc":"2.0","method":"b","id":2}]"#,
        );
        assert_eq!((bad, pairs), (0, 2));
        assert_eq!(d.field("jsonrpc.kind"), Some(&json!("batch")));
        assert_eq!(d.field("jsonrpc.items.1.kind"), Some(&json!("notification")));
        assert_eq!(run(r#"{"jsonrpc":"2.0"}"#).1, 1);
    }
}
