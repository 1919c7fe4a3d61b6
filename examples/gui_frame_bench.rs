//! Frame times of the window with a big capture loaded, and the process's memory.
//!
//! usage: gui_frame_bench [--accesskit] CAPTURE [FRAMES]
//!        gui_frame_bench --first-results CAPTURE
//!
//! `--first-results` opens the file as the window does (loader thread) and reports how long
//! until the first connection and the first message are on screen.
//!
//! Loads the capture into the store (as the loader thread would), then drives the real app
//! at 1600×1000 with the message table and the timeline visible, through a bare
//! `egui::Context` fed input events as eframe feeds it: each frame presses PageDown
//! (selection and table scroll move) and every fourth frame zooms or pans the timeline. A
//! frame is the egui pass (all panes laid out) plus tessellation; the GPU upload is not
//! included. Prints p50/p95/p99/max and peak memory against the file size. Then sorts the
//! table by size (a header click), applies a display filter, and scrolls the sorted,
//! filtered table again: the time of each of those frames and the scrolling p99.
//!
//! AccessKit (the accessibility tree) is off, as in the window until a screen reader asks
//! for it (eframe enables it on the reader's first request); `--accesskit` turns it on to
//! measure what a screen reader's user pays. (egui_kittest always turns it on, which is why
//! this bench does not use it.)

use std::sync::Arc;
use std::time::Instant;

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
    let mut window = Window::new(app, false);
    let (mut first_conn, mut first_msg) = (None, None);
    while (first_conn.is_none() || first_msg.is_none()) && started.elapsed().as_secs() < 30 {
        window.step(Vec::new());
        let app = &window.app;
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

/// The app in a bare egui context of 1600×1000 points, stepped as eframe steps it.
struct Window {
    ctx: egui::Context,
    app: FramescopeApp,
    started: Instant,
}

impl Window {
    fn new(app: FramescopeApp, accesskit: bool) -> Self {
        let ctx = egui::Context::default();
        if accesskit {
            ctx.enable_accesskit();
        }
        Window {
            ctx,
            app,
            started: Instant::now(),
        }
    }

    /// One frame with these input events: the egui pass and tessellation; its time in ms.
    fn step(&mut self, events: Vec<egui::Event>) -> f64 {
        let input = egui::RawInput {
            screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1600.0, 1000.0))),
            time: Some(self.started.elapsed().as_secs_f64()),
            events,
            ..Default::default()
        };
        let t = Instant::now();
        let app = &mut self.app;
        let output = self.ctx.run_ui(input, |ui| app.show(ui));
        let primitives = self.ctx.tessellate(output.shapes, output.pixels_per_point);
        std::hint::black_box(primitives.len());
        t.elapsed().as_secs_f64() * 1000.0
    }
}

fn key(key: egui::Key, pressed: bool) -> egui::Event {
    egui::Event::Key {
        key,
        physical_key: None,
        pressed,
        repeat: false,
        modifiers: egui::Modifiers::NONE,
    }
}

/// Steps `frames` frames pressing PageDown, zooming or panning the timeline every fourth;
/// returns each frame's time in ms.
fn scroll_frames(window: &mut Window, frames: usize) -> Vec<f64> {
    let plot_at = egui::pos2(600.0, 900.0);
    let mut times = Vec::with_capacity(frames);
    for i in 0..frames {
        let mut events = vec![key(egui::Key::PageDown, true), key(egui::Key::PageDown, false)];
        if i % 4 == 0 {
            events.push(egui::Event::PointerMoved(plot_at));
            let (delta, modifiers) = if i % 8 == 0 {
                (egui::vec2(0.0, 40.0), egui::Modifiers::CTRL)
            } else {
                (egui::vec2(25.0, 0.0), egui::Modifiers::NONE)
            };
            events.push(egui::Event::MouseWheel {
                unit: egui::MouseWheelUnit::Point,
                delta,
                phase: egui::TouchPhase::Move,
                modifiers,
                source: egui::MouseWheelSource::Wheel,
            });
        }
        times.push(window.step(events));
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
    let accesskit = args.iter().any(|a| a == "--accesskit");
    let rest: Vec<&String> = args.iter().skip(1).filter(|a| *a != "--accesskit").collect();
    let path = std::path::PathBuf::from(
        rest.first()
            .expect("usage: gui_frame_bench [--accesskit] CAPTURE [FRAMES]"),
    );
    let frames: usize = rest.get(1).and_then(|s| s.parse().ok()).unwrap_or(300);
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
    let mut window = Window::new(app, accesskit);
    // Warm-up: the first frames build the filtered view and the plot caches.
    let warm = Instant::now();
    window.step(Vec::new());
    window.step(Vec::new());
    println!(
        "first frames (filtered view and plot caches built): {:.1} ms",
        warm.elapsed().as_secs_f64() * 1000.0
    );
    let tree = if accesskit { ", AccessKit on" } else { "" };

    let before = window.app.selection.message;
    let all = scroll_frames(&mut window, frames);
    println!(
        "{frames} frames{tree}: {} (selection moved from message {before:?} to {:?})",
        summary(all),
        window.app.selection.message
    );

    // A header click sorts every row; the click's frame queues the sort and the next
    // frame's refresh sorts.
    window.app.push(framescope::gui::commands::Command::SortBy(
        framescope::store::sort::SortColumn::DecodedBytes,
    ));
    window.step(Vec::new());
    let sorting = window.step(Vec::new());
    println!(
        "sort {} rows by size: {sorting:.1} ms (the frame that sorts)",
        window.app.view.shown().len(),
    );
    window.app.push(framescope::gui::commands::Command::SetDisplayFilter(
        "dir == s2c && len > 64".to_owned(),
    ));
    window.step(Vec::new());
    // The filter runs a budget per frame (the window stays responsive); count the frames and
    // the slowest one until every message is examined and the rows are sorted.
    let t = Instant::now();
    let (mut frames_filtering, mut slowest) = (0, 0.0f64);
    loop {
        slowest = slowest.max(window.step(Vec::new()));
        frames_filtering += 1;
        let app = &window.app;
        if !app.view.scanning(&app.store) || frames_filtering > 10_000 {
            break;
        }
    }
    println!(
        "display filter `dir == s2c && len > 64` over {} messages: {:.1} ms in {frames_filtering} frames (slowest {slowest:.1} ms), {} shown, sorted",
        window.app.store.messages.len(),
        t.elapsed().as_secs_f64() * 1000.0,
        window.app.view.shown().len()
    );
    let before = window.app.selection.message;
    let sorted = scroll_frames(&mut window, frames);
    println!(
        "{frames} frames, sorted and filtered{tree}: {} (selection moved from message {before:?} to {:?})",
        summary(sorted),
        window.app.selection.message
    );
    let peak_kb = status_kb("VmHWM:");
    println!(
        "peak memory {:.0} MB for a {:.0} MB capture ({:.2}x)",
        peak_kb as f64 / 1024.0,
        file_len as f64 / 1e6 / 1.048576,
        peak_kb as f64 * 1024.0 / file_len as f64
    );
}
