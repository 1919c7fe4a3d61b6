//! The single steps: connect, send, the expectations, close, timing. Each waits at most its
//! limit and says in words what arrived instead when it fails.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio_tungstenite::tungstenite::Message;

use super::{CLOSE_GRACE, LISTED, Leaf, Run, list, ms, resolve_url, with_passed};
use crate::live::session::{ConnectError, ConnectOptions, TlsOptions};
use crate::live::target::parse_target;
use crate::scenario::conn::{self, Received};
use crate::scenario::matcher::{Matcher, Msg, expected_bytes};
use crate::scenario::model::*;

impl Run<'_> {
    /// The options of `client`'s connection, with variables put in.
    fn connect_options(&self, client: &str, within_ms: Option<u64>) -> Result<(ConnectOptions, Vec<String>), String> {
        let spec = self
            .scenario
            .clients
            .get(client)
            .ok_or_else(|| format!("no client named '{client}'"))?;
        let vars = self.vars();
        let url = resolve_url(spec.url.as_deref(), self.default_url.as_deref(), client)?;
        let target = parse_target(&vars.interpolate(&url)?)?;
        let mut headers = Vec::new();
        for (k, v) in &spec.headers {
            headers.push((k.clone(), vars.interpolate(v)?));
        }
        let mut secrets = Vec::new();
        for (k, v) in &spec.secret_headers {
            let v = vars.interpolate(v)?;
            secrets.push(v.clone());
            headers.push((k.clone(), v));
        }
        secrets.extend(target.basic_authorization());
        if let Some(c) = &target.credentials {
            secrets.push(c.password.clone());
        }
        if let Ok(mut s) = self.secrets.lock() {
            for v in &secrets {
                if !s.contains(v) {
                    s.push(v.clone());
                }
            }
        }
        let options = ConnectOptions {
            target,
            headers,
            subprotocols: spec.subprotocols.clone(),
            origin: spec.origin.as_deref().map(|o| vars.interpolate(o)).transpose()?,
            timeout: self.timeout(within_ms),
            tls: TlsOptions {
                extra_ca_file: spec.ca_file.as_ref().map(|p| self.base_dir.join(p)),
                accept_invalid_certs: spec.insecure,
                key_log_file: None,
            },
        };
        Ok((options, secrets))
    }

    pub(super) async fn connect(&self, c: &ConnectStep) -> Leaf {
        let slot = self.slot(&c.client)?;
        let mut conn = slot.conn.lock().await;
        // A connection that has ended (the server closed it) makes way for a new one.
        if conn.as_ref().is_some_and(|open| open.ended.is_some())
            && let Some(over) = conn.take()
        {
            over.abort().await;
        }
        if conn.is_some() {
            return Err(format!(
                "{} is already connected (use Reconnect for a new connection)",
                c.client
            ));
        }
        let (options, secrets) = self.connect_options(&c.client, c.within_ms)?;
        let started = Instant::now();
        match conn::open(&options, &secrets, &self.out).await {
            Ok(mut open) => {
                open.seen = slot.seen.clone();
                self.connections.fetch_add(1, Ordering::Relaxed);
                let elapsed = ms(started.elapsed());
                if let Some(name) = &c.measure {
                    self.record(name, elapsed);
                }
                let note = format!(
                    "{} -> {}{}",
                    open.local,
                    open.peer,
                    open.subprotocol
                        .as_ref()
                        .map_or(String::new(), |p| format!(", subprotocol {p}"))
                );
                if let Some(status) = c.expect_status {
                    *conn = Some(open);
                    return Err(format!(
                        "connected ({note}), but the upgrade should have been refused with {status}"
                    ));
                }
                *conn = Some(open);
                Ok(Some(note))
            }
            Err(ConnectError::Rejected { status, reason, .. }) if c.expect_status == Some(status) => {
                Ok(Some(format!("refused with {status} {reason}, as expected")))
            }
            Err(e) => Err(e.to_string()),
        }
    }

    pub(super) async fn send(&self, s: &SendStep) -> Leaf {
        let vars = self.vars();
        let (msg, shown) = if let Some(t) = &s.text {
            let t = vars.interpolate(t)?;
            let shown = crate::scenario::matcher::cut(&t);
            (Message::Text(t.into()), shown)
        } else if let Some(j) = &s.json {
            let t = vars.resolve(j)?.to_string();
            let shown = crate::scenario::matcher::cut(&t);
            (Message::Text(t.into()), shown)
        } else if let Some(app) = &s.app {
            use crate::live::app_send::Built;
            let shown = app.describe();
            match app.build()? {
                Built::Text(t) => (Message::Text(t.into()), shown),
                Built::Binary(b) => (Message::Binary(b.into()), shown),
            }
        } else if let Some(p) = &s.ping {
            let p = vars.interpolate(p)?;
            if p.len() > 125 {
                return Err(format!("a ping carries at most 125 bytes, not {}", p.len()));
            }
            (Message::Ping(p.into_bytes().into()), String::new())
        } else {
            match expected_bytes(s.binary_hex.as_deref(), s.binary_base64.as_deref(), &vars)? {
                Some(b) => {
                    let shown = format!("{} bytes", b.len());
                    (Message::Binary(b.into()), shown)
                }
                None => return Err("nothing to send".into()),
            }
        };
        let slot = self.slot(&s.client)?;
        let mut guard = slot.conn.lock().await;
        let conn = guard.as_mut().ok_or_else(|| format!("{} is not connected", s.client))?;
        let sent = conn.send(msg).await?;
        if let Some(t) = &s.timer
            && let Ok(mut timers) = self.timers.lock()
        {
            timers.insert(t.clone(), sent);
        }
        Ok((!shown.is_empty()).then_some(format!("sent {shown}")))
    }

    pub(super) fn record(&self, measure: &str, value_ms: f64) {
        if let Ok(mut m) = self.measures.lock() {
            let m = m.entry(measure.to_owned()).or_default();
            m.latency.record_ms(value_ms);
            m.sum_ms += value_ms;
        }
    }

    pub(super) async fn expect(&self, e: &ExpectStep) -> Leaf {
        let matcher = Matcher::new(e, &self.vars())?;
        let within = self.timeout(e.within_ms);
        let deadline = tokio::time::Instant::now() + within;
        let slot = self.slot(&e.client)?;
        let mut guard = slot.conn.lock().await;
        let conn = guard.as_mut().ok_or_else(|| format!("{} is not connected", e.client))?;
        let mut passed_over: Vec<String> = Vec::new();
        let mut skipped_count = 0usize;
        loop {
            let Some(incoming) = conn.next(deadline).await else {
                let what = if passed_over.is_empty() {
                    "nothing arrived".to_owned()
                } else {
                    format!("{skipped_count} arrived instead: {}", list(&passed_over))
                };
                return Err(format!("no matching message within {} ms; {what}", within.as_millis()));
            };
            let msg = match incoming.what {
                Received::Ended { why, .. } => {
                    return Err(with_passed(format!("the connection ended: {why}"), &passed_over));
                }
                Received::Msg(Msg::Close(code, reason)) => {
                    return Err(with_passed(
                        format!(
                            "the server closed the connection: {}",
                            Msg::Close(code, reason).preview()
                        ),
                        &passed_over,
                    ));
                }
                Received::Msg(m) => m,
            };
            if msg.is_control() != matcher.wants_control() {
                continue;
            }
            match matcher.check(&msg, e) {
                Ok(matched) => {
                    for (var, value) in matched.captures {
                        self.set_var(&var, value);
                    }
                    let mut note = format!("got {}", msg.preview());
                    if let Some(name) = &e.measure {
                        let start = self.timers.lock().ok().and_then(|t| t.get(name).copied());
                        let Some(start) = start else {
                            return Err(format!("no Send with timer: \"{name}\" ran before this step"));
                        };
                        let latency = ms(incoming.at.saturating_duration_since(start));
                        self.record(name, latency);
                        note.push_str(&format!(" after {latency:.2} ms ({name})"));
                    }
                    return Ok(Some(note));
                }
                Err(why) if e.any => {
                    skipped_count += 1;
                    if passed_over.len() < LISTED {
                        passed_over.push(format!("{} ({why})", msg.preview()));
                    }
                }
                Err(why) => return Err(format!("got {}\n{why}", msg.preview())),
            }
        }
    }

    pub(super) async fn expect_close(&self, e: &ExpectCloseStep) -> Leaf {
        let within = self.timeout(e.within_ms);
        let deadline = tokio::time::Instant::now() + within;
        let slot = self.slot(&e.client)?;
        let mut guard = slot.conn.lock().await;
        let conn = guard.as_mut().ok_or_else(|| format!("{} is not connected", e.client))?;
        let mut passed_over = Vec::new();
        let result = loop {
            let Some(incoming) = conn.next(deadline).await else {
                break Err(with_passed(
                    format!(
                        "no close frame within {} ms; the connection is still open",
                        within.as_millis()
                    ),
                    &passed_over,
                ));
            };
            match incoming.what {
                Received::Msg(Msg::Close(code, reason)) => {
                    let got = Msg::Close(code, reason.clone()).preview();
                    if e.code.is_some() && code != e.code {
                        break Err(format!(
                            "closed with {got}, expected code {}",
                            e.code.map_or(String::new(), |c| c.to_string())
                        ));
                    }
                    if let Some(want) = &e.reason
                        && want != &reason
                    {
                        break Err(format!("closed with {got}, expected the reason {want:?}"));
                    }
                    break Ok(Some(format!("got {got}")));
                }
                Received::Msg(m) if m.is_control() => {}
                Received::Msg(m) if e.any => {
                    if passed_over.len() < LISTED {
                        passed_over.push(m.preview());
                    }
                }
                Received::Msg(m) => break Err(format!("got {} instead of a close frame", m.preview())),
                Received::Ended { why, .. } => {
                    break Err(with_passed(format!("no close frame: {why}"), &passed_over));
                }
            }
        };
        // The connection is over (or failed to close as it should): let it go.
        if let Some(conn) = guard.take() {
            conn.finish(CLOSE_GRACE).await;
        }
        result
    }

    pub(super) async fn close(&self, c: &CloseStep) -> Leaf {
        let within = self.timeout(c.within_ms);
        let slot = self.slot(&c.client)?;
        let mut guard = slot.conn.lock().await;
        let conn = guard.as_mut().ok_or_else(|| format!("{} is not connected", c.client))?;
        let reason = self.vars().interpolate(&c.reason)?;
        conn.send_close(c.code, &reason).await?;
        let deadline = tokio::time::Instant::now() + within;
        let mut passed_over = Vec::new();
        let result = loop {
            let Some(incoming) = conn.next(deadline).await else {
                break Err(with_passed(
                    format!("no close frame from the server within {} ms", within.as_millis()),
                    &passed_over,
                ));
            };
            match incoming.what {
                Received::Msg(Msg::Close(code, reason)) => {
                    let got = Msg::Close(code, reason).preview();
                    match c.expect_code {
                        Some(want) if code != Some(want) => {
                            break Err(format!("the server answered {got}, expected code {want}"));
                        }
                        _ => break Ok(Some(format!("the server answered {got}"))),
                    }
                }
                // Messages sent before the server saw our close may still come.
                Received::Msg(m) => {
                    if !m.is_control() && passed_over.len() < LISTED {
                        passed_over.push(m.preview());
                    }
                }
                Received::Ended { why, .. } => {
                    break Err(with_passed(format!("no close frame in answer: {why}"), &passed_over));
                }
            }
        };
        if let Some(conn) = guard.take() {
            conn.finish(CLOSE_GRACE).await;
        }
        result
    }

    pub(super) async fn silence(&self, s: &SilenceStep) -> Leaf {
        let started = Instant::now();
        let deadline = tokio::time::Instant::now() + Duration::from_millis(s.for_ms);
        let slot = self.slot(&s.client)?;
        let mut guard = slot.conn.lock().await;
        let conn = guard.as_mut().ok_or_else(|| format!("{} is not connected", s.client))?;
        loop {
            let Some(incoming) = conn.next(deadline).await else {
                return Ok(None);
            };
            let when = if incoming.at < started {
                "before this step began".to_owned()
            } else {
                format!("{:.0} ms into it", ms(incoming.at.duration_since(started)))
            };
            match incoming.what {
                Received::Msg(m) if m.is_control() => {}
                Received::Msg(m) => return Err(format!("got {} ({when})", m.preview())),
                Received::Ended { why, .. } => {
                    return Err(format!("the connection ended ({when}): {why}"));
                }
            }
        }
    }

    pub(super) async fn expect_drop(&self, d: &DropStep) -> Leaf {
        let within = self.timeout(d.within_ms);
        let deadline = tokio::time::Instant::now() + within;
        let slot = self.slot(&d.client)?;
        let mut guard = slot.conn.lock().await;
        let conn = guard.as_mut().ok_or_else(|| format!("{} is not connected", d.client))?;
        let result = loop {
            let Some(incoming) = conn.next(deadline).await else {
                return Err(format!("still open after {} ms", within.as_millis()));
            };
            match incoming.what {
                Received::Msg(Msg::Close(code, reason)) => {
                    break Err(format!(
                        "closed with a close frame ({}), not dropped",
                        Msg::Close(code, reason).preview()
                    ));
                }
                Received::Msg(_) => {}
                Received::Ended { clean: false, why } => break Ok(Some(why)),
                Received::Ended { clean: true, why } => break Err(format!("ended cleanly: {why}")),
            }
        };
        if let Some(conn) = guard.take() {
            conn.finish(CLOSE_GRACE).await;
        }
        result
    }

    pub(super) fn timing(&self, t: &TimingStep) -> Leaf {
        let mut measures = self
            .measures
            .lock()
            .map_err(|_| "measurements unavailable".to_owned())?;
        let m = measures
            .get_mut(&t.measure)
            .ok_or_else(|| format!("no samples of '{}' were measured", t.measure))?;
        let n = m.latency.count();
        if let Some(min) = t.min_samples
            && n < min
        {
            return Err(format!("{} has {n} samples, fewer than the {min} required", t.measure));
        }
        let value = match t.stat {
            Stat::Min => m.latency.min_ms(),
            Stat::Max => m.latency.max_ms(),
            Stat::Mean => Some(m.sum_ms / n.max(1) as f64),
            Stat::P50 => m.latency.quantile_ms(0.5),
            Stat::P90 => m.latency.quantile_ms(0.9),
            Stat::P95 => m.latency.quantile_ms(0.95),
            Stat::P99 => m.latency.quantile_ms(0.99),
        }
        .ok_or_else(|| format!("no samples of '{}'", t.measure))?;
        let shown = format!("{} of {} = {value:.2} ms over {n} samples", t.stat.label(), t.measure);
        if let Some(below) = t.below_ms
            && value >= below
        {
            return Err(format!("{shown}, not below {below} ms"));
        }
        if let Some(least) = t.at_least_ms
            && value < least
        {
            return Err(format!("{shown}, below {least} ms"));
        }
        Ok(Some(shown))
    }
}
