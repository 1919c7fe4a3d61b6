//! A step in a line for reports: its name, or what it does in words.

use crate::scenario::model::*;

/// The client a step acts on, if it names one.
pub fn client_of(step: &Step) -> Option<&str> {
    Some(match step {
        Step::Connect(c) => &c.client,
        Step::Send(s) => &s.client,
        Step::Close(c) => &c.client,
        Step::Expect(e) => &e.client,
        Step::ExpectClose(e) => &e.client,
        Step::ExpectSilence(s) => &s.client,
        Step::ExpectDrop(d) => &d.client,
        Step::Disconnect(c) | Step::Reconnect(c) => &c.client,
        _ => return None,
    })
}

/// A field comparison as people write it: `> ${seq}`, `matching /^a/`.
fn cmp_text(c: &Cmp) -> String {
    let v = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) if s.starts_with("${") => s.clone(),
        other => other.to_string(),
    };
    match c {
        Cmp::Eq(x) => format!("== {}", v(x)),
        Cmp::Ne(x) => format!("!= {}", v(x)),
        Cmp::Lt(x) => format!("< {}", v(x)),
        Cmp::Le(x) => format!("<= {}", v(x)),
        Cmp::Gt(x) => format!("> {}", v(x)),
        Cmp::Ge(x) => format!(">= {}", v(x)),
        Cmp::Matches(r) => format!("matching /{r}/"),
        Cmp::Contains(x) => format!("containing {}", v(x)),
        Cmp::OneOf(xs) => format!("one of {}", serde_json::Value::Array(xs.clone())),
        Cmp::Exists => "present".to_owned(),
        Cmp::Absent => "absent".to_owned(),
    }
}

/// A step in a line: its name when it has one, else what it does (templates shown as
/// written, before variables are put in).
pub fn title(step: &Step) -> String {
    // A step's own name says what it checks better than a paraphrase of its fields.
    let named = |name: &Option<String>, what: String| name.clone().unwrap_or(what);
    let short = |s: &str| crate::scenario::matcher::cut(s).chars().take(100).collect::<String>();
    match step {
        Step::Connect(c) => named(
            &c.name,
            match c.expect_status {
                Some(s) => format!("connect {} (refused with {s})", c.client),
                None => format!("connect {}", c.client),
            },
        ),
        Step::Send(s) => {
            let what = if let Some(t) = &s.text {
                format!("text {}", short(t))
            } else if let Some(j) = &s.json {
                short(&j.to_string())
            } else if let Some(p) = &s.ping {
                format!("ping {}", short(p))
            } else if let Some(app) = &s.app {
                app.describe()
            } else {
                "binary".to_owned()
            };
            named(&s.name, format!("{} sends {what}", s.client))
        }
        Step::Close(c) => named(&c.name, format!("{} closes with {}", c.client, c.code)),
        Step::Expect(e) => {
            let mut parts = Vec::new();
            if let Some(k) = e.kind {
                parts.push(format!("{k:?}"));
            }
            if let Some(j) = &e.json {
                parts.push(short(&j.to_string()));
            }
            for (p, c) in &e.fields {
                parts.push(format!("{p} {}", cmp_text(c)));
            }
            if let Some(t) = &e.text {
                parts.push(format!("text {}", short(t)));
            }
            if let Some(r) = &e.regex {
                parts.push(format!("/{}/", short(r)));
            }
            if e.schema.is_some() {
                parts.push("schema".into());
            }
            if e.binary_hex.is_some() || e.binary_base64.is_some() {
                parts.push("bytes".into());
            }
            let which = if e.any { "a message" } else { "next message" };
            let within = e.within_ms.map_or(String::new(), |w| format!(" within {w} ms"));
            named(
                &e.name,
                format!("{} gets {which} {}{within}", e.client, parts.join(", ")),
            )
        }
        Step::ExpectClose(e) => named(
            &e.name,
            format!(
                "{} is closed{}",
                e.client,
                e.code.map_or(String::new(), |c| format!(" with {c}"))
            ),
        ),
        Step::ExpectSilence(s) => named(&s.name, format!("{} gets nothing for {} ms", s.client, s.for_ms)),
        Step::ExpectDrop(d) => named(&d.name, format!("{} is dropped without a close frame", d.client)),
        Step::Sleep(s) => format!("sleep {} ms", s.ms),
        Step::Disconnect(c) => named(&c.name, format!("{} disconnects (no close frame)", c.client)),
        Step::Reconnect(c) => named(&c.name, format!("{} reconnects", c.client)),
        Step::Set(s) => format!("set {} = {}", s.var, short(&s.value.to_string())),
        Step::Repeat(r) => named(&r.name, format!("repeat {} times", r.times)),
        Step::Parallel(p) => named(&p.name, format!("parallel ({} steps)", p.steps.len())),
        Step::Group(g) => g.name.clone(),
        Step::Load(l) => named(
            &l.name,
            format!(
                "load: {} connections, {} msg/s each for {} ms",
                l.connections, l.rate, l.duration_ms
            ),
        ),
        Step::Timing(t) => {
            let mut what = format!("{} of {}", t.stat.label(), t.measure);
            if let Some(b) = t.below_ms {
                what.push_str(&format!(" < {b} ms"));
            }
            if let Some(a) = t.at_least_ms {
                what.push_str(&format!(" >= {a} ms"));
            }
            named(&t.name, what)
        }
    }
}
