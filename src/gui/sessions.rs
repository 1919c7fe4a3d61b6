//! The window's live connections: one tab each, every session's events renumbered into the
//! one store the panes read, and replaced sessions drained until their thread is done.

use std::path::PathBuf;
use std::time::Instant;

use crate::analysis::event::{ConnId, Event, EventSink, Renumber};
use crate::gui::app::{FramescopeApp, StatusLine};
use crate::gui::client_tab::{ClientPanel, ComposeKind};
use crate::gui::feed::{Drained, Feed, Source};
use crate::live::client::{ClientState, LiveClient, SessionOptions};
use crate::store::Store;

/// A running (or ended) live session and the events on their way from it.
pub struct Session {
    /// Declared before `client` so it is dropped first: a worker blocked on a full channel
    /// then sees it closed and ends, and dropping `client` (which joins it) cannot hang.
    feed: Feed,
    pub client: LiveClient,
    /// The store's number for each of the session's own connections (a reconnect adds one).
    map: Vec<ConnId>,
    /// The feed has said the session is over: nothing more will come.
    done: bool,
    /// The store this session fed has been replaced: its late events go nowhere.
    orphaned: bool,
}

impl Session {
    fn new(client: LiveClient, feed: Feed) -> Self {
        Session {
            client,
            feed,
            map: Vec::new(),
            done: false,
            orphaned: false,
        }
    }

    /// Takes in waiting events until `deadline`; returns the store numbers of connections
    /// it announced, and whether events may still be waiting.
    fn drain(&mut self, store: &mut Store, deadline: Instant) -> (Vec<ConnId>, bool) {
        let first_new = self.map.len();
        let drained = if self.orphaned {
            // The store this session fed was replaced: its late events go nowhere.
            self.feed.drain(&mut NullSink, deadline)
        } else {
            let next = store.connections.len() as ConnId;
            self.feed.drain(
                &mut Renumber {
                    inner: store,
                    map: &mut self.map,
                    next,
                },
                deadline,
            )
        };
        if let Drained::Ended(_) = drained {
            self.done = true;
        }
        let new = self.map.get(first_new..).unwrap_or_default().to_vec();
        (new, matches!(drained, Drained::More))
    }
}

/// Drops events (for sessions whose store is gone).
struct NullSink;

impl EventSink for NullSink {
    fn event(&mut self, _event: Event<'_>) {}
}

/// The connect window's tabs.
pub struct ClientTabs {
    pub open: bool,
    /// Never empty.
    pub tabs: Vec<ClientPanel>,
    pub current: usize,
    next_number: u32,
    /// Sessions replaced or closed, still sending their last events.
    retiring: Vec<Session>,
    /// The store holds the tabs' sessions (not a file or a capture).
    pub feeding_store: bool,
}

impl Default for ClientTabs {
    fn default() -> Self {
        ClientTabs {
            open: false,
            tabs: vec![ClientPanel::default()],
            current: 0,
            next_number: 2,
            retiring: Vec::new(),
            feeding_store: false,
        }
    }
}

impl ClientTabs {
    pub fn current(&self) -> &ClientPanel {
        let i = self.current.min(self.tabs.len().saturating_sub(1));
        &self.tabs[i]
    }

    pub fn current_mut(&mut self) -> &mut ClientPanel {
        self.current = self.current.min(self.tabs.len().saturating_sub(1));
        &mut self.tabs[self.current]
    }

    /// Opens a new tab with the current tab's request settings (not its session) and makes
    /// it current.
    pub fn add(&mut self) {
        let template = self.current();
        let tab = ClientPanel {
            number: self.next_number,
            ..template.fresh_copy()
        };
        self.next_number += 1;
        self.tabs.push(tab);
        self.current = self.tabs.len() - 1;
    }

    /// Closes tab `i` (ending its session); the last tab is replaced by an empty one.
    pub fn close(&mut self, i: usize) {
        if i >= self.tabs.len() {
            return;
        }
        let mut tab = self.tabs.remove(i);
        self.retire(&mut tab);
        if let Some(recording) = tab.recording.take() {
            let _ = std::fs::remove_file(recording);
        }
        if self.tabs.is_empty() {
            self.tabs.push(ClientPanel {
                number: self.next_number,
                ..ClientPanel::default()
            });
            self.next_number += 1;
        }
        if self.current >= i && self.current > 0 {
            self.current -= 1;
        }
    }

    /// Ends a tab's session; its last events still reach the store.
    fn retire(&mut self, tab: &mut ClientPanel) {
        if let Some(session) = tab.session.take() {
            session.client.abort();
            self.retiring.push(session);
        }
    }

    /// Ends every session because the store is being replaced: their connections are gone.
    pub fn end_all(&mut self) {
        let mut sessions: Vec<Session> = self.tabs.iter_mut().filter_map(|t| t.session.take()).collect();
        for tab in &mut self.tabs {
            tab.conns.clear();
        }
        self.retiring.append(&mut sessions);
        for s in &mut self.retiring {
            s.client.abort();
            s.orphaned = true;
        }
        self.feeding_store = false;
    }

    /// Sessions not yet over.
    pub fn running(&self) -> impl Iterator<Item = &ClientPanel> {
        self.tabs
            .iter()
            .filter(|t| t.session.as_ref().is_some_and(|s| !s.client.state().is_finished()))
    }

    /// True while some session may still send events.
    pub fn is_feeding(&self) -> bool {
        self.tabs.iter().filter_map(|t| t.session.as_ref()).any(|s| !s.done) || !self.retiring.is_empty()
    }

    /// Takes in the sessions' events until `deadline`. Returns true if more may be waiting.
    pub fn drain(&mut self, store: &mut Store, deadline: Instant) -> bool {
        let mut more = false;
        for tab in &mut self.tabs {
            if let Some(session) = &mut tab.session {
                let (new, pending) = session.drain(store, deadline);
                tab.conns.extend(new);
                more |= pending;
            }
        }
        for session in &mut self.retiring {
            more |= session.drain(store, deadline).1;
        }
        // Dropping a finished session joins a thread that has already ended.
        self.retiring.retain(|s| !s.done);
        more
    }
}

/// Most entries kept in a tab's send history.
const HISTORY_LEN: usize = 50;

impl FramescopeApp {
    /// Connects the current tab with its settings. The first session replaces what is loaded;
    /// later ones join it, each connection in its own rows.
    pub fn connect_client(&mut self) {
        let options = match self.clients.current().options() {
            Ok(o) => o,
            Err(e) => {
                self.clients.current_mut().error = Some(e);
                return;
            }
        };
        let mut tab = std::mem::take(self.clients.current_mut());
        self.clients.retire(&mut tab);
        tab.error = None;
        tab.end_reported = false;
        let url = tab.shown_url();
        if !self.clients.feeding_store {
            self.feed = None;
            self.reset_for_live_source(Source::ClientSession);
            self.clients.feeding_store = true;
        }
        // Every session is recorded to a temporary pcapng, kept until the tab's next one,
        // the tab's closing, or exit.
        if let Some(old) = tab.recording.take() {
            let _ = std::fs::remove_file(old);
        }
        let record_to = crate::capture::recordings::new_path(&self.guard.dir, "session");
        let recording = match crate::live::recorder::open_recording(&record_to) {
            Ok(r) => Some(r),
            Err(e) => {
                tab.error = Some(format!("not recording ({}: {e})", record_to.display()));
                None
            }
        };
        let recorded = recording.is_some();
        let session = SessionOptions {
            heartbeat: tab.heartbeat(),
            reconnect: tab.reconnect(),
            secrets: if tab.record_secrets {
                Vec::new()
            } else {
                tab.secret_headers
                    .iter()
                    .map(|(_, v)| v.trim().to_owned())
                    .chain(options.target.basic_authorization())
                    .collect()
            },
            recording,
        };
        let (feed, sink) = Feed::client_session(self.wake.clone());
        match LiveClient::start(options, session, sink, self.wake.clone()) {
            Ok(client) => {
                tab.recording = recorded.then_some(record_to);
                tab.session = Some(Session::new(client, feed));
                let line = StatusLine {
                    text: format!("connecting to {url}"),
                    is_error: false,
                };
                tab.connecting_line = Some(line.clone());
                self.status = Some(line);
            }
            Err(e) => tab.error = Some(format!("cannot start the connection: {e}")),
        }
        *self.clients.current_mut() = tab;
    }

    /// Connects to each URL in a tab of its own (the command line's `--connect`).
    pub fn connect_urls(&mut self, urls: Vec<String>) {
        for url in urls {
            self.use_fresh_tab();
            self.clients.current_mut().url = url;
            self.connect_client();
        }
    }

    /// Connects with a saved profile in a tab of its own (the command line's `--profile`).
    pub fn connect_profile(&mut self, name: &str) -> Result<(), String> {
        let profile = self
            .settings
            .profiles
            .iter()
            .find(|p| p.name == name)
            .cloned()
            .ok_or_else(|| {
                let known: Vec<&str> = self.settings.profiles.iter().map(|p| p.name.as_str()).collect();
                format!("no saved profile named '{name}' (saved: {})", known.join(", "))
            })?;
        self.use_fresh_tab();
        self.clients.current_mut().apply_profile(&profile);
        self.connect_client();
        Ok(())
    }

    /// Opens the window on a tab that has no session yet (the current one if it is unused).
    fn use_fresh_tab(&mut self) {
        self.clients.open = true;
        if self.clients.current().session.is_some() {
            self.clients.add();
        }
    }

    /// Sends what the current tab's composer holds.
    pub fn send_composed(&mut self) {
        let tab = self.clients.current_mut();
        let command = match tab.compose() {
            Ok(c) => c,
            // A message typed wrong is shown next to Send as you type; a file that cannot be
            // read is only known now.
            Err(e) => {
                if tab.kind == crate::live::compose::ComposeKind::File {
                    tab.error = Some(e);
                }
                return;
            }
        };
        let sent = tab.session.as_ref().is_some_and(|s| s.client.send(command));
        if !sent {
            tab.error = Some("not connected".to_owned());
            return;
        }
        tab.error = None;
        let entry = (tab.kind, tab.text.clone());
        if !matches!(entry.0, ComposeKind::Close) && tab.history.last() != Some(&entry) {
            tab.history.push(entry);
            if tab.history.len() > HISTORY_LEN {
                tab.history.remove(0);
            }
        }
    }

    /// Puts each session's opening and end in the status bar (the end once).
    pub(crate) fn report_client_states(&mut self) {
        for tab in &mut self.clients.tabs {
            if tab.end_reported {
                continue;
            }
            let Some(state) = tab.state() else {
                continue;
            };
            match state {
                ClientState::Open { peer, .. }
                    if tab.connecting_line.is_some() && self.model.status == tab.connecting_line =>
                {
                    tab.connecting_line = None;
                    self.model.status = Some(StatusLine {
                        text: format!("connected to {} ({peer})", tab.shown_url()),
                        is_error: false,
                    });
                }
                ClientState::Closed(why) | ClientState::Failed(why) => {
                    tab.end_reported = true;
                    self.model.status = Some(StatusLine {
                        text: format!("Tab {}: {}: {why}", tab.number, tab.shown_url()),
                        is_error: matches!(tab.state(), Some(ClientState::Failed(_))),
                    });
                }
                _ => {}
            }
        }
    }

    /// The temporary recording of tab `i`'s last session.
    pub(crate) fn session_recording(&self, i: usize) -> Option<PathBuf> {
        self.clients.tabs.get(i).and_then(|t| t.recording.clone())
    }
}
