//! The socketio application decoder on arbitrary messages never panics and stays bounded
//! (the harness: `framescope::analysis::app::fuzzing`).
#![no_main]
use framescope::analysis::app::Protocol;
use framescope::analysis::app::fuzzing::decode_arbitrary;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| decode_arbitrary(Protocol::SocketIo, "socketio.type", data));
