//! Text for the window: times, sizes, previews, hex dumps.

use crate::analysis::Timestamp;

/// `12.345678 s` relative to `origin`, or `2026-11-21 11:31:58.123456 UTC`.
pub fn time(ts: Timestamp, origin: Option<Timestamp>) -> String {
    match origin {
        Some(o) => format!("{:.6} s", ts.millis_since(o) / 1000.0),
        None => utc(ts),
    }
}

/// A table cell's time for `mode`: compact enough for its column (the date goes in the
/// tooltip, `time_tooltip`). `previous` is the previous shown row's time (delta mode).
pub fn table_time(
    mode: crate::gui::settings::TimeMode,
    ts: Timestamp,
    capture_start: Option<Timestamp>,
    conn_start: Option<Timestamp>,
    previous: Option<Timestamp>,
) -> String {
    use crate::gui::settings::TimeMode;
    let seconds = |origin: Option<Timestamp>| format!("{:.6}", ts.millis_since(origin.unwrap_or(ts)) / 1000.0);
    match mode {
        TimeMode::SinceCapture => seconds(capture_start),
        TimeMode::Relative => seconds(conn_start),
        TimeMode::Delta => seconds(previous.or(Some(ts))),
        TimeMode::Local => local(ts).map_or_else(|| clock_of(&utc(ts)), |t| clock_of(&t)),
        TimeMode::Absolute => clock_of(&utc(ts)),
    }
}

/// The full date and time in UTC and local time, for a tooltip.
pub fn time_tooltip(ts: Timestamp) -> String {
    match local(ts) {
        Some(l) => format!("{}\n{l}", utc(ts)),
        None => utc(ts),
    }
}

/// `2026-11-21 12:31:58.123456 +01:00` in the system's time zone.
pub fn local(ts: Timestamp) -> Option<String> {
    use chrono::TimeZone;
    let dt = chrono::Local.timestamp_nanos(ts.nanos);
    Some(dt.format("%Y-%m-%d %H:%M:%S%.6f %:z").to_string())
}

/// The time-of-day part of `YYYY-MM-DD HH:MM:SS.ffffff …`.
fn clock_of(full: &str) -> String {
    full.split(' ').nth(1).unwrap_or(full).to_owned()
}

/// UTC date and time with microseconds (civil-from-days, no time-zone database needed).
pub fn utc(ts: Timestamp) -> String {
    let micros = ts.nanos.div_euclid(1000);
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{frac:06} UTC",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

pub fn bytes(n: u64) -> String {
    if n < 1024 {
        format!("{n} B")
    } else if n < 1 << 20 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else if n < 1 << 30 {
        format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64)
    } else {
        format!("{:.2} GiB", n as f64 / (1u64 << 30) as f64)
    }
}

/// One line of preview: text as text (control characters shown as ·), binary as hex.
pub fn preview(payload: &[u8], max_chars: usize) -> String {
    match std::str::from_utf8(payload.get(..payload.len().min(max_chars * 4)).unwrap_or(payload)) {
        Ok(text) => text
            .chars()
            .take(max_chars)
            .map(|c| if c.is_control() { '·' } else { c })
            .collect(),
        Err(e) if e.error_len().is_none() && e.valid_up_to() > 0 => {
            preview(payload.get(..e.valid_up_to()).unwrap_or(&[]), max_chars)
        }
        Err(_) => payload
            .iter()
            .take(max_chars / 3)
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// One hex-dump line: offset, 16 bytes in hex, and their printable ASCII.
pub fn hex_line(offset: usize, chunk: &[u8]) -> String {
    let mut hex = String::with_capacity(50);
    for i in 0..16 {
        match chunk.get(i) {
            Some(b) => hex.push_str(&format!("{b:02x} ")),
            None => hex.push_str("   "),
        }
        if i == 7 {
            hex.push(' ');
        }
    }
    let ascii: String = chunk
        .iter()
        .map(|&b| if (0x20..0x7f).contains(&b) { b as char } else { '.' })
        .collect();
    format!("{offset:08x}  {hex} {ascii}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(utc(Timestamp::from_secs_micros(0, 0)), "1970-01-01 00:00:00.000000 UTC");
        assert_eq!(
            utc(Timestamp::from_secs_micros(1_732_181_234, 123_456)),
            "2024-11-21 09:27:14.123456 UTC"
        );
        assert_eq!(
            utc(Timestamp::from_secs_micros(951_782_400, 0)),
            "2000-02-29 00:00:00.000000 UTC"
        );
    }

    #[test]
    fn previews_text_and_binary() {
        assert_eq!(preview(b"hello\nworld", 20), "hello·world");
        assert_eq!(preview(&[0xff, 0x00, 0x10], 30), "ff 00 10");
        assert_eq!(preview("日本語テキスト".as_bytes(), 3), "日本語");
    }

    #[test]
    fn hex_lines_have_offsets_and_ascii() {
        assert_eq!(
            hex_line(16, b"Hello, world!\x00\x01\x02"),
            "00000010  48 65 6c 6c 6f 2c 20 77  6f 72 6c 64 21 00 01 02  Hello, world!..."
        );
    }
}
