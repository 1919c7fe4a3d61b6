//! Tests of `plots`.
use super::*;

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
    let blocks = blocks_of(&points);
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
