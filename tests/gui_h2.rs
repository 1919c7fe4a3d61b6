//! The window on WebSockets inside HTTP/2 (the h2c Hypercorn capture): each RFC 8441 stream
//! is a row of its own marked with its stream, and the handshake pane shows the extended
//! CONNECT's header lists with the RFC 8441 checklist instead of the accept walkthrough.

mod common;

use common::gui::{loaded, sample};
use egui_kittest::kittest::Queryable;

#[test]
fn each_h2_stream_is_a_connection_row_and_its_connect_headers_show() {
    let mut harness = loaded(&sample("h2c-hypercorn-two-websockets-and-get.pcap"));
    let server = harness.state().store.connections[0].info.server;
    harness.get_by_label(&format!("{server} h2 #1"));
    harness.get_by_label(&format!("{server} h2 #3")).click();
    harness.run_steps(3);
    assert_eq!(harness.state().selection.conn, Some(1));
    harness.get_by_label("Handshake").click();
    harness.run_steps(3);
    harness.get_by_label("CONNECT request HEADERS (client to server)");
    harness.get_by_label(":method: CONNECT");
    harness.get_by_label(":protocol: websocket");
    harness.get_by_label(":path: /ws?stream=b");
    harness.get_by_label("sec-websocket-version: 13");
    harness.get_by_label(":status: 200");
    harness.get_by_label("none over HTTP/2 (RFC 8441 §5)");
    harness.get_by_label("RFC 8441 §4-5 checklist");
    assert!(harness.query_by_label("FAIL").is_none());
    assert_eq!(harness.get_all_by_label("pass").count(), 4);
}
