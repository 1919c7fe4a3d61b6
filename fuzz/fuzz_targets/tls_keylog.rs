//! The NSS key log parser on arbitrary text fed in arbitrary pieces, and the handshake
//! field parsers on arbitrary bytes.
#![no_main]
use framescope::analysis::tls::KeyLog;
use framescope::analysis::tls::handshake::{
    HandshakeReader, parse_client_hello, parse_encrypted_extensions, parse_server_hello,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut log = KeyLog::new();
    for piece in data.chunks(usize::from(data.first().copied().unwrap_or(1)).max(1)) {
        log.feed(piece);
    }
    log.end_of_input();
    let _ = log.stats();
    let _ = parse_client_hello(data);
    let _ = parse_server_hello(data);
    let _ = parse_encrypted_extensions(data);
    let mut reader = HandshakeReader::new();
    for piece in data.chunks(3) {
        reader.push(piece, &mut |m| {
            let _ = parse_client_hello(m.body);
        });
    }
});
