//! The plots' axes: time, byte and rate formatting, and the grid spacers that put ticks on
//! round values (1 KiB, 10 ms…) whatever the zoom.

use egui_plot::{GridInput, GridMark};

/// A tick on the time axis: milliseconds when less than half a second is shown (`span`),
/// else seconds; as many decimals as the tick spacing (`step`) needs.
pub fn format_seconds(value: f64, step: f64, span: f64) -> String {
    let decimals = |step: f64| decimals_for(step, 9);
    if span < 0.5 {
        let ms = value * 1000.0;
        format!("{ms:.*} ms", decimals(step * 1000.0))
    } else {
        format!("{value:.*} s", decimals(step))
    }
}

/// Decimals that tell apart ticks `step` apart (1 for 0.1 or 0.5, 0 for 1 or 5).
pub(super) fn decimals_for(step: f64, max: usize) -> usize {
    if step.is_nan() || step <= 0.0 || !step.is_finite() {
        return 0;
    }
    ((-step.log10() - 1e-6).ceil().max(0.0) as usize).min(max)
}

/// A time for hover text: milliseconds below 10 s, else seconds.
pub(super) fn format_time(t: f64) -> String {
    if t.abs() < 10.0 {
        format!("{:.3} ms", t * 1000.0)
    } else {
        format!("{t:.6} s")
    }
}

/// A byte count in B, KiB, MiB or GiB (binary units), one decimal past bytes.
pub fn format_bytes(bytes: f64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes.abs() < 1024.0 {
        return format!("{bytes:.0} B");
    }
    let mut value = bytes / 1024.0;
    let mut unit = UNITS[0];
    for next in &UNITS[1..] {
        if value.abs() < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = next;
    }
    // Whole numbers without a decimal ("10 KiB"), others with one ("1.5 KiB").
    if (value - value.round()).abs() < 0.05 {
        format!("{:.0} {unit}", value.round())
    } else {
        format!("{value:.1} {unit}")
    }
}

/// A rate tick on the bytes-per-second axis.
pub fn format_byte_rate(bytes_per_second: f64) -> String {
    format!("{}/s", format_bytes(bytes_per_second))
}

/// A tick on the messages-per-second axis, with the decimals its spacing needs.
pub fn format_message_rate(value: f64, step: f64) -> String {
    let decimals = decimals_for(step, 6);
    format!("{value:.decimals$} msg/s")
}

/// The timeline's y value of a payload size (log scale; empty payloads at 0).
pub fn size_to_y(bytes: u64) -> f64 {
    ((bytes as f64) + 1.0).log10()
}

/// The payload size a timeline y value stands for.
pub fn y_to_size(y: f64) -> f64 {
    (10f64.powf(y) - 1.0).max(0.0)
}

/// Sizes the timeline's log axis may label: 0 B, then 1, 2 and 5 × 10^k bytes below
/// 1 KiB and of each binary unit above (1 KiB, 2 KiB, 5 KiB, 10 KiB…), up to 1 TiB.
fn size_candidates() -> impl Iterator<Item = u64> {
    let units = [1u64, 1 << 10, 1 << 20, 1 << 30];
    let in_units = units.into_iter().flat_map(|unit| {
        [1u64, 2, 5, 10, 20, 50, 100, 200, 500]
            .into_iter()
            .map(move |m| m * unit)
            // Below 1 KiB the decimal 1000 would sit next to 1 KiB: stop at 500 B.
            .filter(move |b| unit > 1 || *b < 1000)
    });
    std::iter::once(0).chain(in_units).chain(std::iter::once(1 << 40))
}

/// The decades among them: 0 B, 10 B, 100 B, then 1, 10, 100 in each binary unit.
const DECADES: [u64; 13] = [
    0,
    10,
    100,
    1 << 10,
    10 << 10,
    100 << 10,
    1 << 20,
    10 << 20,
    100 << 20,
    1 << 30,
    10 << 30,
    100 << 30,
    1 << 40,
];

/// Points between two size labels: the text is about 14 points high, so labels this far
/// apart never touch (`TIMELINE_LABEL_SPACING` tells egui_plot to draw them all).
pub const SIZE_LABEL_GAP: f64 = 18.0;

/// What egui_plot is told about label spacing on the size axis: labels closer than the
/// first are hidden, further than the second drawn at full strength. `size_grid` never
/// puts labels closer than `SIZE_LABEL_GAP`, so every label it gives is drawn.
pub const TIMELINE_LABEL_SPACING: std::ops::RangeInclusive<f32> = 16.0..=SIZE_LABEL_GAP as f32;

/// Grid marks of the timeline's size axis: exact sizes at their log position, at least
/// `SIZE_LABEL_GAP` points apart. Every 1-2-5 size when there is room, else the decades
/// (0 B, 10 B, 100 B, 1 KiB…) when they give three labels or more, else as many 1-2-5
/// sizes as fit, picked from the bottom up ("0 B, 20 B, 500 B" in a short lane, where the
/// decades would leave only two labels).
pub fn size_grid(input: GridInput) -> Vec<GridMark> {
    // `base_step_size` is the value of 8 points.
    let min_gap = input.base_step_size.max(f64::MIN_POSITIVE) / 8.0 * SIZE_LABEL_GAP;
    let shown = |sizes: &mut dyn Iterator<Item = u64>| -> Vec<f64> {
        sizes
            .map(size_to_y)
            .filter(|y| *y >= input.bounds.0 && *y <= input.bounds.1)
            .collect()
    };
    let visible = shown(&mut size_candidates());
    let decades = shown(&mut DECADES.into_iter());
    let fits = |ys: &[f64]| ys.windows(2).all(|w| w[1] - w[0] >= min_gap);
    let mut packed: Vec<f64> = Vec::new();
    for y in &visible {
        if packed.last().is_none_or(|last| y - last >= min_gap) {
            packed.push(*y);
        }
    }
    let chosen = if fits(&visible) {
        visible
    } else if fits(&decades) && (decades.len() >= 3 || decades.len() >= packed.len()) {
        decades
    } else {
        packed
    };
    let span = (input.bounds.1 - input.bounds.0).abs();
    (0..chosen.len())
        .filter_map(|i| {
            let value = *chosen.get(i)?;
            // The step is the distance to the nearest neighbour: egui_plot fades a label
            // (and its grid line) by how many points that is.
            let below = i.checked_sub(1).and_then(|j| chosen.get(j)).map(|b| value - b);
            let above = chosen.get(i + 1).map(|a| a - value);
            let step_size = below.into_iter().chain(above).fold(span, f64::min);
            Some(GridMark { value, step_size })
        })
        .collect()
}

/// Grid marks of a bytes-per-second axis: multiples of 1, 2 or 5 × 10^k of the binary unit
/// the top of the range is counted in (so ticks read "20 KiB/s", not "19.5 KiB/s").
pub fn byte_rate_grid(input: GridInput) -> Vec<GridMark> {
    let top = input.bounds.0.abs().max(input.bounds.1.abs()).max(1.0);
    let unit = 1024f64.powi((top.log(1024.0).floor() as i32).clamp(0, 4));
    nice_grid(&input, unit, 1.0)
}

/// Grid marks of a plain linear axis (ms, msg/s): 1, 2 or 5 × 10^k apart, spaced so that
/// every label shows (egui_plot's default grid hides labels closer than 20 points, which
/// on a short lane leaves only "0").
pub fn number_grid(input: GridInput) -> Vec<GridMark> {
    nice_grid(&input, 1.0, 0.0)
}

/// Marks `step` apart, `step` the smallest 1, 2 or 5 × 10^k × `unit` (at least `min_step`)
/// that leaves about 24 points between labels.
fn nice_grid(input: &GridInput, unit: f64, min_step: f64) -> Vec<GridMark> {
    let (lo, hi) = input.bounds;
    // `base_step_size` is the value of 8 points.
    let wanted = (input.base_step_size * 3.0 / unit).max(1e-12);
    let decade = 10f64.powf(wanted.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * decade)
        .find(|s| *s >= wanted * (1.0 - 1e-9))
        .unwrap_or(10.0 * decade)
        * unit;
    let step = step.max(min_step);
    if !step.is_finite() || step <= 0.0 || !lo.is_finite() || !hi.is_finite() {
        return Vec::new();
    }
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    if last.saturating_sub(first) > 1000 {
        return Vec::new();
    }
    (first..=last)
        .map(|i| GridMark {
            value: i as f64 * step,
            step_size: step,
        })
        .collect()
}

/// A bin width for `span` seconds in at most `bins` bins: 1, 2 or 5 × 10^k seconds, so
/// bins read "50 ms", not "59.884 ms".
pub fn bin_width(span: f64, bins: usize) -> f64 {
    let raw = (span / bins.max(1) as f64).max(1e-6);
    let decade = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * decade)
        .find(|w| *w >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * decade)
}
