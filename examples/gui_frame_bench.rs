//! Frame times of the window with a big capture loaded, and the process's memory.
//!
//! usage: gui_frame_bench CAPTURE [FRAMES]
//!        gui_frame_bench --first-results CAPTURE
//!
//! `--first-results` opens the file as the window does (loader thread) and reports how long
//! until the first connection and the first message are on screen.
//!
//! Loads the capture into the store (as the loader thread would), then drives the real app
//! through egui_kittest at 1600×1000 with the message table and the timeline visible: each
//! frame presses PageDown (selection and table scroll move) and every fourth frame zooms or
//! pans the timeline. A frame is the egui pass (all panes laid out) plus tessellation; the
//! GPU upload is not included. Prints p50/p95/p99/max and peak memory against the file size.
//! Then sorts the table by size (a header click), applies a display filter, and scrolls the
//! sorted, filtered table again: the time of each of those frames and the scrolling p99.

use std::sync::Arc;
use std::time::Instant;

use egui_kittest::Harness;
use framescope::analysis::{Analyzer, AnalyzerConfig};
use framescope::capture::OfflineReader;
use framescope::gui::FramescopeApp;
use framescope::gui::settings::Settings;
use framescope::store::Store;

fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Opens `path` through the real loader and steps the UI until something shows.
fn first_results(path: &std::path::Path) {
    let mut app = FramescopeApp::new(Settings::default(), Arc::new(|| {}));
    let started = Instant::now();
    app.open(path.to_owned());
    let mut harness = Harness::builder()
        .with_size((1600.0, 1000.0))
        .build_ui_state(|ui, app: &mut FramescopeApp| app.show(ui), app);
    let (mut first_conn, mut first_msg) = (None, None);
    while (first_conn.is_none() || first_msg.is_none()) && started.elapsed().as_secs() < 30 {
        harness.step();
        let app = harness.state();
        if first_conn.is_none() && !app.store.connections.is_empty() {
            first_conn = Some(started.elapsed());
        }
        if first_msg.is_none() && !app.view.rows.is_empty() {
            first_msg = Some(started.elapsed());
        }
    }
    let ms = |d: Option<std::time::Duration>| {
        d.map_or("never".to_owned(), |d| format!("{:.0} ms", d.as_secs_f64() * 1000.0))
    };
    println!(
        "first connection on screen after {}, first message after {}",
        ms(first_conn),
        ms(first_msg)
    );
}

/// Steps `frames` frames pressing PageDown, zooming or panning the timeline every fourth;
/// returns each frame's time in ms.
fn scroll_frames(harness: &mut Harness<'_, FramescopeApp>, frames: usize) -> Vec<f64> {
    let plot_at = egui::pos2(600.0, 900.0);
    let mut times = Vec::with_capacity(frames);
    for i in 0..frames {
        harness.key_press(egui::Key::PageDown);
        if i % 4 == 0 {
            harness.hover_at(plot_at);
            let delta = if i % 8 == 0 {
                egui::vec2(0.0, 40.0)
            } else {
                egui::vec2(25.0, 0.0)
            };
            harness.event(egui::Event::MouseWheel {
                unit: egui::MouseWheelUnit::Point,
                delta,
                phase: egui::TouchPhase::Move,
                modifiers: if i % 8 == 0 {
                    egui::Modifiers::CTRL
                } else {
                    egui::Modifiers::NONE
                },
                source: egui::MouseWheelSource::Wheel,
            });
        }
        let t = Instant::now();
        harness.step();
        let output = harness.output().clone();
        let primitives = harness.ctx.tessellate(output.shapes, output.pixels_per_point);
        std::hint::black_box(primitives.len());
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times
}

/// p50/p95/p99/max of frame times.
fn summary(mut times: Vec<f64>) -> String {
    times.sort_by(f64::total_cmp);
    let q = |p: f64| times[((p * times.len() as f64).ceil() as usize).clamp(1, times.len()) - 1];
    format!(
        "p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        q(0.5),
        q(0.95),
        q(0.99),
        times[times.len() - 1]
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--first-results") {
        first_results(std::path::Path::new(args.get(2).expect("capture")));
        return;
    }
    let path = std::path::PathBuf::from(args.get(1).expect("usage: gui_frame_bench CAPTURE [FRAMES]"));
    let frames: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(300);
    let file_len = std::fs::metadata(&path).expect("capture").len();

    let started = Instant::now();
    let mut reader = OfflineReader::open(&path).expect("open");
    let mut analyzer = Analyzer::new(AnalyzerConfig {
        emit_frames: true,
        ..AnalyzerConfig::default()
    });
    let mut store = Store::with_payload_budget(file_len.saturating_mul(3) / 2);
    reader.run(&mut analyzer, &mut store, &mut |_| true);
    analyzer.finish(&mut store);
    let load_secs = started.elapsed().as_secs_f64();
    println!(
        "loaded {} connections, {} messages, {} frames in {load_secs:.2} s",
        store.connections.len(),
        store.messages.len(),
        store.frames.len()
    );

    let mut app = FramescopeApp::new(Settings::default(), Arc::new(|| {}));
    app.store = store;
    app.source = Some(framescope::gui::feed::Source::File(path));
    let mut harness = Harness::builder()
        .with_size((1600.0, 1000.0))
        .build_ui_state(|ui, app: &mut FramescopeApp| app.show(ui), app);
    // Warm-up: the first frames build the filtered view and the plot caches.
    let warm = Instant::now();
    harness.run_steps(2);
    println!(
        "first frames (filtered view and plot caches built): {:.1} ms",
        warm.elapsed().as_secs_f64() * 1000.0
    );

    let all = scroll_frames(&mut harness, frames);
    println!("{frames} frames: {}", summary(all));

    // A header click sorts every row; the next frame pays for it.
    harness.state_mut().push(framescope::gui::commands::Command::SortBy(
        framescope::store::sort::SortColumn::DecodedBytes,
    ));
    // The click's frame queues the sort; the next frame's refresh sorts.
    harness.step();
    let t = Instant::now();
    harness.step();
    println!(
        "sort {} rows by size: {:.1} ms (the frame that sorts)",
        harness.state().view.shown().len(),
        t.elapsed().as_secs_f64() * 1000.0
    );
    harness
        .state_mut()
        .push(framescope::gui::commands::Command::SetDisplayFilter(
            "dir == s2c && len > 64".to_owned(),
        ));
    harness.step();
    // The filter runs a budget per frame (the window stays responsive); count the frames and
    // the slowest one until every message is examined and the rows are sorted.
    let t = Instant::now();
    let (mut frames_filtering, mut slowest) = (0, 0.0f64);
    loop {
        let f = Instant::now();
        harness.step();
        slowest = slowest.max(f.elapsed().as_secs_f64() * 1000.0);
        frames_filtering += 1;
        let app = harness.state();
        if !app.view.scanning(&app.store) || frames_filtering > 10_000 {
            break;
        }
    }
    println!(
        "display filter `dir == s2c && len > 64` over {} messages: {:.1} ms in {frames_filtering} frames (slowest {slowest:.1} ms), {} shown, sorted",
        harness.state().store.messages.len(),
        t.elapsed().as_secs_f64() * 1000.0,
        harness.state().view.shown().len()
    );
    let sorted = scroll_frames(&mut harness, frames);
    println!("{frames} frames, sorted and filtered: {}", summary(sorted));
    let peak_kb = status_kb("VmHWM:");
    println!(
        "peak memory {:.0} MB for a {:.0} MB capture ({:.2}x)",
        peak_kb as f64 / 1024.0,
        file_len as f64 / 1e6 / 1.048576,
        peak_kb as f64 * 1024.0 / file_len as f64
    );
}
