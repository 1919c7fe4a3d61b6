//! Differential test: framescope's frame-header parser against tungstenite's, on arbitrary
//! bytes. Where tungstenite accepts a header, both must read every field identically, and
//! both must agree on how many bytes the header took and when more bytes are needed.

use std::io::Cursor;

use framescope::analysis::ws::frame::FrameHeader;
use proptest::prelude::*;
use tungstenite::protocol::frame::FrameHeader as TFrameHeader;

fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
    let mut cursor = Cursor::new(bytes);
    let theirs = TFrameHeader::parse(&mut cursor);
    let ours = FrameHeader::parse(bytes);
    match theirs {
        Ok(Some((t, len))) => {
            let o = ours.ok_or_else(|| TestCaseError::fail("tungstenite parsed a header we did not"))?;
            prop_assert_eq!(o.fin, t.is_final);
            prop_assert_eq!((o.rsv1, o.rsv2, o.rsv3), (t.rsv1, t.rsv2, t.rsv3));
            prop_assert_eq!(o.opcode.as_u4(), u8::from(t.opcode));
            prop_assert_eq!(o.mask, t.mask);
            prop_assert_eq!(o.payload_len, len);
            prop_assert_eq!(u64::from(o.header_len), cursor.position());
        }
        Ok(None) => prop_assert_eq!(ours, None, "tungstenite needs more bytes"),
        // tungstenite refuses some headers (e.g. lengths it cannot hold); we keep them as data.
        Err(_) => {}
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn our_headers_match_tungstenites_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..16)) {
        check(&bytes)?;
    }

    #[test]
    fn our_headers_match_tungstenites_on_every_length_form(
        b0 in any::<u8>(),
        masked in any::<bool>(),
        form in 0u8..3,
        len in any::<u64>(),
        key in any::<[u8; 4]>(),
        cut in 0usize..15,
    ) {
        let mut bytes = vec![b0];
        let mask_bit = if masked { 0x80 } else { 0 };
        match form {
            0 => bytes.push(mask_bit | (len % 126) as u8),
            1 => { bytes.push(mask_bit | 126); bytes.extend_from_slice(&(len as u16).to_be_bytes()); }
            _ => { bytes.push(mask_bit | 127); bytes.extend_from_slice(&(len >> 1).to_be_bytes()); }
        }
        if masked {
            bytes.extend_from_slice(&key);
        }
        let cut = cut.min(bytes.len());
        check(&bytes)?;
        check(&bytes[..cut])?;
    }
}
