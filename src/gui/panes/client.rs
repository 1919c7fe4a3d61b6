//! The live connections pane, drawn: one tab per live connection, each with its request
//! options, state, counters and composer (text, JSON, binary from hex, base64 or a file, ping,
//! close, saved templates); every session's messages arrive in the main tables like a
//! capture's. The tabs' state is `gui::client_tab`.
//!
//! A little over 600 lines: one function per part of the pane (tabs, request options, state,
//! profiles, counters, composer, close fields, templates), kept together because they share
//! the pane's context; the tab's state and logic are in `client_tab.rs`.

use crate::analysis::ws::close::{REGISTERED_CLOSE_CODES, close_code_allowed_on_wire, close_code_name};
use crate::gui::commands::Command;
use crate::gui::commands::SettingsChange;
use crate::gui::json_layout::Layout;
use crate::gui::model::Cx;
use crate::gui::sessions::ClientTabs;
use crate::gui::settings::Settings;
use crate::gui::theme;
use crate::live::client::ClientState;
use crate::store::Store;

pub use crate::gui::client_tab::{ClientPanel, ComposeKind, DEFAULT_CONNECT_TIMEOUT_SECS};

/// Close codes in the picker: the registry's, then the first private-use code (any code
/// 1000–4999 can be typed).
fn close_codes() -> impl Iterator<Item = u16> {
    REGISTERED_CLOSE_CODES.iter().copied().chain([4000])
}

/// "1 message", "2 messages".
fn count_of(n: u64, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{n} {thing}s")
    }
}

/// The live connections pane as a floating window (when the user undocked it).
pub fn client_window_ui(cx: &mut Cx<'_>, clients: &mut ClientTabs, ctx: &egui::Context) {
    if !clients.open || !cx.settings.live_pane_floating {
        return;
    }
    let mut open = true;
    super::window(ctx, "Live connections")
        .open(&mut open)
        .default_width(580.0)
        .show(ctx, |ui| live_pane_ui(cx, clients, ui));
    if !open {
        clients.open = false;
    }
}

/// The live connections pane docked left of the message table (the default): the tables stay
/// visible while composing, as in Postman.
pub fn client_panel_ui(cx: &mut Cx<'_>, clients: &mut ClientTabs, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        ui.heading("Live connections");
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui
                .small_button("Hide")
                .on_hover_text("File > Connect to a WebSocket shows it again")
                .clicked()
            {
                clients.open = false;
            }
        });
    });
    live_pane_ui(cx, clients, ui);
}

/// What the pane holds, docked or floating: the tabs, then the current tab.
fn live_pane_ui(cx: &mut Cx<'_>, clients: &mut ClientTabs, ui: &mut egui::Ui) {
    tabs_ui(clients, cx, ui);
    ui.separator();
    let current = clients.current;
    let tab = clients.current_mut();
    // The composer and Send keep their place at the bottom whatever the pane's height; the
    // form, state and counters scroll above them. A short pane (1024×700 windows) gets a
    // compact composer, so the form keeps room above it.
    let compact = ui.available_height() < 420.0;
    egui::Panel::bottom(egui::Id::unique(("live-composer", current)))
        .resizable(false)
        .show(ui, |ui| {
            let open = tab.state().as_ref().is_some_and(ClientState::is_open);
            composer_ui(tab, ui, open, compact, cx);
            if let Some(e) = &tab.error {
                ui.colored_label(theme::ERROR, e);
            }
        });
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| tab_ui(tab, current, ui, cx));
}

/// One button per tab, "New tab", "Close tab" and "Float"/"Dock".
fn tabs_ui(clients: &ClientTabs, cx: &mut Cx<'_>, ui: &mut egui::Ui) {
    ui.horizontal_wrapped(|ui| {
        for (i, tab) in clients.tabs.iter().enumerate() {
            if ui.selectable_label(i == clients.current, tab.title()).clicked() && i != clients.current {
                cx.push(Command::SelectClientTab(i));
            }
        }
        if ui
            .button("New tab")
            .on_hover_text("another connection, with this tab's settings")
            .clicked()
        {
            cx.push(Command::NewClientTab);
        }
        if ui
            .button("Close tab")
            .on_hover_text("ends this tab's connection")
            .clicked()
        {
            cx.push(Command::CloseClientTab(clients.current));
        }
        let floating = cx.settings.live_pane_floating;
        let label = if floating { "Dock" } else { "Float" };
        if ui
            .button(label)
            .on_hover_text("docked left of the messages, or a window of its own")
            .clicked()
        {
            cx.push(Command::Settings(SettingsChange::LivePaneFloating(!floating)));
        }
    });
}

fn tab_ui(tab: &mut ClientPanel, index: usize, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
    let state = tab.state();
    let active = state.as_ref().is_some_and(|s| !s.is_finished());
    ui.horizontal(|ui| {
        let label = ui.label("URL");
        ui.add_enabled(
            !active,
            egui::TextEdit::singleline(&mut tab.url)
                .hint_text("ws://host:port/path or wss://…")
                .desired_width(360.0),
        )
        .labelled_by(label.id);
        if active {
            if ui.button("Disconnect").clicked() {
                cx.push(Command::Disconnect(index));
            }
        } else if ui.button("Connect").clicked() {
            cx.push(Command::ConnectClient);
        }
    });
    profiles_ui(tab, ui, cx);
    ui.collapsing("Request options", |ui| request_options_ui(tab, ui));
    if tab.insecure {
        ui.colored_label(theme::WARNING, "TLS certificates are NOT checked on this connection");
    }
    state_ui(state.as_ref(), ui);
    counters_ui(tab, &cx.store, ui);
    if !tab.conns.is_empty() {
        ui.horizontal(|ui| {
            let conns: Vec<String> = tab.conns.iter().map(|c| format!("#{c}")).collect();
            ui.label(format!("In the tables as connection {}", conns.join(", ")));
            if ui.small_button("Show only this tab").clicked() {
                cx.push(Command::SelectConnection(tab.conns.last().copied()));
            }
            if ui.small_button("Show all").clicked() {
                cx.push(Command::SelectConnection(None));
            }
        });
    }
    let finished = state.as_ref().is_some_and(ClientState::is_finished);
    let recorded = tab.session.as_ref().is_some_and(|s| {
        s.client
            .counters
            .recorded_connections
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0
    });
    if finished && recorded && tab.recording.is_some() && ui.button("Save session as .pcapng…").clicked() {
        cx.push(Command::SaveSessionRecording(index));
    }
}

fn request_options_ui(tab: &mut ClientPanel, ui: &mut egui::Ui) {
    egui::Grid::new("client-options").num_columns(2).show(ui, |ui| {
        let l = ui.label("Subprotocols");
        ui.add(egui::TextEdit::singleline(&mut tab.subprotocols).hint_text("chat, superchat"))
            .labelled_by(l.id);
        ui.end_row();
        let l = ui.label("Origin");
        ui.add(egui::TextEdit::singleline(&mut tab.origin).hint_text("https://example.com"))
            .labelled_by(l.id);
        ui.end_row();
        let l = ui.label("Headers");
        ui.add(
            egui::TextEdit::multiline(&mut tab.headers)
                .hint_text("Authorization: Bearer …")
                .desired_rows(2),
        )
        .labelled_by(l.id);
        ui.end_row();
        let mut remove = None;
        for (i, (name, value)) in tab.secret_headers.iter_mut().enumerate() {
            let l = ui.label("Secret header");
            ui.horizontal(|ui| {
                ui.add(
                    egui::TextEdit::singleline(name)
                        .hint_text("Authorization")
                        .desired_width(140.0),
                )
                .labelled_by(l.id);
                ui.add(egui::TextEdit::singleline(value).password(true).desired_width(220.0))
                    .on_hover_text("masked here; blanked with * in the tables and the recording");
                if ui.small_button("Remove").clicked() {
                    remove = Some(i);
                }
            });
            ui.end_row();
        }
        if let Some(i) = remove {
            tab.secret_headers.remove(i);
        }
    });
    ui.horizontal(|ui| {
        if ui.button("Add a secret header").clicked() {
            tab.secret_headers.push((String::new(), String::new()));
        }
        ui.checkbox(&mut tab.record_secrets, "record secrets in clear");
    });
    path_field_ui(ui, "Extra CA file (PEM)", &mut tab.ca_file, "dev-ca.pem");
    path_field_ui(
        ui,
        "TLS key log file",
        &mut tab.key_log_file,
        "keys.log (for Wireshark)",
    )
    .on_hover_text("wss:// session secrets are appended here (NSS key log format); empty: SSLKEYLOGFILE");
    ui.checkbox(&mut tab.insecure, "Accept any TLS certificate (insecure)");
    ui.horizontal(|ui| {
        ui.label("Connect timeout");
        ui.add(
            egui::DragValue::new(&mut tab.connect_timeout)
                .range(0.1..=600.0)
                .suffix(" s"),
        )
        .on_hover_text("for TCP, TLS and the upgrade answer, each");
    });
    ui.horizontal(|ui| {
        ui.checkbox(&mut tab.heartbeat, "Heartbeat: ping every");
        ui.add(
            egui::DragValue::new(&mut tab.heartbeat_every)
                .range(0.1..=3600.0)
                .suffix(" s"),
        );
        ui.label("pong timeout");
        ui.add(
            egui::DragValue::new(&mut tab.pong_timeout)
                .range(0.1..=600.0)
                .suffix(" s"),
        );
        ui.checkbox(&mut tab.close_on_missed_pong, "close on a missed pong");
    });
    ui.horizontal(|ui| {
        ui.checkbox(&mut tab.reconnect, "Reconnect after a drop: first wait");
        ui.add(
            egui::DragValue::new(&mut tab.reconnect_base)
                .range(0.05..=60.0)
                .suffix(" s"),
        );
        ui.label("doubling up to");
        ui.add(
            egui::DragValue::new(&mut tab.reconnect_max)
                .range(0.05..=3600.0)
                .suffix(" s"),
        );
        ui.label("attempts");
        ui.add(egui::DragValue::new(&mut tab.reconnect_attempts).range(1..=1000));
    });
}

fn state_ui(state: Option<&ClientState>, ui: &mut egui::Ui) {
    match state {
        None => {
            ui.label("Not connected.");
        }
        Some(ClientState::Connecting) => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Connecting…");
            });
        }
        Some(ClientState::Open {
            local,
            peer,
            subprotocol,
        }) => {
            let proto = subprotocol
                .as_ref()
                .map_or(String::new(), |p| format!(", subprotocol {p}"));
            ui.colored_label(theme::OK, format!("Open: {local} -> {peer}{proto}"));
        }
        Some(ClientState::Reconnecting {
            attempt,
            of,
            after,
            why,
        }) => {
            ui.colored_label(
                theme::WARNING,
                format!(
                    "Dropped ({why}); reconnect attempt {attempt} of {of} in {:.1} s",
                    after.as_secs_f64()
                ),
            );
        }
        Some(ClientState::Closed(why)) => {
            // `why` often says "closed" itself ("closed by the server: 1000"): never twice.
            if why.starts_with("closed") {
                ui.label(capitalized(why));
            } else {
                ui.label(format!("Closed: {why}"));
            }
        }
        Some(ClientState::Failed(why)) => {
            ui.colored_label(theme::ERROR, format!("Failed: {why}"));
        }
    }
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

/// A labelled one-line field for a file path; returns the field's response.
fn path_field_ui(ui: &mut egui::Ui, label: &str, path: &mut String, hint: &str) -> egui::Response {
    ui.horizontal(|ui| {
        let l = ui.label(label);
        ui.add(egui::TextEdit::singleline(path).hint_text(hint).desired_width(260.0))
            .labelled_by(l.id)
    })
    .inner
}

/// Saved set-ups: pick one to fill the form, save the form under a name, delete.
fn profiles_ui(tab: &mut ClientPanel, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
    let settings = &cx.model.settings;
    ui.horizontal_wrapped(|ui| {
        let l = ui.label("Profile");
        let mut picked = None;
        egui::ComboBox::from_id_salt("client-profile")
            .selected_text(if settings.profiles.is_empty() {
                "(none saved)"
            } else {
                "Load…"
            })
            .show_ui(ui, |ui| {
                for p in &settings.profiles {
                    if ui.button(format!("{} — {}", p.name, p.url)).clicked() {
                        picked = Some(p.clone());
                    }
                }
            })
            .response
            .labelled_by(l.id);
        if let Some(p) = picked {
            tab.apply_profile(&p);
        }
        let l = ui.label("Name");
        ui.add(egui::TextEdit::singleline(&mut tab.profile_name).desired_width(120.0))
            .labelled_by(l.id);
        let name = tab.profile_name.trim().to_owned();
        if ui
            .add_enabled(!name.is_empty(), egui::Button::new("Save profile"))
            .clicked()
        {
            cx.push(Command::Settings(SettingsChange::Profiles(saved_profile(
                tab, settings, &name,
            ))));
        }
        let exists = settings.profiles.iter().any(|p| p.name == name);
        if ui.add_enabled(exists, egui::Button::new("Delete profile")).clicked() {
            let mut profiles = settings.profiles.clone();
            profiles.retain(|p| p.name != name);
            cx.push(Command::Settings(SettingsChange::Profiles(profiles)));
        }
    });
}

/// The saved profiles with the tab's form saved under `name` (replacing one of that name).
fn saved_profile(tab: &ClientPanel, settings: &Settings, name: &str) -> Vec<crate::gui::settings::ConnectionProfile> {
    let profile = tab.to_profile(name);
    let mut profiles = settings.profiles.clone();
    match profiles.iter_mut().find(|p| p.name == profile.name) {
        Some(existing) => *existing = profile,
        None => profiles.push(profile),
    }
    profiles
}

/// Messages and bytes each way over the tab's connections, the latest ping RTT, uptime,
/// heartbeat and reconnect counts.
fn counters_ui(tab: &ClientPanel, store: &Store, ui: &mut egui::Ui) {
    let Some(session) = &tab.session else {
        return;
    };
    let entries: Vec<_> = tab.conns.iter().filter_map(|&c| store.connection(c)).collect();
    if !entries.is_empty() {
        let (mut up, mut down) = ((0, 0), (0, 0));
        for c in &entries {
            up = (up.0 + c.counters[0].messages, up.1 + c.counters[0].wire_bytes);
            down = (down.0 + c.counters[1].messages, down.1 + c.counters[1].wire_bytes);
        }
        ui.label(format!(
            "Sent {} ({} on the wire) · received {} ({})",
            count_of(up.0, "message"),
            crate::gui::format::bytes(up.1),
            count_of(down.0, "message"),
            crate::gui::format::bytes(down.1)
        ));
    }
    let rtts: Vec<_> = store.rtts.iter().filter(|r| tab.conns.contains(&r.conn)).collect();
    if let Some(rtt) = rtts.last() {
        ui.label(format!("Last ping RTT {:.2} ms ({} samples)", rtt.rtt_ms(), rtts.len()));
    }
    if let Some(latest) = entries.last() {
        let since = crate::gui::format::utc(latest.info.first_ts);
        match latest.end {
            None => ui.label(format!(
                "Connected since {since}, up {:.1} s",
                crate::live::tap::now().millis_since(latest.info.first_ts) / 1000.0
            )),
            Some(_) => ui.label(format!(
                "Connected at {since} for {:.1} s",
                latest.last_ts.millis_since(latest.info.first_ts) / 1000.0
            )),
        };
    }
    let counters = &session.client.counters;
    let pings = counters.heartbeat_pings.load(std::sync::atomic::Ordering::Relaxed);
    let missed = counters.missed_pongs.load(std::sync::atomic::Ordering::Relaxed);
    let reconnects = counters.reconnects.load(std::sync::atomic::Ordering::Relaxed);
    if reconnects > 0 {
        ui.colored_label(
            theme::WARNING,
            format!(
                "Reconnect attempts: {reconnects} ({} connections; the timeline shades the gaps)",
                tab.conns.len()
            ),
        );
    }
    if pings > 0 {
        let text = format!("Heartbeat: {pings} pings, {missed} missed pongs");
        if missed > 0 {
            ui.colored_label(theme::ERROR, text);
        } else {
            ui.label(text);
        }
    }
}

fn composer_ui(tab: &mut ClientPanel, ui: &mut egui::Ui, open: bool, compact: bool, cx: &mut Cx<'_>) {
    ui.horizontal_wrapped(|ui| {
        for kind in ComposeKind::ALL {
            ui.selectable_value(&mut tab.kind, kind, kind.label());
        }
    });
    let form = egui::CollapsingHeader::new("Application message (Socket.IO, MQTT, STOMP, GraphQL)")
        .id_salt("app-form")
        .open(Some(tab.app_form_open))
        .show(ui, |ui| crate::gui::app_form::app_form_ui(&mut tab.app_form, ui));
    if form.header_response.clicked() {
        tab.app_form_open = !tab.app_form_open;
    }
    if let Some(Some((kind, text))) = form.body_returned {
        tab.kind = kind;
        tab.text = text;
    }
    let mut composing = false;
    match tab.kind {
        ComposeKind::Close => close_fields_ui(tab, ui),
        ComposeKind::File => {
            ui.horizontal(|ui| {
                let l = ui.label("File to send");
                ui.add(
                    egui::TextEdit::singleline(&mut tab.text)
                        .hint_text("/path/to/payload.bin")
                        .desired_width(340.0),
                )
                .labelled_by(l.id);
                if ui.button("Choose…").clicked() {
                    cx.push(Command::PickComposeFile);
                }
            });
            if let Some(len) = tab.file_size() {
                ui.label(format!("{len} bytes, sent as one binary message"));
            }
        }
        _ => {
            let hint = match tab.kind {
                ComposeKind::Json => "{\"type\": \"hello\"}",
                ComposeKind::Binary => "01 02 ff",
                ComposeKind::Base64 => "AQL/",
                ComposeKind::Ping => "ping payload (≤125 bytes)",
                _ => "message text",
            };
            let l = ui.label("Message");
            // A long message scrolls inside the field: Send stays where it is.
            let field = egui::ScrollArea::vertical()
                .id_salt("compose-text")
                .max_height(if compact { 60.0 } else { 180.0 })
                .show(ui, |ui| {
                    ui.add(
                        egui::TextEdit::multiline(&mut tab.text)
                            .hint_text(hint)
                            .code_editor()
                            .desired_rows(if compact { 2 } else { 3 })
                            .desired_width(f32::INFINITY),
                    )
                    .labelled_by(l.id)
                })
                .inner;
            composing = field.has_focus();
            if tab.kind == ComposeKind::Json {
                ui.horizontal(|ui| {
                    if ui
                        .button("Pretty")
                        .on_hover_text("indent; keys and numbers as typed")
                        .clicked()
                    {
                        tab.relayout_json(Layout::Pretty(2));
                    }
                    if ui
                        .button("Compact")
                        .on_hover_text("no whitespace between tokens")
                        .clicked()
                    {
                        tab.relayout_json(Layout::Compact);
                    }
                });
            }
        }
    }
    // Only from the message field: Ctrl+Enter typed anywhere else (the filter bar, a header
    // field) must not send.
    // The event's own modifiers, not the frame's: a fast Ctrl+Enter can press and release Ctrl
    // within one frame.
    let ctrl_enter = composing && ui.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::Enter));
    ui.horizontal(|ui| {
        let send = ui
            .add_enabled(open, egui::Button::new("Send"))
            .on_hover_text("Ctrl+Enter");
        if send.clicked() || (open && ctrl_enter) {
            cx.push(Command::SendComposed);
        }
        // What is wrong with the message, next to Send, gone as soon as it is fixed.
        if let Some(problem) = compose_problem(tab) {
            ui.colored_label(theme::ERROR, problem);
        }
        if !tab.history.is_empty() {
            egui::ComboBox::from_id_salt("send-history")
                .selected_text("History")
                .show_ui(ui, |ui| {
                    let mut picked = None;
                    for (kind, text) in tab.history.iter().rev() {
                        let shown: String = text.chars().take(60).collect();
                        if ui.button(format!("{}: {shown}", kind.label())).clicked() {
                            picked = Some((*kind, text.clone()));
                        }
                    }
                    if let Some((kind, text)) = picked {
                        tab.kind = kind;
                        tab.text = text;
                    }
                });
        }
    });
    if compact {
        egui::CollapsingHeader::new("Templates")
            .id_salt("compose-templates")
            .default_open(false)
            .show(ui, |ui| templates_ui(tab, ui, cx));
    } else {
        templates_ui(tab, ui, cx);
    }
}

/// Why the composer's message cannot be sent as typed (checked as you type; a file is only
/// read when sent, and texts over 1 MiB only when sent).
fn compose_problem(tab: &ClientPanel) -> Option<String> {
    if tab.kind == ComposeKind::File || tab.text.len() > 1 << 20 {
        return None;
    }
    if tab.text.is_empty() && matches!(tab.kind, ComposeKind::Json) {
        return None;
    }
    tab.compose().err()
}

fn close_fields_ui(tab: &mut ClientPanel, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        let l = ui.label("Code");
        egui::ComboBox::from_id_salt("close-code")
            .selected_text(format!("{} {}", tab.close_code, close_code_name(tab.close_code)))
            .height(400.0)
            .show_ui(ui, |ui| {
                for code in close_codes() {
                    let mut text = format!("{code} {}", close_code_name(code));
                    if !close_code_allowed_on_wire(code) {
                        text.push_str(" (reserved: must not be sent)");
                    }
                    ui.selectable_value(&mut tab.close_code, code, text);
                }
            })
            .response
            .labelled_by(l.id);
        ui.add(egui::DragValue::new(&mut tab.close_code).range(1000..=4999));
        let l = ui.label("Reason");
        ui.add(egui::TextEdit::singleline(&mut tab.close_reason).desired_width(180.0))
            .labelled_by(l.id);
    });
    if !close_code_allowed_on_wire(tab.close_code) {
        ui.colored_label(
            theme::WARNING,
            format!(
                "{} may not be sent (RFC 6455 §7.4); it is sent anyway, to test the server",
                tab.close_code
            ),
        );
    }
}

/// Saved messages: pick one to fill the composer, save the composer under a name, delete.
/// Templates belong to the tab and are saved with its profile (at once when the profile
/// already exists).
fn templates_ui(tab: &mut ClientPanel, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
    ui.horizontal_wrapped(|ui| {
        let l = ui.label("Template");
        let mut picked = None;
        egui::ComboBox::from_id_salt("message-template")
            .selected_text(if tab.templates.is_empty() {
                "(none saved)"
            } else {
                "Use…"
            })
            .show_ui(ui, |ui| {
                for t in &tab.templates {
                    let shown: String = t.text.chars().take(40).collect();
                    if ui.button(format!("{} — {}: {shown}", t.name, t.kind.label())).clicked() {
                        picked = Some(t.clone());
                    }
                }
            })
            .response
            .labelled_by(l.id);
        if let Some(t) = picked {
            tab.apply_template(&t);
        }
        let l = ui.label("Name");
        ui.add(egui::TextEdit::singleline(&mut tab.template_name).desired_width(110.0))
            .labelled_by(l.id);
        let name = tab.template_name.trim().to_owned();
        let mut changed = false;
        if ui
            .add_enabled(!name.is_empty(), egui::Button::new("Save template"))
            .clicked()
        {
            tab.save_template(&name);
            changed = true;
        }
        let exists = tab.templates.iter().any(|t| t.name == name);
        if ui.add_enabled(exists, egui::Button::new("Delete template")).clicked() {
            tab.templates.retain(|t| t.name != name);
            changed = true;
        }
        let profile = tab.profile_name.trim().to_owned();
        if changed && cx.settings.profiles.iter().any(|p| p.name == profile) {
            let mut profiles = cx.settings.profiles.clone();
            if let Some(p) = profiles.iter_mut().find(|p| p.name == profile) {
                p.templates = tab.templates.clone();
            }
            cx.push(Command::Settings(SettingsChange::Profiles(profiles)));
        }
    });
}
