//! GraphQL over WebSocket: `graphql-transport-ws` (graphql-ws) and the legacy
//! `subscriptions-transport-ws` (subprotocol `graphql-ws`): type, id, operation, data/errors.

use serde_json::{Map, Value};

use crate::analysis::app::util;
use crate::analysis::app::{DecodeCtx, Decoded, Protocol};
use crate::analysis::findings::FindingKind;

const TYPES: &[&str] = &[
    // graphql-transport-ws
    "connection_init",
    "connection_ack",
    "ping",
    "pong",
    "subscribe",
    "next",
    "error",
    "complete",
    // subscriptions-transport-ws
    "start",
    "data",
    "stop",
    "ka",
    "connection_terminate",
    "connection_error",
];

/// The operation name of a GraphQL document: `subscription OnMsg { … }` gives `OnMsg`.
pub fn operation_name(query: &str) -> Option<&str> {
    let mut rest = query;
    loop {
        rest = rest.trim_start();
        if let Some(comment) = rest.strip_prefix('#') {
            rest = comment.split_once('\n').map_or("", |(_, r)| r);
            continue;
        }
        break;
    }
    let word_end = rest
        .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .unwrap_or(rest.len());
    let (word, after) = rest.split_at(word_end);
    if !matches!(word, "query" | "mutation" | "subscription") {
        return None;
    }
    let after = after.trim_start();
    let end = after
        .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .unwrap_or(after.len());
    after.get(..end).filter(|n| !n.is_empty())
}

pub fn decode(text: &str, ctx: &mut DecodeCtx<'_>) -> Option<Decoded> {
    let Some(Value::Object(msg)) = util::json(text) else {
        ctx.finding(
            FindingKind::GraphQlMalformed,
            "GraphQL over WebSocket message is not a JSON object",
        );
        return None;
    };
    let Some(ty) = msg.get("type").and_then(Value::as_str).map(str::to_owned) else {
        ctx.finding(
            FindingKind::GraphQlMalformed,
            "GraphQL over WebSocket message without a type",
        );
        return None;
    };
    if !TYPES.contains(&ty.as_str()) {
        ctx.finding(FindingKind::GraphQlMalformed, format!("unknown message type {ty:?}"));
    }
    let id = msg.get("id").map(util::id_text);
    let payload = msg.get("payload");
    let mut f = Map::new();
    f.insert("type".into(), ty.clone().into());
    if let Some(id) = &id {
        f.insert("id".into(), id.clone().into());
    }
    let query = payload.and_then(|p| p.get("query")).and_then(Value::as_str);
    let operation = payload
        .and_then(|p| p.get("operationName"))
        .and_then(Value::as_str)
        .or_else(|| query.and_then(operation_name))
        .map(str::to_owned);
    if let Some(op) = &operation {
        f.insert("operation".into(), op.clone().into());
    }
    if let Some(q) = query {
        f.insert("query".into(), q.into());
    }
    if let Some(p) = payload {
        for key in ["variables", "data", "errors", "extensions"] {
            if let Some(v) = p.get(key) {
                f.insert(key.into(), v.clone());
            }
        }
        // graphql-transport-ws sends errors as the payload array itself.
        if ty == "error" && p.is_array() {
            f.insert("errors".into(), p.clone());
        }
        if !p.is_object() && !p.is_array() || matches!(ty.as_str(), "connection_init" | "connection_ack") {
            f.insert("payload".into(), p.clone());
        }
    }
    match (ty.as_str(), &id) {
        ("subscribe" | "start", Some(id)) => ctx.request(
            Protocol::GraphQl,
            id.clone(),
            operation.clone().unwrap_or_else(|| "anonymous".into()),
        ),
        ("next" | "data" | "error" | "complete", Some(id)) => ctx.response(Protocol::GraphQl, id.clone()),
        _ => {}
    }
    let mut summary = ty.clone();
    if let Some(id) = &id {
        summary.push(' ');
        summary.push_str(id);
    }
    if let Some(op) = &operation {
        summary.push(' ');
        summary.push_str(op);
    }
    if let Some(errors) = f.get("errors") {
        summary.push(' ');
        summary.push_str(&util::preview(errors));
    } else if let Some(data) = f.get("data") {
        summary.push(' ');
        summary.push_str(&util::preview(data));
    }
    Some(Decoded::new(Protocol::GraphQl, summary, Value::Object(f)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::app::with_test_ctx;
    use serde_json::json;

    fn run(t: &str) -> (Option<Decoded>, usize) {
        let (d, findings, _) = with_test_ctx(|ctx| decode(t, ctx));
        (d, findings)
    }

    #[test]
    fn subscribe_names_its_operation_from_the_query() {
        let (d, bad) = run(
            r#"{"id":"7","type":"subscribe","payload":{"query":"subscription OnTick($n: Int) { tick(n: $n) }","variables":{"n":3}}}"#,
        );
        let d = d.unwrap();
        assert_eq!(bad, 0);
        assert_eq!(d.summary, "subscribe 7 OnTick");
        assert_eq!(d.field("graphql.operation"), Some(&json!("OnTick")));
        assert_eq!(d.field("graphql.variables.n"), Some(&json!(3)));
    }

    #[test]
    fn next_carries_its_data_and_unknown_types_are_findings() {
        let (d, _) = run(r#"{"id":"7","type":"next","payload":{"data":{"tick":1}}}"#);
        assert_eq!(d.unwrap().summary, r#"next 7 {"tick":1}"#);
        assert_eq!(run(r#"{"type":"bogus"}"#).1, 1);
        assert_eq!(run("not json").1, 1);
        assert_eq!(operation_name("# c\n query Q { a }"), Some("Q"));
        assert_eq!(operation_name("{ a }"), None);
    }
}
