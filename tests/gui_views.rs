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
    harness.state_mut().lower_tab = LowerTab::Plots;
    harness.state_mut().plot_tab = tab;
    harness.run_steps(3);
}

fn transform(harness: &Harness, lane: PlotLane) -> PlotTransform {
    *harness
        .state()
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
    assert_eq!(harness.state().plots.timeline.lanes[0][0].x, t_first);
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
    let rates = harness.state().plots.throughput.rates.clone();
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
