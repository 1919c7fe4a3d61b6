//! Tests of `plots`.
use super::*;
use crate::analysis::event::Direction;
use crate::live::client::{SessionMark, SessionMarkKind};
use egui_plot::GridInput;

fn pts(n: u32) -> Vec<MarkPoint> {
    (0..n)
        .map(|i| MarkPoint {
            x: f64::from(i) / 1000.0,
            y: f64::from(i % 97),
            message: i,
        })
        .collect()
}

#[test]
fn decimation_keeps_two_points_per_column_with_the_extremes() {
    let points = pts(1_000_000);
    let shown = decimate(&points, 0.0, 1000.0, 800);
    assert!(shown.len() <= 1600, "{}", shown.len());
    assert!(shown.len() >= 800);
    // Every column keeps its highest point: the maximum (96) appears in every column.
    assert!(shown.iter().filter(|p| p.y == 96.0).count() >= 790);
    assert!(
        shown
            .windows(2)
            .all(|w| w[0].x <= w[1].x || (w[0].x - w[1].x).abs() < 1.25)
    );
}

#[test]
fn block_decimation_keeps_the_same_extremes_as_point_decimation() {
    let points = pts(1_000_000);
    let blocks = Summaries::of(&points);
    let exact = decimate(&points, 0.0, 1000.0, 400);
    let fast = decimate_with_blocks(&points, &blocks, 0.0, 1000.0, 400);
    assert!(fast.len() <= 800);
    let max = |v: &[MarkPoint]| v.iter().map(|p| p.y).fold(f64::MIN, f64::max);
    let min = |v: &[MarkPoint]| v.iter().map(|p| p.y).fold(f64::MAX, f64::min);
    assert_eq!((max(&fast), min(&fast)), (max(&exact), min(&exact)));
    // Every point shown is a real message point.
    assert!(fast.iter().all(|p| points[p.message as usize] == *p));
}

#[test]
fn fine_blocks_serve_tens_of_points_per_column_with_the_same_extremes() {
    // 100 000 points over 400 columns: 250 per column, under the coarse blocks' threshold.
    let points = pts(100_000);
    let blocks = Summaries::of(&points);
    assert_eq!(blocks.fine.len(), 100_000 / FINE_POINTS);
    let exact = decimate(&points, 0.0, 100.0, 400);
    let fast = decimate_with_blocks(&points, &blocks, 0.0, 100.0, 400);
    assert!(fast.len() <= 800);
    // Per column, the same lowest and highest value as decimating every point.
    let column = |p: &MarkPoint| ((p.x / 100.0) * 400.0).clamp(0.0, 399.0) as usize;
    let extremes = |v: &[MarkPoint]| {
        let mut out = vec![(f64::MAX, f64::MIN); 400];
        for p in v {
            let e = &mut out[column(p)];
            *e = (e.0.min(p.y), e.1.max(p.y));
        }
        out
    };
    assert_eq!(extremes(&fast), extremes(&exact));
    assert!(fast.iter().all(|p| points[p.message as usize] == *p));
    // Appending keeps the summaries equal to ones built from scratch.
    let mut grown = Summaries::of(&points[..99_990]);
    grown.refresh(&points);
    assert_eq!(
        (grown.fine.len(), grown.coarse.len()),
        (blocks.fine.len(), blocks.coarse.len())
    );
    assert_eq!(grown.fine.last(), blocks.fine.last());
    assert_eq!(grown.coarse.last(), blocks.coarse.last());
}

#[test]
fn decimation_returns_everything_when_zoomed_in() {
    let points = pts(10_000);
    let shown = decimate(&points, 1.0, 1.2, 800);
    assert_eq!(shown.len(), 201);
    assert_eq!(shown[0].message, 1000);
}

#[test]
fn reconnect_marks_become_gaps_and_attempts() {
    let t = |ms: i64| Timestamp::from_nanos(1_000_000_000_000 + ms * 1_000_000);
    let mark = |ms, kind| SessionMark { at: t(ms), kind };
    let marks = [
        mark(1000, SessionMarkKind::Dropped("lost".into())),
        mark(1200, SessionMarkKind::Attempt { attempt: 1, of: 3 }),
        mark(1210, SessionMarkKind::AttemptFailed("refused".into())),
        mark(1600, SessionMarkKind::Attempt { attempt: 2, of: 3 }),
        mark(1650, SessionMarkKind::Reconnected),
        mark(5000, SessionMarkKind::Dropped("lost again".into())),
        mark(5500, SessionMarkKind::Attempt { attempt: 1, of: 3 }),
    ];
    let got = reconnect_marks(&marks, t(0), t(6000));
    assert_eq!(got.gaps, vec![(1.0, 1.65), (5.0, 6.0)]);
    assert_eq!(got.attempts, vec![(1.2, true), (1.6, false), (5.5, false)]);
    let gave_up = [
        mark(0, SessionMarkKind::Dropped("lost".into())),
        mark(100, SessionMarkKind::Attempt { attempt: 1, of: 1 }),
        mark(150, SessionMarkKind::AttemptFailed("refused".into())),
        mark(150, SessionMarkKind::GaveUp),
    ];
    let got = reconnect_marks(&gave_up, t(0), t(9000));
    assert_eq!(got.gaps, vec![(0.0, 0.15)]);
    assert_eq!(got.attempts, vec![(0.1, true)]);
}

// percentiles_use_nearest_rank moved to analysis::latency with the one definition.

#[test]
fn byte_axes_read_in_binary_units() {
    assert_eq!(format_bytes(12.0), "12 B");
    assert_eq!(format_bytes(1023.0), "1023 B");
    assert_eq!(format_bytes(1024.0), "1 KiB");
    assert_eq!(format_bytes(1536.0), "1.5 KiB");
    assert_eq!(format_bytes(10.0 * 1024.0 * 1024.0), "10 MiB");
    assert_eq!(format_bytes(3.0 * 1024.0 * 1024.0 * 1024.0), "3 GiB");
    // Throughput never prints a raw "1000000000": a gigabyte per second reads in GiB/s.
    assert_eq!(format_byte_rate(1_000_000_000.0), "953.7 MiB/s");
    assert_eq!(format_byte_rate(20.0 * 1024.0), "20 KiB/s");
    assert_eq!(format_message_rate(1500.0, 500.0), "1500 msg/s");
    assert_eq!(format_message_rate(0.25, 0.05), "0.25 msg/s");
}

#[test]
fn time_ticks_switch_to_milliseconds_for_short_spans() {
    assert_eq!(format_seconds(10.0, 5.0, 20.0), "10 s");
    assert_eq!(format_seconds(0.5, 0.1, 2.0), "0.5 s");
    assert_eq!(format_seconds(0.0015, 0.0005, 0.003), "1.5 ms");
    assert_eq!(format_seconds(0.002, 0.001, 0.003), "2 ms");
    // The tick at 0 has the coarsest step of all; it still reads in the range's unit.
    assert_eq!(format_seconds(0.0, 0.01, 0.003), "0 ms");
    assert_eq!(format_seconds(0.00025, 0.00005, 0.001), "0.25 ms");
    assert_eq!(format_seconds(150.0, 10.0, 0.4), "150000 ms");
}

#[test]
fn the_size_axis_labels_exact_sizes_where_the_points_are() {
    // A 12-byte message sits between the 10 B and 100 B ticks, and every tick's label is
    // the size at that height (no "9536.7 MiB": that came from labelling 10^y of a decimal
    // grid on the log axis, with y = log10(size + 1) on the points).
    let y12 = size_to_y(12);
    assert!(size_to_y(10) < y12 && y12 < size_to_y(100));
    assert!((y_to_size(y12) - 12.0).abs() < 1e-9);
    let input = GridInput {
        bounds: (-0.15, size_to_y(70_000) + 0.3),
        // 200 points high: a decade is about 40 points.
        base_step_size: 8.0 * (size_to_y(70_000) + 0.45) / 200.0,
    };
    let marks = size_grid(input);
    let labels: Vec<String> = marks.iter().map(|m| format_bytes(y_to_size(m.value).round())).collect();
    assert_eq!(labels, ["0 B", "10 B", "100 B", "1 KiB", "10 KiB", "100 KiB"]);
    // Squeezed to 100 points (19 per decade): the decades still clear the 18-point gap.
    let labels_at = |top: u64, points: f64| -> Vec<String> {
        let base_step_size = 8.0 * (size_to_y(top) + 0.45) / points;
        let marks = size_grid(GridInput {
            bounds: (-0.15, size_to_y(top) + 0.3),
            base_step_size,
        });
        let pixels = |dy: f64| dy / base_step_size * 8.0;
        for pair in marks.windows(2) {
            assert!(
                pixels(pair[1].value - pair[0].value) >= SIZE_LABEL_GAP - 1e-9,
                "{marks:?}"
            );
        }
        // Each mark's step is its distance to the nearest one: egui_plot draws the label
        // at full strength (TIMELINE_LABEL_SPACING ends at the gap).
        assert!(
            marks.iter().all(|m| pixels(m.step_size) >= SIZE_LABEL_GAP - 1e-9),
            "{marks:?}"
        );
        marks.iter().map(|m| format_bytes(y_to_size(m.value).round())).collect()
    };
    assert_eq!(
        labels_at(70_000, 100.0),
        ["0 B", "10 B", "100 B", "1 KiB", "10 KiB", "100 KiB"]
    );
    // A short lane (45 points, the window at 1600×1000) of messages up to 116 bytes: the
    // decades would leave two labels, so 1-2-5 sizes are packed from the bottom.
    assert_eq!(labels_at(116, 45.0), ["0 B", "10 B", "200 B"]);
    // Room to spare: every 1, 2 and 5.
    assert_eq!(
        labels_at(116, 300.0),
        ["0 B", "1 B", "2 B", "5 B", "10 B", "20 B", "50 B", "100 B", "200 B"]
    );
    // Too short for three: two, still apart.
    assert_eq!(labels_at(116, 25.0).len(), 2);
    // Large sizes: binary units, never 1000 B beside 1 KiB.
    let decades = labels_at(3 << 30, 400.0);
    assert_eq!(decades.len(), 10, "0 B to 1 GiB: {decades:?}");
    let big = labels_at(3 << 30, 1200.0);
    for label in ["500 B", "1 KiB", "2 KiB", "500 MiB", "1 GiB", "2 GiB"] {
        assert!(big.iter().any(|l| l == label), "{label} in {big:?}");
    }
    assert!(!big.iter().any(|l| l == "1000 B"));
}

#[test]
fn the_byte_rate_grid_steps_in_round_binary_amounts() {
    // 0 to 50 KiB/s over 100 points: 24 points are 12 KiB/s, so the step is 20 KiB/s.
    let marks = byte_rate_grid(GridInput {
        bounds: (0.0, 50.0 * 1024.0),
        base_step_size: 8.0 * 50.0 * 1024.0 / 100.0,
    });
    let labels: Vec<String> = marks.iter().map(|m| format_byte_rate(m.value)).collect();
    assert_eq!(labels, ["0 B/s", "20 KiB/s", "40 KiB/s"]);
    // A gigabyte per second: GiB-based steps, never raw digits.
    let marks = byte_rate_grid(GridInput {
        bounds: (0.0, 1e9),
        base_step_size: 8.0 * 1e9 / 200.0,
    });
    assert!(marks.len() >= 3);
    assert!(
        marks
            .iter()
            .all(|m| format_byte_rate(m.value).ends_with("MiB/s") || m.value == 0.0)
    );
}

#[test]
fn connection_colours_depend_on_the_number_only() {
    assert_eq!(conn_color(3), conn_color(3));
    let first: Vec<_> = (0..8).map(conn_color).collect();
    for (i, a) in first.iter().enumerate() {
        for b in first.iter().skip(i + 1) {
            assert_ne!(a, b, "eight connections, eight colours");
        }
    }
}

#[test]
fn short_lanes_still_label_their_axis_and_bins_have_round_widths() {
    // RTTs up to 62 ms in a 100-point lane: ticks every 20 ms (24 points apart at least).
    let marks = number_grid(GridInput {
        bounds: (0.0, 62.0),
        base_step_size: 8.0 * 62.0 / 100.0,
    });
    let values: Vec<f64> = marks.iter().map(|m| m.value).collect();
    assert_eq!(values, [0.0, 20.0, 40.0, 60.0]);
    let close = |a: f64, b: f64| (a - b).abs() < b * 1e-9;
    assert!(close(bin_width(20.7, 345), 0.1));
    assert!(close(bin_width(0.0028, 400), 0.00001));
    assert!(close(bin_width(3.0, 2), 2.0));
}

#[test]
fn throughput_bins_count_wire_bytes_and_messages_from_the_origin() {
    use crate::analysis::event::{Event, EventSink, MessageEvent, MessageFacts};
    let t = |ms: i64| Timestamp::from_nanos(1_000_000_000_000 + ms * 1_000_000);
    let mut store = Store::default();
    for (i, (ms, dir, wire)) in [
        (150, Direction::ClientToServer, 100),
        (120, Direction::ClientToServer, 50),
        (1900, Direction::ServerToClient, 2000),
    ]
    .into_iter()
    .enumerate()
    {
        let facts = MessageFacts {
            conn: 0,
            dir,
            ts: t(ms),
            first_ts: t(ms),
            opcode: OpCode::Text,
            frames: 1,
            compressed: false,
            wire_len: wire,
            len: wire - 6,
            truncated: false,
            decoded: true,
            close_code: None,
            stream_offset: i as u64 * 1000,
        };
        store.event(Event::Message(&MessageEvent {
            facts,
            payload: b"x",
            compressed_payload: None,
        }));
    }
    // Two seconds from the origin in at most 10 bins: 0.2 s each.
    let got = throughput(&store, &[0, 1, 2], t(0), 2.0, 10);
    assert!((got.bin_width - 0.2).abs() < 1e-12);
    assert_eq!(got.bytes[0].len(), 10);
    // Both client messages in bin 0 (0-0.2 s): 150 bytes, 2 messages in 0.2 s.
    assert!((got.bytes[0][0][1] - 750.0).abs() < 1e-9);
    assert!((got.messages[0][0][1] - 10.0).abs() < 1e-9);
    assert!((got.bytes[0][0][0] - 0.1).abs() < 1e-9, "plotted at the bin's centre");
    // The earlier of the two is the bin's first message.
    assert_eq!(got.first[0][0], Some(1));
    assert_eq!(got.first[1][9], Some(2));
    assert!((got.bytes[1][9][1] - 10_000.0).abs() < 1e-9);
    assert_eq!(got.first[1][0], None);
}

#[test]
fn the_range_follows_growing_data_until_the_user_zooms_and_again_after_a_reset() {
    let mut follow = FollowRange::default();
    // First frame: the plot shows its default, the whole range.
    assert_eq!(follow.x_range((-0.02, 1.02), (-0.02, 1.02)), None);
    // A live session's data grows: the range is widened to it.
    assert_eq!(follow.x_range((-0.02, 1.02), (-0.04, 2.04)), Some((-0.04, 2.04)));
    assert_eq!(follow.x_range((-0.04, 2.04), (-0.06, 3.06)), Some((-0.06, 3.06)));
    // The user zooms in: the range is left alone while data keeps coming.
    assert_eq!(follow.x_range((0.5, 1.0), (-0.08, 4.08)), None);
    assert_eq!(follow.x_range((0.5, 1.0), (-0.1, 5.1)), None);
    // A double-click puts the plot back to the whole range: it follows again.
    assert_eq!(follow.x_range((-0.1, 5.1), (-0.1, 5.1)), None);
    assert_eq!(follow.x_range((-0.1, 5.1), (-0.12, 6.12)), Some((-0.12, 6.12)));
}
