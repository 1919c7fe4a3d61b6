//! Lessons: sample captures shipped with the app, each opened at the message and view that
//! shows one part of the protocol, with a paragraph on what to look at.

use std::path::PathBuf;

use crate::gui::app::LowerTab;

pub struct Lesson {
    pub title: &'static str,
    /// A file of `captures/`.
    pub file: &'static str,
    /// Message to select (its number in the table).
    pub message: u32,
    pub tab: LowerTab,
    pub text: &'static str,
}

pub const LESSONS: &[Lesson] = &[
    Lesson {
        title: "1. The opening handshake",
        file: "echo-text-binary-ping-close.pcap",
        message: 0,
        tab: LowerTab::Handshake,
        text: "A WebSocket connection starts as HTTP: the client sends GET with Upgrade: websocket, \
Connection: Upgrade, a random 16-byte Sec-WebSocket-Key and Sec-WebSocket-Version: 13. The server \
answers 101 Switching Protocols with Sec-WebSocket-Accept: the key plus a fixed GUID, hashed with \
SHA-1 and base64-encoded. Follow the steps in the Handshake tab and check that the value matches; \
every rule of the checklist passes here.",
    },
    Lesson {
        title: "2. A text message and its echo",
        file: "echo-text-binary-ping-close.pcap",
        message: 0,
        tab: LowerTab::Anatomy,
        text: "Message 0 is one frame: FIN=1 (final), opcode 0x1 (text), MASK=1 and a 7-bit length of \
17. Message 1 is the server's echo: the same text, but MASK=0 and no masking key, so its frame is 4 \
bytes shorter. Compare the two in Frame anatomy (select message 1).",
    },
    Lesson {
        title: "3. Masking",
        file: "echo-text-binary-ping-close.pcap",
        message: 0,
        tab: LowerTab::Anatomy,
        text: "Every frame a client sends carries a 4-byte masking key, and its payload is XORed with it: \
byte i with key byte i mod 4. The unmasking walkthrough under the frame does it step by step. Masking \
does not hide anything (the key is in the frame); it stops proxies from mistaking the bytes for HTTP.",
    },
    Lesson {
        title: "4. Fragmentation",
        file: "echo-text-binary-ping-close.pcap",
        message: 6,
        tab: LowerTab::Anatomy,
        text: "Message 6 arrived in two frames: a text frame with FIN=0, then a continuation frame \
(opcode 0x0) with FIN=1. A ping was sent between them: control frames may interleave with the \
fragments of a data message, which framescope joins back into \"frag-mented\".",
    },
    Lesson {
        title: "5. Ping and pong",
        file: "echo-text-binary-ping-close.pcap",
        message: 4,
        tab: LowerTab::Plots,
        text: "A ping (opcode 0x9) asks the peer to answer with a pong (0xA) carrying the same payload. \
framescope pairs them and plots the round-trip time (Plots, Ping/pong RTT); a ping left unanswered \
longer than the pong timeout becomes a pong-missing finding.",
    },
    Lesson {
        title: "6. Closing with a code",
        file: "echo-text-binary-ping-close.pcap",
        message: 8,
        tab: LowerTab::Anatomy,
        text: "A close frame (opcode 0x8) may carry a 2-byte status code and a UTF-8 reason. Here the \
client sends 4001 (private use) \"test over\" and the server echoes it. The ? next to the code opens \
the close-code reference: 1005, 1006 and 1015 exist only to be reported locally and must never be sent.",
    },
    Lesson {
        title: "7. permessage-deflate",
        file: "python-deflate-context-takeover.pcap",
        message: 2,
        tab: LowerTab::Handshake,
        text: "The client offered permessage-deflate and the server accepted it with 12-bit windows. \
Compressed messages have RSV1 set on their first frame. With context takeover the compressor keeps \
its window between messages, so message 2, a repeat of message 0, takes 14 bytes on the wire for 363 \
decoded. Message 6 is compressed and fragmented: RSV1 on the first of its 5 frames only.",
    },
    Lesson {
        title: "8. Lost bytes",
        file: "python-ipv6-capture-drops.pcap",
        message: 1,
        tab: LowerTab::Findings,
        text: "This capture dropped 131 086 bytes in the middle of a 1 MiB frame. framescope reports a \
tcp-gap and a message-damaged finding and does not show the damaged message, but the frame boundary \
is still known from the frame's length, so the next message decodes.",
    },
];

/// Where the sample captures are: `FRAMESCOPE_SAMPLES`, next to an installed binary, the
/// current directory's `captures/`, or the source tree's.
pub fn samples_dir() -> PathBuf {
    let candidates = [
        std::env::var_os("FRAMESCOPE_SAMPLES").map(PathBuf::from),
        std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|d| d.join("../share/framescope/captures"))),
        Some(PathBuf::from("captures")),
        Some(PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/captures"))),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|d| d.join(LESSONS[0].file).is_file())
        .unwrap_or_else(|| PathBuf::from("captures"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lesson_capture_is_bundled() {
        let dir = samples_dir();
        for lesson in LESSONS {
            assert!(dir.join(lesson.file).is_file(), "{} for {}", lesson.file, lesson.title);
        }
    }
}
