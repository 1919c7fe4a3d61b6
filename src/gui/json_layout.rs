//! Re-indents JSON text without re-serialising it: keys keep their order and numbers keep
//! their exact spelling (`1.10` stays `1.10`, big integers stay whole), which a round trip
//! through `serde_json::Value` would not guarantee. Only whitespace between tokens changes.

/// How to lay the text out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// One value per line, nested values indented by this many spaces.
    Pretty(usize),
    /// No whitespace between tokens.
    Compact,
}

/// `text` laid out anew, or the parser's message if it is not JSON.
pub fn relayout(text: &str, layout: Layout) -> Result<String, String> {
    serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|e| format!("not JSON: {e}"))?;
    let indent = match layout {
        Layout::Pretty(n) => Some(n),
        Layout::Compact => None,
    };
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = text.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        if let Some(n) = indent {
            out.push('\n');
            out.extend(std::iter::repeat_n(' ', n * depth));
        }
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            ' ' | '\t' | '\n' | '\r' => {}
            '{' | '[' => {
                out.push(c);
                // An empty container stays on one line.
                while chars.peek().is_some_and(|n| n.is_ascii_whitespace()) {
                    chars.next();
                }
                if matches!(chars.peek(), Some('}' | ']')) {
                    if let Some(close) = chars.next() {
                        out.push(close);
                    }
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => {
                out.push(':');
                if indent.is_some() {
                    out.push(' ');
                }
            }
            _ => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#" {"z": 1.10, "a": [ ], "s": "a \"quoted\" {brace}, [x]: y\\",
        "n": 123456789012345678901234567890, "o": {"k": [1, {"e": {}}]}, "t": true} "#;

    #[test]
    fn pretty_keeps_key_order_numbers_and_strings() {
        let pretty = relayout(SAMPLE, Layout::Pretty(2)).unwrap();
        assert_eq!(
            pretty,
            r#"{
  "z": 1.10,
  "a": [],
  "s": "a \"quoted\" {brace}, [x]: y\\",
  "n": 123456789012345678901234567890,
  "o": {
    "k": [
      1,
      {
        "e": {}
      }
    ]
  },
  "t": true
}"#
        );
        let compact = relayout(&pretty, Layout::Compact).unwrap();
        assert_eq!(
            compact,
            r#"{"z":1.10,"a":[],"s":"a \"quoted\" {brace}, [x]: y\\","n":123456789012345678901234567890,"o":{"k":[1,{"e":{}}]},"t":true}"#
        );
        // Both mean what the original means.
        let value = |t: &str| serde_json::from_str::<serde_json::Value>(t).unwrap();
        assert_eq!(value(&compact), value(SAMPLE));
        assert_eq!(relayout(&compact, Layout::Pretty(2)).unwrap(), pretty);
    }

    #[test]
    fn scalars_and_errors() {
        assert_eq!(relayout(" 42 ", Layout::Pretty(4)).unwrap(), "42");
        assert_eq!(relayout("\"a b\"", Layout::Compact).unwrap(), "\"a b\"");
        let e = relayout("{\"a\": }", Layout::Compact).unwrap_err();
        assert!(e.starts_with("not JSON") && e.contains("column"), "{e}");
    }
}
