//! libFuzzer target for `im_proto::parse_request`, the first thing the server does with every
//! text frame: it must never panic, must answer every frame with a request or a precise error,
//! and a request it accepts must re-encode to a frame that parses back to the same id and op.

#![no_main]

use im_proto::{parse_request, ErrorCode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The server only ever parses text frames, which are UTF-8.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_request(text) {
        Ok(request) => {
            let again = serde_json::to_string(&request).expect("a request serializes");
            let back = parse_request(&again)
                .unwrap_or_else(|e| panic!("re-encoded {again:?} does not parse: {e:?}"));
            assert_eq!(back.id, request.id);
            assert_eq!(back.call.name(), request.call.name());
        }
        Err(e) => {
            assert!(
                matches!(
                    e.error.code,
                    ErrorCode::MalformedFrame
                        | ErrorCode::UnknownOp
                        | ErrorCode::BadId
                        | ErrorCode::InvalidParams
                ),
                "unexpected code {:?} for {text:?}",
                e.error.code
            );
            assert!(!e.error.message.is_empty());
        }
    }
});
