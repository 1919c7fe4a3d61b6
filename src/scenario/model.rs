//! The scenario file's types (RON through serde). Every struct refuses unknown fields, so a
//! misspelt option is an error with its line and column instead of a check silently skipped.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A whole scenario file.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default)]
    pub name: String,
    /// The default server: clients without a `url`, or with a relative one (`/path`,
    /// `?query`), use it. `--url` replaces it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Variables set before the first step (`${name}` in later steps).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vars: BTreeMap<String, Value>,
    /// Default time limit of connects and expectations, in milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    pub clients: BTreeMap<String, ClientSpec>,
    pub steps: Vec<Step>,
}

pub fn default_timeout_ms() -> u64 {
    2000
}

/// How one named client connects.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSpec {
    /// `ws://…`/`wss://…` (this server, whatever `--url` says), `/path` or `?query` (on the
    /// default server), or nothing (the default server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Sent like headers, never printed: blanked in reports and in the recording.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secret_headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subprotocols: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// Accept any TLS certificate.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
    /// Extra certificate authorities (PEM) to trust for wss://.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
}

/// One step. Struct variants are written `Send(client: "a", text: "hi")`.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub enum Step {
    Connect(ConnectStep),
    Send(SendStep),
    /// Send a close frame and expect the server's close frame back.
    Close(CloseStep),
    Expect(ExpectStep),
    /// The server closes with a close frame (with this code).
    ExpectClose(ExpectCloseStep),
    /// No data message (and no close) for a while.
    ExpectSilence(SilenceStep),
    /// The connection is lost without a close frame.
    ExpectDrop(DropStep),
    Sleep(SleepStep),
    /// Drop the TCP connection without a close frame.
    Disconnect(ClientStep),
    /// Drop the connection (if open) and connect again: a new connection in the recording.
    Reconnect(ClientStep),
    Set(SetStep),
    Repeat(RepeatStep),
    /// Run these steps at the same time; each may be a `Group` of steps run in order.
    Parallel(ParallelStep),
    /// Named steps run in order; a failure skips the rest of the group only.
    Group(GroupStep),
    /// A named measurement's statistic against a limit.
    Timing(TimingStep),
    /// Virtual clients putting load on the server (`framescope load`'s engine), with
    /// thresholds on its latency percentiles, error count and throughput.
    Load(LoadStep),
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectStep {
    pub client: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The upgrade must be refused with this HTTP status instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_ms: Option<u64>,
    /// Record the time the connection took (TCP, TLS, upgrade) under this measurement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measure: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SendStep {
    pub client: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_hex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_base64: Option<String>,
    /// A ping with this payload (text, ≤ 125 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ping: Option<String>,
    /// An application message built by framescope: `app: MqttPublish(topic: "t", qos: 1,
    /// packet_id: 1)`, `app: SocketIoEmit(event: "chat", args: ["hi"])` (`live::app_send`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<crate::live::app_send::AppSend>,
    /// Start (or restart) the named timer when the message has been sent; an `Expect` with
    /// `measure` of the same name records the time from here to its message's arrival.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CloseStep {
    pub client: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default = "normal_closure")]
    pub code: u16,
    #[serde(default)]
    pub reason: String,
    /// The server's close frame must carry this code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_ms: Option<u64>,
}

fn normal_closure() -> u16 {
    1000
}

/// Which kind of message an expectation takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub enum MsgKind {
    Text,
    Binary,
    /// Text that parses as JSON.
    Json,
    /// Control frames are skipped by other expectations; these match them.
    Ping,
    Pong,
}

/// A comparison of one JSON field (`fields: {"seq": Gt(3)}`).
#[derive(Clone, Debug, Deserialize, Serialize)]
pub enum Cmp {
    Eq(Value),
    Ne(Value),
    Lt(Value),
    Le(Value),
    Gt(Value),
    Ge(Value),
    /// A string field matching this regular expression.
    Matches(String),
    /// A string containing this text, or an array containing this value.
    Contains(Value),
    OneOf(Vec<Value>),
    Exists,
    Absent,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectStep {
    pub client: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// false: the next message must match. true: messages that do not match are skipped
    /// until one does (they are listed if none does).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub any: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<MsgKind>,
    /// The whole text, exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    /// JSON that must be contained in the message (objects may have more keys), or with
    /// `exact` equal to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<Value>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exact: bool,
    /// JSON paths left out of the `json` comparison (ids, times).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, Cmp>,
    /// A JSON Schema the message must validate against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_hex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_base64: Option<String>,
    /// Variable ← source: a JSON path (`seq`, `user.id`, `items[0]`), `$text` (the whole
    /// text), `$1`… (a `regex` group).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub capture: BTreeMap<String, String>,
    /// Record the time from the last `timer` of this name to the message's arrival.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measure: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectCloseStep {
    pub client: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Data messages before the close are allowed (and listed if the close does not come).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub any: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_ms: Option<u64>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SilenceStep {
    pub client: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub for_ms: u64,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DropStep {
    pub client: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_ms: Option<u64>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SleepStep {
    pub ms: u64,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClientStep {
    pub client: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SetStep {
    pub var: String,
    pub value: Value,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RepeatStep {
    pub times: u32,
    /// The iteration number (from 1) is this variable.
    #[serde(default = "default_repeat_var")]
    pub var: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub steps: Vec<Step>,
}

fn default_repeat_var() -> String {
    "i".to_owned()
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ParallelStep {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub steps: Vec<Step>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GroupStep {
    pub name: String,
    pub steps: Vec<Step>,
}

/// A statistic of a measurement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub enum Stat {
    Min,
    Mean,
    P50,
    P90,
    P95,
    P99,
    Max,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TimingStep {
    pub measure: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub stat: Stat,
    /// The statistic must be below this many milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below_ms: Option<f64>,
    /// … and at least this many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least_ms: Option<f64>,
    /// Fewer samples than this fail the step (a check over too few messages proves little).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_samples: Option<u64>,
}

impl Stat {
    pub fn label(self) -> &'static str {
        match self {
            Stat::Min => "min",
            Stat::Mean => "mean",
            Stat::P50 => "p50",
            Stat::P90 => "p90",
            Stat::P95 => "p95",
            Stat::P99 => "p99",
            Stat::Max => "max",
        }
    }
}

/// A load test inside a scenario: `connections` virtual clients (opened over `ramp_up_ms`)
/// each sending `rate` messages a second for `duration_ms`, replies matched as `mode` says.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LoadStep {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Absolute, or relative to the scenario's URL (`/echo`); the scenario's URL if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub connections: usize,
    #[serde(default)]
    pub ramp_up_ms: u64,
    pub duration_ms: u64,
    /// Messages per second per connection (0: connect and hold only).
    #[serde(default)]
    pub rate: f64,
    /// Bytes per message.
    #[serde(default = "default_load_size")]
    pub size: usize,
    /// Connections closed and reopened per second over the whole run.
    #[serde(default)]
    pub churn: f64,
    #[serde(default)]
    pub mode: LoadMode,
    /// Each must hold, or the step fails.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thresholds: Vec<LoadThreshold>,
    /// More errors (refused, timeouts, closes) than this fail the step.
    #[serde(default)]
    pub max_errors: u64,
    /// Fewer replies a second than this fail the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_messages_per_second: Option<f64>,
}

pub fn default_load_size() -> usize {
    64
}

/// How a load step matches replies (see `load::Mode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum LoadMode {
    #[default]
    Echo,
    Reqresp,
}

/// What a load threshold measures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum LoadMeasure {
    /// Message round trips.
    #[default]
    RoundTrip,
    Connect,
    Handshake,
}

/// `stat` of `measure` must be below `below_ms`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LoadThreshold {
    #[serde(default)]
    pub measure: LoadMeasure,
    /// One of P50, P90, P95, P99, Max (what the load histograms give).
    pub stat: Stat,
    pub below_ms: f64,
}
