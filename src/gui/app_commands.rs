//! What the window does: keyboard shortcuts and every `Command` the panes pushed, run once
//! at the end of the frame (file dialogs, exports, selections, settings, sessions).

use std::path::PathBuf;

use crate::analysis::event::ConnId;
use crate::gui::app::{FramescopeApp, StatusLine};
use crate::gui::commands::Command;
use crate::gui::feed::Source;
use crate::gui::guard::Pending;

/// A key that moves the table's selection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TableKey {
    Step(i64),
    First,
    Last,
    /// First and last message of the selected message's connection.
    ConnFirst,
    ConnLast,
}

impl FramescopeApp {
    pub(super) fn handle_input(&mut self, ctx: &egui::Context) {
        if ctx.input(|i| i.modifiers.command && i.key_pressed(egui::Key::Q)) {
            self.push(Command::Quit);
        }
        let (open, find, escape, dropped) = ctx.input(|i| {
            (
                i.modifiers.command && i.key_pressed(egui::Key::O),
                i.modifiers.command && i.key_pressed(egui::Key::F),
                i.key_pressed(egui::Key::Escape),
                i.raw
                    .dropped_files
                    .iter()
                    .map(|f| f.path().to_path_buf())
                    .find(|p| !p.as_os_str().is_empty()),
            )
        });
        if open {
            self.push(Command::OpenDialog);
        }
        if find {
            self.panes.top_bar.focus_filter = true;
        }
        if escape {
            self.push(Command::SelectMessage(None));
        }
        let (mark, next_mark, previous_mark) = ctx.input(|i| {
            let shift = i.modifiers.command && i.modifiers.shift;
            (
                i.modifiers.command && !i.modifiers.shift && i.key_pressed(egui::Key::M),
                shift && i.key_pressed(egui::Key::N),
                shift && i.key_pressed(egui::Key::B),
            )
        });
        if mark && let Some(m) = self.selection.message {
            self.push(Command::ToggleMark(m));
        }
        if next_mark {
            self.push(Command::JumpToMark(true));
        }
        if previous_mark {
            self.push(Command::JumpToMark(false));
        }
        if let Some(path) = dropped {
            // A key log dropped on the window decrypts the capture; anything else opens.
            if crate::gui::panes::tls_keys::is_key_log(&path) {
                self.push(Command::SetKeylog(Some(path)));
            } else {
                self.push(Command::Open(path));
            }
        }
        // Arrow, page, Home and End keys move through the table unless a text field has focus.
        if ctx.memory(|m| m.focused().is_none()) {
            let key = ctx.input(|i| {
                let command = i.modifiers.command;
                [
                    (egui::Key::ArrowDown, TableKey::Step(1)),
                    (egui::Key::ArrowUp, TableKey::Step(-1)),
                    (egui::Key::PageDown, TableKey::Step(20)),
                    (egui::Key::PageUp, TableKey::Step(-20)),
                    (
                        egui::Key::Home,
                        if command { TableKey::ConnFirst } else { TableKey::First },
                    ),
                    (
                        egui::Key::End,
                        if command { TableKey::ConnLast } else { TableKey::Last },
                    ),
                ]
                .into_iter()
                .find(|(k, _)| i.key_pressed(*k))
                .map(|(_, t)| t)
            });
            if let Some(key) = key
                && let Some(m) = self.table_target(key)
            {
                self.push(Command::RevealMessage(m));
            }
        }
    }

    /// The message a table key goes to.
    fn table_target(&self, key: TableKey) -> Option<u32> {
        let shown = self.view.shown();
        let current = self.selection.message.and_then(|m| self.view.position_of(m));
        let conn = self
            .selection
            .message
            .and_then(|m| self.store.messages.get(m as usize))
            .map(|r| r.conn);
        let same_conn =
            |m: &&u32| conn.is_none_or(|c| self.store.messages.get(**m as usize).is_some_and(|r| r.conn == c));
        match key {
            TableKey::Step(step) => {
                let last = shown.len().checked_sub(1)? as i64;
                let from = current.map_or(if step > 0 { -1 } else { last + 1 }, |p| p as i64);
                shown.get((from + step).clamp(0, last) as usize).copied()
            }
            TableKey::First => shown.first().copied(),
            TableKey::Last => shown.last().copied(),
            TableKey::ConnFirst => shown.iter().find(same_conn).copied(),
            TableKey::ConnLast => shown.iter().rev().find(same_conn).copied(),
        }
    }

    /// The next or previous marked message in table order, wrapping around.
    fn mark_target(&self, forward: bool) -> Option<u32> {
        let shown = self.view.shown();
        let current = self.selection.message.and_then(|m| self.view.position_of(m));
        let marked = |p: &usize| shown.get(*p).is_some_and(|m| self.marks.contains(m));
        let n = shown.len();
        let start = current.unwrap_or(if forward { n.saturating_sub(1) } else { 0 });
        (1..=n)
            .map(|k| {
                if forward {
                    (start + k) % n
                } else {
                    (start + n - k % n) % n
                }
            })
            .find(marked)
            .and_then(|p| shown.get(p).copied())
    }

    pub(super) fn apply_commands(&mut self, ctx: &egui::Context) {
        for command in std::mem::take(&mut self.commands) {
            match command {
                Command::OpenDialog => {
                    if let Some(path) = self.pick_file(
                        rfd::FileDialog::new()
                            .add_filter("Captures and HAR files", &["pcap", "pcapng", "cap", "har"])
                            .add_filter("All files", &["*"]),
                    ) {
                        self.guarded(Pending::Open(path));
                    }
                }
                Command::Open(path) => self.guarded(Pending::Open(path)),
                Command::Quit => self.guarded(Pending::Quit),
                Command::AnswerPrompt(answer) => self.answer_prompt(answer),
                Command::OpenOrphan(path) => self.open_orphan(path),
                Command::DeleteOrphan(path) => self.delete_orphan(&path),
                Command::StopFeed => {
                    if let Some(feed) = &self.feed {
                        feed.stop();
                    }
                }
                Command::SelectConnection(conn) => self.select_connection(conn),
                Command::SelectMessage(message) => self.selection.message = message,
                Command::RevealMessage(message) => {
                    self.selection.message = Some(message);
                    self.panes.scroll_to_selected = true;
                }
                Command::SavePayload(index) => self.save_payload(index),
                Command::CopyText(text) => ctx.copy_text(text),
                Command::ToggleTheme => self.settings.dark_mode = !self.settings.dark_mode,
                Command::ToggleCaptureWindow => {
                    self.panes.capture.open = !self.panes.capture.open;
                    if self.panes.capture.open && self.panes.capture.interfaces.is_none() {
                        self.refresh_interfaces();
                    }
                }
                Command::StartCapture => self.guarded(Pending::StartCapture),
                Command::ToggleConnectWindow => self.clients.open = !self.clients.open,
                Command::ConnectClient => self.guarded(Pending::Connect),
                Command::SendComposed => self.send_composed(),
                Command::Disconnect(i) => {
                    if let Some(s) = self.clients.tabs.get(i).and_then(|t| t.session.as_ref()) {
                        s.client.abort();
                    }
                }
                Command::DisconnectAll => {
                    for tab in self.clients.running() {
                        if let Some(s) = &tab.session {
                            s.client.abort();
                        }
                    }
                }
                Command::NewClientTab => self.clients.add(),
                Command::CloseClientTab(i) => self.guarded(Pending::CloseTab(i)),
                Command::SelectClientTab(i) => {
                    if let Some(tab) = self.clients.tabs.get(i) {
                        let latest = tab.conns.last().copied();
                        self.clients.current = i;
                        // Each tab's transcript: the tables follow the tab's connection.
                        if latest.is_some() {
                            self.select_connection(latest);
                        }
                    }
                }
                Command::SaveSessionRecording(i) => self.save_recording(self.session_recording(i)),
                Command::PickKeylog => {
                    if let Some(path) = self.pick_file(
                        rfd::FileDialog::new()
                            .add_filter("TLS key logs", &["log", "txt", "keys"])
                            .add_filter("All files", &["*"]),
                    ) {
                        self.set_keylog(Some(path));
                    }
                }
                Command::SetKeylog(path) => self.set_keylog(path),
                Command::ExportConnectionsPcapng => {
                    if let Some(path) = self.save_file(rfd::FileDialog::new().set_file_name("connections.pcapng")) {
                        self.export_connections_to(&path);
                    }
                }
                Command::PickComposeFile => {
                    if let Some(path) = self.pick_file(rfd::FileDialog::new()) {
                        self.clients.current_mut().text = path.display().to_string();
                    }
                }
                Command::SaveRecording => self.save_recording(self.panes.capture.recording.clone()),
                Command::OpenLesson(i) => {
                    if let Some(lesson) = crate::gui::lessons::LESSONS.get(i) {
                        self.guarded(Pending::Open(crate::gui::lessons::samples_dir().join(lesson.file)));
                        self.pending_goto = Some(lesson.message);
                        self.panes.lower.tab = lesson.tab;
                        self.lesson = Some(i);
                    }
                }
                Command::SetDisplayFilter(expr) => {
                    self.settings.remember_filter(&expr);
                    self.display_filter = expr;
                }
                Command::NarrowDisplayFilter(clause) => {
                    let current = self.display_filter.trim();
                    let expr = if current.is_empty() {
                        clause
                    } else {
                        format!("({current}) && {clause}")
                    };
                    self.settings.remember_filter(&expr);
                    self.display_filter = expr;
                }
                Command::SortBy(column) => self.sort = self.sort.clicked(column),
                Command::ToggleMark(m) => {
                    if !self.marks.remove(&m) {
                        self.marks.insert(m);
                    }
                }
                Command::JumpToMark(forward) => {
                    if let Some(m) = self.mark_target(forward) {
                        self.selection.message = Some(m);
                        self.panes.scroll_to_selected = true;
                    }
                }
                Command::FollowStream(conn) => self.follow = Some(conn),
                Command::DecodeAs(conn, protocol) => self.set_decode_as(conn, protocol),
                Command::SetDecodeRule(rule) => self.set_decode_rule(rule),
                Command::OpenProtoDialog(conn) => self.open_proto_dialog(conn),
                Command::SaveTranscript(conn) => self.save_transcript(conn),
                Command::Export(format) => self.export(format),
                Command::Test(command) => self.test_command(command),
                Command::SetFilter(filter) => self.filter = filter,
                Command::Settings(change) => self.change_settings(change),
                Command::ToggleBuilder => self.panes.builder.open = !self.panes.builder.open,
                Command::RefreshInterfaces => self.refresh_interfaces(),
                Command::CloseFollow => self.follow = None,
                Command::CloseLesson => self.lesson = None,
                Command::DismissOrphans => self.guard.orphans.clear(),
                Command::ShowReference(topic, highlight) => {
                    self.panes.reference.open = true;
                    self.panes.reference.topic = topic;
                    self.panes.reference.highlight = highlight;
                }
            }
        }
    }

    fn change_settings(&mut self, change: crate::gui::commands::SettingsChange) {
        use crate::gui::commands::SettingsChange;
        let settings = &mut self.model.settings;
        match change {
            SettingsChange::DarkMode(on) => settings.dark_mode = on,
            SettingsChange::TimeMode(mode) => settings.time_mode = mode,
            SettingsChange::Columns(columns) => settings.columns = columns,
            SettingsChange::LivePaneFloating(on) => settings.live_pane_floating = on,
            SettingsChange::SavedFilters(filters) => settings.saved_filters = filters,
            SettingsChange::Profiles(profiles) => settings.profiles = profiles,
        }
    }

    /// Scopes the tables to a connection (`None`: all); a selected message of another
    /// connection is unselected.
    fn select_connection(&mut self, conn: Option<ConnId>) {
        self.selection.conn = conn;
        if let (Some(c), Some(m)) = (conn, self.selection.message)
            && self.store.messages.get(m as usize).is_some_and(|row| row.conn != c)
        {
            self.selection.message = None;
        }
    }

    /// Lists interfaces (and picks the first when none is chosen yet).
    pub fn refresh_interfaces(&mut self) {
        let list = crate::capture::live::list_interfaces();
        if self.panes.capture.interface.is_empty()
            && let Ok(Some(first)) = list.as_ref().map(|l| l.first())
        {
            self.panes.capture.interface = first.name.clone();
        }
        self.panes.capture.interfaces = Some(list);
    }

    /// Writes the packets of the shown messages' connections (and their TLS keys) to `path`.
    pub fn export_connections_to(&mut self, path: &std::path::Path) {
        let result = match self.packet_source() {
            None => Err("this source has no packets (a HAR file or live connections)".to_owned()),
            Some(source) => crate::gui::export::export_connections_pcapng(
                &self.store,
                self.view.shown(),
                &source,
                self.settings.tls_keylog.as_deref(),
                path,
            ),
        };
        self.status = Some(match result {
            Ok(text) => StatusLine { text, is_error: false },
            Err(e) => StatusLine {
                text: format!("cannot save connections: {e}"),
                is_error: true,
            },
        });
    }

    /// Remembers the TLS key log and reads the open capture file again with it, so its
    /// wss:// connections decrypt (a live capture picks it up at its next start).
    fn set_keylog(&mut self, path: Option<PathBuf>) {
        if self.settings.tls_keylog == path {
            return;
        }
        self.settings.tls_keylog = path;
        self.keylog_checked = None;
        if let Some(Source::File(file)) = self.source.clone() {
            self.guarded(Pending::Open(file));
        }
    }

    fn save_recording(&mut self, recording: Option<PathBuf>) {
        if let Some(recording) = recording {
            self.save_recording_as(&recording);
        }
    }

    /// File → Export: asks where, then writes the shown messages.
    fn export(&mut self, format: crate::gui::commands::ExportFormat) {
        let Some(path) =
            self.save_file(rfd::FileDialog::new().set_file_name(format!("messages.{}", format.extension())))
        else {
            return;
        };
        self.export_to(format, &path);
    }

    /// Writes the shown messages, in the table's order, to `path`.
    pub fn export_to(&mut self, format: crate::gui::commands::ExportFormat, path: &std::path::Path) {
        let result = crate::gui::export::export_messages(&self.store, self.view.shown(), format, path);
        self.status = Some(match result {
            Ok(text) => StatusLine { text, is_error: false },
            Err(e) => StatusLine {
                text: format!("cannot export to {}: {e}", path.display()),
                is_error: true,
            },
        });
    }

    fn save_transcript(&mut self, conn: ConnId) {
        let Some(path) = self.save_file(rfd::FileDialog::new().set_file_name(format!("connection-{conn}.txt"))) else {
            return;
        };
        let lines = crate::gui::export::transcript(&self.store, &self.view.rows, conn);
        let text = crate::gui::export::transcript_text(&self.store, conn, &lines);
        self.status = Some(match crate::gui::export::save_text(&path, &text) {
            Ok(()) => StatusLine {
                text: format!("saved the transcript to {}", path.display()),
                is_error: false,
            },
            Err(e) => StatusLine {
                text: format!("cannot save {}: {e}", path.display()),
                is_error: true,
            },
        });
    }

    fn save_payload(&mut self, index: u32) {
        let Some(row) = self.store.messages.get(index as usize) else {
            return;
        };
        let payload = self.store.payload(row).to_vec();
        let name = format!(
            "message-{index}.{}",
            if row.opcode == crate::analysis::ws::frame::OpCode::Text {
                "txt"
            } else {
                "bin"
            }
        );
        if let Some(path) = self.save_file(rfd::FileDialog::new().set_file_name(name)) {
            self.status = Some(match std::fs::write(&path, &payload) {
                Ok(()) => StatusLine {
                    text: format!("saved {} bytes to {}", payload.len(), path.display()),
                    is_error: false,
                },
                Err(e) => StatusLine {
                    text: format!("cannot save {}: {e}", path.display()),
                    is_error: true,
                },
            });
        }
    }
}
