//! Checks of what a person types for a live connection, shared by the window's form and
//! `framescope connect`: header lines and durations in seconds.

use std::time::Duration;

/// A `Name: value` header line (the value may be empty; the name may not).
pub fn parse_header(line: &str) -> Result<(String, String), String> {
    match line.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() => Ok((name.trim().to_owned(), value.trim().to_owned())),
        _ => Err(format!("'{line}' is not 'Name: value'")),
    }
}

/// Seconds as a `Duration`, refused unless finite and within `min..=max` (a clear message
/// instead of the panic `Duration::from_secs_f64` gives for infinity or huge values).
pub fn seconds(value: f64, what: &str, min: f64, max: f64) -> Result<Duration, String> {
    if !value.is_finite() || value < min || value > max {
        return Err(format!(
            "{what} must be a number of seconds from {min} to {max}, not {value}"
        ));
    }
    Ok(Duration::from_secs_f64(value))
}

/// The longest wait any option may ask for: a day.
pub const MAX_SECONDS: f64 = 86_400.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lines_need_a_name_and_a_colon() {
        assert_eq!(parse_header(" X-Id : 42 "), Ok(("X-Id".to_owned(), "42".to_owned())));
        assert_eq!(parse_header("X-Empty:"), Ok(("X-Empty".to_owned(), String::new())));
        assert!(parse_header("novalue").is_err());
        assert!(parse_header(": value").is_err());
    }

    #[test]
    fn infinite_or_huge_or_negative_seconds_are_refused_not_panicked_on() {
        assert_eq!(
            seconds(1.5, "--wait", 0.0, MAX_SECONDS),
            Ok(Duration::from_millis(1500))
        );
        for bad in [f64::INFINITY, f64::NAN, 1e30, -1.0] {
            let err = seconds(bad, "--timeout", 0.1, MAX_SECONDS).expect_err("refused");
            assert!(err.starts_with("--timeout must be a number of seconds"), "{err}");
        }
    }
}
