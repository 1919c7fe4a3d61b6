//! Rails Action Cable (`actioncable-v1-json`): welcome, pings, subscriptions, channel messages.

use serde_json::{Map, Value};

use crate::analysis::app::util;
use crate::analysis::app::{DecodeCtx, Decoded, Protocol};
use crate::analysis::findings::FindingKind;

pub fn decode(text: &str, ctx: &mut DecodeCtx<'_>) -> Option<Decoded> {
    let Some(Value::Object(msg)) = util::json(text) else {
        ctx.finding(
            FindingKind::ActionCableMalformed,
            "Action Cable message is not a JSON object",
        );
        return None;
    };
    let mut f = Map::new();
    let identifier = msg.get("identifier").and_then(Value::as_str);
    // The identifier is itself JSON text: {"channel":"ChatChannel",…}.
    let channel = identifier
        .and_then(util::json)
        .and_then(|i| i.get("channel").and_then(Value::as_str).map(str::to_owned));
    let (kind, summary_head) = if let Some(c) = msg.get("command").and_then(Value::as_str) {
        f.insert("command".into(), c.into());
        ("command", c.to_owned())
    } else if let Some(t) = msg.get("type").and_then(Value::as_str) {
        f.insert("type".into(), t.into());
        ("type", t.to_owned())
    } else if msg.contains_key("message") {
        f.insert("type".into(), "message".into());
        ("type", "message".to_owned())
    } else {
        ctx.finding(FindingKind::ActionCableMalformed, "neither command, type nor message");
        ("type", "unknown".to_owned())
    };
    if let Some(i) = identifier {
        f.insert("identifier".into(), i.into());
    }
    if let Some(c) = &channel {
        f.insert("channel".into(), c.clone().into());
    }
    if let Some(m) = msg.get("message") {
        f.insert("message".into(), m.clone());
    }
    if let Some(d) = msg.get("data") {
        // Client data is JSON text too.
        let parsed = d.as_str().and_then(util::json).unwrap_or_else(|| d.clone());
        f.insert("data".into(), parsed);
    }
    if let Some(r) = msg.get("reason") {
        f.insert("reason".into(), r.clone());
    }
    let mut summary = summary_head.clone();
    if let Some(c) = &channel {
        summary.push(' ');
        summary.push_str(c);
    }
    match (kind, summary_head.as_str()) {
        ("command", "subscribe") => {
            if let Some(i) = identifier {
                ctx.request(Protocol::ActionCable, i.to_owned(), channel.clone().unwrap_or_default());
            }
        }
        ("type", "confirm_subscription" | "reject_subscription") => {
            if let Some(i) = identifier {
                ctx.response(Protocol::ActionCable, i.to_owned());
            }
        }
        _ => {}
    }
    if let Some(m) = f.get("message").or_else(|| f.get("data")) {
        summary.push(' ');
        summary.push_str(&util::preview(m));
    }
    Some(Decoded::new(Protocol::ActionCable, summary, Value::Object(f)))
}
