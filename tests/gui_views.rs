//! The plots and the frame anatomy driven like a user would (issue 13): lanes that line up,
//! clicks on plot points that select their messages, and the anatomy of every frame of a
//! fragmented compressed message.

mod common;

use egui_kittest::kittest::Queryable;
use egui_plot::{PlotPoint, PlotTransform};
use framescope::analysis::event::Direction;
use framescope::analysis::ws::frame::OpCode;
use framescope::gui::FramescopeApp;
use framescope::gui::app::{LowerTab, PlotTab};
use framescope::gui::panes::plots::PlotLane;

use common::gui::{loaded, sample};

type Harness = egui_kittest::Harness<'static, FramescopeApp>;

fn show_plot(harness: &mut Harness, tab: PlotTab) {
    harness.state_mut().panes.lower.tab = LowerTab::Plots;
    harness.state_mut().panes.lower.plot_tab = tab;
    harness.run_steps(3);
}

fn transform(harness: &Harness, lane: PlotLane) -> PlotTransform {
    *harness
        .state()
        .panes
        .lower
        .plots
        .transform(lane)
        .unwrap_or_else(|| panic!("{lane:?} was drawn"))
}

/// Screen x of time `t` (seconds since the capture's start) in a lane.
fn x_of(t: &PlotTransform, secs: f64) -> f32 {
    t.position_from_point(&PlotPoint::new(secs, 0.0)).x
}

fn click_at(harness: &mut Harness, pos: egui::Pos2) {
    harness.hover_at(pos);
    harness.run_steps(1);
    harness.drag_at(pos);
    harness.run_steps(1);
    harness.drop_at(pos);
    harness.run_steps(3);
}

/// Seconds from the capture's start, the table's time origin.
fn since_start(harness: &Harness, ts: framescope::analysis::Timestamp) -> f64 {
    let start = harness.state().store.capture_start().expect("capture start");
    ts.millis_since(start) / 1000.0
}

#[test]
fn every_lane_puts_the_same_time_at_the_same_x_and_zooms_together() {
    let mut harness = loaded(&sample("synthetic-three-connections-rtt.pcap"));
    show_plot(&mut harness, PlotTab::Timeline);
    let c2s = transform(&harness, PlotLane::ClientToServer);
    let s2c = transform(&harness, PlotLane::ServerToClient);
    // The first message is at 1 s in the table (the connection opened at 0): the plots
    // start at the capture's start too, not at the first message.
    let first = harness.state().store.messages[0].clone();
    let t_first = since_start(&harness, first.ts);
    assert!((t_first - 1.0).abs() < 1e-6, "{t_first}");
    assert_eq!(harness.state().panes.lower.plots.timeline.lanes[0][0].x, t_first);
    let last = harness.state().store.messages.last().expect("messages").ts;
    let t_last = since_start(&harness, last);
    for t in [0.0, t_first, 10.0, t_last] {
        assert!(
            (x_of(&c2s, t) - x_of(&s2c, t)).abs() < 0.01,
            "t = {t}: c2s at {}, s2c at {}",
            x_of(&c2s, t),
            x_of(&s2c, t)
        );
    }
    assert!(x_of(&c2s, 0.0) < x_of(&c2s, t_first) && x_of(&c2s, t_first) < x_of(&c2s, t_last));
    // The same x in the RTT and throughput lanes (one linked axis, one y-axis width).
    let zero = x_of(&c2s, 0.0);
    let ten = x_of(&c2s, 10.0);
    show_plot(&mut harness, PlotTab::Rtt);
    let rtt = transform(&harness, PlotLane::Rtt);
    assert!((x_of(&rtt, 0.0) - zero).abs() < 0.01 && (x_of(&rtt, 10.0) - ten).abs() < 0.01);
    show_plot(&mut harness, PlotTab::Throughput);
    for lane in [PlotLane::BytesPerSecond, PlotLane::MessagesPerSecond] {
        let t = transform(&harness, lane);
        assert!(
            (x_of(&t, 0.0) - zero).abs() < 0.01 && (x_of(&t, 10.0) - ten).abs() < 0.01,
            "{lane:?}: 0 s at {} (timeline {zero})",
            x_of(&t, 0.0)
        );
    }
    // Zoom in on the client lane: the server lane follows, and so do the other plots.
    show_plot(&mut harness, PlotTab::Timeline);
    let middle = transform(&harness, PlotLane::ClientToServer).frame().center();
    harness.hover_at(middle);
    harness.run_steps(1);
    harness.event(egui::Event::Zoom(4.0));
    harness.run_steps(3);
    let c2s = transform(&harness, PlotLane::ClientToServer);
    let s2c = transform(&harness, PlotLane::ServerToClient);
    let width = |t: &PlotTransform| t.bounds().max()[0] - t.bounds().min()[0];
    assert!(
        width(&c2s) < width(&rtt) / 2.0,
        "zoomed in: {} s shown, was {} s",
        width(&c2s),
        width(&rtt)
    );
    assert_eq!(c2s.bounds().min()[0], s2c.bounds().min()[0]);
    assert_eq!(c2s.bounds().max()[0], s2c.bounds().max()[0]);
    show_plot(&mut harness, PlotTab::Rtt);
    let rtt = transform(&harness, PlotLane::Rtt);
    assert_eq!(rtt.bounds().min()[0], c2s.bounds().min()[0]);
    assert_eq!(rtt.bounds().max()[0], c2s.bounds().max()[0]);
}

#[test]
fn a_click_on_an_rtt_point_selects_its_ping() {
    let mut harness = loaded(&sample("synthetic-three-connections-rtt.pcap"));
    show_plot(&mut harness, PlotTab::Rtt);
    harness.get_by_label("58 samples");
    // The legend names each connection, above the plot.
    harness.get_by_label("connection 1");
    // Connection 1's slowest round trip (after it slowed down): a point of its own.
    let sample = *harness
        .state()
        .store
        .rtts
        .iter()
        .filter(|r| r.conn == 1)
        .max_by(|a, b| a.rtt_ms().total_cmp(&b.rtt_ms()))
        .expect("samples of connection 1");
    let rtt = transform(&harness, PlotLane::Rtt);
    let at = rtt.position_from_point(&PlotPoint::new(since_start(&harness, sample.ping_ts), sample.rtt_ms()));
    assert!(rtt.frame().contains(at), "the point is inside the plot");
    click_at(&mut harness, at);
    let selected = harness.state().selection.message.expect("a message is selected");
    let m = harness.state().store.messages[selected as usize].clone();
    assert_eq!(
        (m.opcode, m.conn, m.dir, m.ts),
        (OpCode::Ping, 1, Direction::ClientToServer, sample.ping_ts)
    );
    // And the ping's own pong is the next message of the connection the other way.
    let payload = harness.state().store.payload(&m).to_vec();
    assert!(payload.starts_with(b"ping-"), "{payload:?}");
}

#[test]
fn a_click_on_a_timeline_point_or_a_throughput_bucket_selects_its_message() {
    let mut harness = loaded(&sample("synthetic-three-connections-rtt.pcap"));
    show_plot(&mut harness, PlotTab::Timeline);
    // The largest server message: it stands alone at the top of the lane.
    let (index, row) = harness
        .state()
        .store
        .messages
        .iter()
        .enumerate()
        .filter(|(_, m)| m.dir == Direction::ServerToClient)
        .max_by_key(|(_, m)| m.len)
        .map(|(i, m)| (i as u32, m.clone()))
        .expect("server messages");
    let s2c = transform(&harness, PlotLane::ServerToClient);
    let y = framescope::gui::panes::plots::size_to_y(row.len);
    let at = s2c.position_from_point(&PlotPoint::new(since_start(&harness, row.ts), y));
    click_at(&mut harness, at);
    assert_eq!(harness.state().selection.message, Some(index));
    // A throughput bucket: its first message.
    show_plot(&mut harness, PlotTab::Throughput);
    let rates = harness.state().panes.lower.plots.throughput.rates.clone();
    let (bin, point) = rates.messages[0]
        .iter()
        .enumerate()
        .find(|(_, p)| p[1] > 0.0)
        .map(|(i, p)| (i, *p))
        .expect("a busy bucket");
    let want = rates.first[0][bin].expect("its first message");
    let lane = transform(&harness, PlotLane::MessagesPerSecond);
    click_at(
        &mut harness,
        lane.position_from_point(&PlotPoint::new(point[0], point[1])),
    );
    assert_eq!(harness.state().selection.message, Some(want));
    let m = harness.state().store.messages[want as usize].clone();
    let t = since_start(&harness, m.ts);
    assert!(
        t >= bin as f64 * rates.bin_width && t < (bin + 1) as f64 * rates.bin_width,
        "message at {t} s is in bucket {bin}"
    );
}

/// The client's TCP byte stream of the one connection of a loopback capture (in order, no
/// loss): the bytes the frames' stream offsets count in.
fn client_stream(path: &std::path::Path, client_port: u16) -> Vec<u8> {
    use framescope::analysis::link::{Decoded, LinkType, decode};
    let data = std::fs::read(path).expect("read capture");
    let capture = pcap_parser::PcapCapture::from_file(&data).expect("a pcap file");
    let link = LinkType::from_dlt(capture.header.network.0);
    let mut stream = Vec::new();
    let mut next_seq = None;
    for block in &capture.blocks {
        if let Decoded::Tcp(tcp) = decode(link, block.data)
            && tcp.src.port() == client_port
        {
            if tcp.syn {
                next_seq = Some(tcp.seq.wrapping_add(1));
                continue;
            }
            if Some(tcp.seq) == next_seq && !tcp.payload.is_empty() {
                stream.extend_from_slice(tcp.payload);
                next_seq = Some(tcp.seq.wrapping_add(tcp.payload.len() as u32));
            }
        }
    }
    stream
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
}

#[test]
fn the_anatomy_of_a_fragmented_compressed_message_shows_every_frame_on_the_wire() {
    let path = sample("python-deflate-context-takeover.pcap");
    let mut harness = common::gui::loaded_in(&path, (1400.0, 1400.0));
    harness.state_mut().panes.lower.tab = LowerTab::Anatomy;
    harness
        .state_mut()
        .push(framescope::gui::commands::Command::SelectMessage(Some(6)));
    harness.run_steps(3);
    let (row, frames, port, start) = {
        let app = harness.state();
        let row = app.store.messages[6].clone();
        let frames: Vec<_> = framescope::gui::panes::anatomy::message_frames(&app.store, &row)
            .into_iter()
            .cloned()
            .collect();
        let port = app.store.connections[0].info.client.port();
        (row, frames, port, app.store.capture_start().expect("start"))
    };
    assert!(
        row.compressed && row.frames == 5,
        "message 6 is compressed, in 5 frames"
    );
    assert_eq!(frames.len(), 5);
    let stream = client_stream(&path, port);
    harness.get_by_label_contains("Message #6: c2s text in 5 frames, compressed (permessage-deflate)");
    for (i, frame) in frames.iter().enumerate() {
        // The heading, the time and the place in the message.
        harness.get_by_label(&format!(
            "Frame {} of 5 — {} bytes on the wire at stream offset {}",
            i + 1,
            frame.header.wire_len(),
            frame.stream_offset
        ));
        let at = frame.ts.millis_since(start) / 1000.0;
        harness.get_by_label_contains(&format!("at {at:.6} s since the capture started"));
        // Every byte of the frame as it was on the wire (all are under 64 payload bytes):
        // the bytes line is the capture's own bytes at the frame's stream offset.
        let from = frame.stream_offset as usize;
        let wire = &stream[from..from + frame.header.wire_len() as usize];
        let shown: Vec<String> = wire.iter().map(|b| format!("{b:02x}")).collect();
        let labels: Vec<String> = harness
            .query_all_by_label_contains("")
            .filter_map(|n| {
                let node = egui_kittest::kittest::NodeT::accesskit_node(&n);
                node.label().or_else(|| node.value())
            })
            .collect();
        let line_at = labels
            .windows(shown.len())
            .position(|w| w == shown.as_slice())
            .unwrap_or_else(|| {
                let near: Vec<&String> = labels.iter().skip_while(|l| l.as_str() != "bytes:").take(40).collect();
                panic!("frame {} bytes {} on screen: {near:?}", i + 1, hex(wire))
            });
        assert!(line_at > 0);
        // A continuation frame names itself; only the first frame has RSV1 set.
        if i > 0 {
            assert_eq!(frame.header.opcode, OpCode::Continuation);
            assert!(!frame.header.rsv1);
        }
    }
    assert_eq!(
        harness
            .query_all_by_label("continuation of a fragmented message")
            .count(),
        4
    );
    assert!(harness.query_by_label_contains("not kept").is_none());
    // The first frame's unmasking walkthrough: the first payload bytes XOR the key give the
    // compressed bytes as sent (what the deflate walkthrough starts from).
    let key = frames[0].header.mask.expect("client frames are masked");
    harness.get_by_label("Unmasking (RFC 6455 §5.3): byte i XOR key[i mod 4]");
    let compressed = harness.state().store.compressed_payload(&row).to_vec();
    let header_len = frames[0].header.header_len as usize;
    let masked0 = stream[frames[0].stream_offset as usize + header_len];
    assert_eq!(masked0 ^ key[0], compressed[0]);
    // The other frames' walkthroughs are there too, folded.
    for i in 2..=5 {
        harness.get_by_label(&format!("Unmasking frame {i}"));
    }
    // The deflate walkthrough joins the five payloads.
    let parts: Vec<String> = frames.iter().map(|f| f.header.payload_len.to_string()).collect();
    harness.get_by_label(&format!("{} = {} bytes", parts.join(" + "), compressed.len()));
}

#[test]
fn a_ping_between_fragments_is_shown_with_its_time_and_the_pong_unmasking_shows_letters() {
    // echo-text-binary-ping-close.pcap: message 6 is "frag-mented" in two frames with a
    // ping sent between them.
    let path = sample("echo-text-binary-ping-close.pcap");
    let mut harness = common::gui::loaded_in(&path, (1400.0, 1400.0));
    harness.state_mut().panes.lower.tab = LowerTab::Anatomy;
    harness
        .state_mut()
        .push(framescope::gui::commands::Command::SelectMessage(Some(6)));
    harness.run_steps(3);
    let app = harness.state();
    let row = app.store.messages[6].clone();
    let listed = framescope::gui::panes::anatomy::frames_with_interleaved(&app.store, &row);
    let (ping_frame, at) = listed
        .iter()
        .find_map(|f| match f {
            framescope::gui::panes::anatomy::AnatomyFrame::Between(f, at) => Some(((*f).clone(), *at)),
            _ => None,
        })
        .expect("a control frame between the fragments");
    let ping_message =
        framescope::gui::panes::anatomy::control_message_of(&app.store, 6, at).expect("the ping's message");
    let ping_row = app.store.messages[ping_message as usize].clone();
    assert_eq!(ping_row.opcode, OpCode::Ping);
    let start = app.store.capture_start().expect("start");
    let at = ping_frame.ts.millis_since(start) / 1000.0;
    harness.get_by_label(&format!(
        "Between frames 1 and 2: a ping frame ({} bytes on the wire) at {at:.6} s",
        ping_frame.header.wire_len()
    ));
    // Its button selects the ping; the ping's anatomy has its own unmasking walkthrough.
    harness
        .get_by_label(&format!("show message #{ping_message}"))
        .click_accesskit();
    harness.run_steps(3);
    assert_eq!(harness.state().selection.message, Some(ping_message));
    let payload = harness.state().store.payload(&ping_row).to_vec();
    assert!(
        !payload.is_empty() && payload.iter().all(|b| b.is_ascii_graphic()),
        "{payload:?}"
    );
    harness.get_by_label(&format!("gives \"{}\"", String::from_utf8_lossy(&payload)));
    // The char column shows the letters for a control frame too (it showed "·" on every
    // row of a ping or pong): the payload is printable, so no row has a dot.
    let first = (payload[0] as char).to_string();
    assert!(harness.query_all_by_label(&first).count() >= 1);
    assert!(
        harness.query_by_label("·").is_none(),
        "every char of {payload:?} is shown"
    );
}
