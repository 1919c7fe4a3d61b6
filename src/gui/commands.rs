//! What panes ask for. Panes never act themselves: they push a `Command`, and the app runs
//! all of them once at the end of the frame.

use std::path::PathBuf;

use crate::analysis::event::ConnId;

#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Show the file dialog.
    OpenDialog,
    Open(PathBuf),
    /// Stop the file being read or the live capture (what arrived is kept).
    StopFeed,
    /// `None` shows every connection.
    SelectConnection(Option<ConnId>),
    /// An index into `Store::messages`; `None` clears the selection.
    SelectMessage(Option<u32>),
    /// Select a message and scroll the table to it.
    RevealMessage(u32),
    SavePayload(u32),
    CopyText(String),
    ToggleTheme,
    /// Show or hide the capture window.
    ToggleCaptureWindow,
    /// Show or hide the connect window (the live client).
    ToggleConnectWindow,
    /// Connect with the connect window's URL and options.
    ConnectClient,
    /// End a tab's session (a close handshake, or at once while connecting).
    Disconnect(usize),
    /// End every running live session.
    DisconnectAll,
    /// Send what the connect window's composer holds.
    SendComposed,
    /// Open a new connection tab (with the current tab's settings).
    NewClientTab,
    /// Close a connection tab, ending its session.
    CloseClientTab(usize),
    /// Make a connection tab current and scope the tables to its latest connection.
    SelectClientTab(usize),
    /// Save a tab's last session as pcapng (a file dialog asks where).
    SaveSessionRecording(usize),
    /// Pick the file the composer sends as a binary message.
    PickComposeFile,
    /// Capture on the interface and with the filter chosen in the capture window.
    StartCapture,
    /// Save the last capture's recording (a file dialog asks where).
    SaveRecording,
    /// Open the reference tables at a topic, highlighting an opcode or close code.
    ShowReference(crate::gui::panes::reference::ReferenceTopic, Option<u16>),
    /// Open a lesson of `gui::lessons::LESSONS`.
    OpenLesson(usize),
    /// Replace the display filter (and remember it among the recent filters).
    SetDisplayFilter(String),
    /// Narrow the display filter: `(current) && clause`, or the clause alone.
    NarrowDisplayFilter(String),
    /// Sort the table by a column (a second time reverses).
    SortBy(crate::store::sort::SortColumn),
    /// Mark or unmark a message (a bookmark).
    ToggleMark(u32),
    /// Go to the next (`true`) or previous marked message shown.
    JumpToMark(bool),
    /// Show a connection's messages as one transcript.
    FollowStream(ConnId),
    /// Save a connection's transcript as text (a file dialog asks where).
    SaveTranscript(ConnId),
    /// File → Quit (asks first when recordings are unsaved).
    Quit,
    /// The answer to the unsaved-recordings prompt.
    AnswerPrompt(crate::gui::guard::Answer),
    /// Open or delete a recording left by a crashed run.
    OpenOrphan(PathBuf),
    DeleteOrphan(PathBuf),
    /// Decode a connection's server and path as a protocol id (or `none`); `None` goes back
    /// to automatic recognition (`gui::decode_as`).
    DecodeAs(ConnId, Option<String>),
    /// Keep a complete "decode as" rule (the protobuf window's).
    SetDecodeRule(crate::gui::settings::DecodeRule),
    /// Open the protobuf "decode as" window for a connection.
    OpenProtoDialog(ConnId),
    /// Write the shown messages (or connections) to a file the dialog asks for.
    Export(ExportFormat),
    /// Save the packets of the shown messages' connections as pcapng, with their TLS keys
    /// (a file dialog asks where).
    ExportConnectionsPcapng,
    /// Choose the TLS key log file (a file dialog asks which).
    PickKeylog,
    /// Use this TLS key log file from now on (`None` forgets it); a loaded capture is read
    /// again with it.
    SetKeylog(Option<PathBuf>),
    /// The Scenarios and Probe panes, and "Replay against…".
    Test(crate::gui::testing::TestCommand),
    /// Replace the plain-text filter bar's state.
    SetFilter(crate::store::Filter),
    /// Change a remembered setting (panes never write the settings themselves).
    Settings(SettingsChange),
    /// Show or hide the frame builder.
    ToggleBuilder,
    /// List the capture interfaces again.
    RefreshInterfaces,
    /// Close the follow-stream window.
    CloseFollow,
    /// Close the lesson window.
    CloseLesson,
    /// Close the recovery window (the files stay for the next start).
    DismissOrphans,
}

/// A change to the remembered settings, asked for by a pane.
#[derive(Clone, Debug, PartialEq)]
pub enum SettingsChange {
    DarkMode(bool),
    TimeMode(crate::gui::settings::TimeMode),
    Columns(crate::gui::settings::Columns),
    LivePaneFloating(bool),
    /// The display filter buttons, in order.
    SavedFilters(Vec<crate::gui::settings::SavedFilter>),
    /// The saved connection profiles, in order.
    Profiles(Vec<crate::gui::settings::ConnectionProfile>),
}

/// What File → Export writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// The `analyze --jsonl` records of the shown messages.
    JsonLines,
    Csv,
    /// HAR 1.2 with Chrome's `_webSocketMessages`.
    Har,
}
