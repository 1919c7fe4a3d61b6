//! MQTT primitives: a bounds-checked reader (integers, variable byte integers, strings,
//! binary data) and MQTT 5 properties and reason codes.

use serde_json::{Map, Value};

/// A cursor over one packet's bytes; every read checks bounds and reports what was short.
pub struct Reader<'a> {
    pub bytes: &'a [u8],
    pub pos: usize,
}

pub type Res<T> = Result<T, String>;

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }

    pub fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    pub fn take(&mut self, n: usize, what: &str) -> Res<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or_else(|| format!("{what}: length overflow"))?;
        let s = self
            .bytes
            .get(self.pos..end)
            .ok_or_else(|| format!("{what}: needs {n} bytes, {} left", self.remaining()))?;
        self.pos = end;
        Ok(s)
    }

    pub fn u8(&mut self, what: &str) -> Res<u8> {
        Ok(self.take(1, what)?.first().copied().unwrap_or(0))
    }

    pub fn u16(&mut self, what: &str) -> Res<u16> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([
            b.first().copied().unwrap_or(0),
            b.get(1).copied().unwrap_or(0),
        ]))
    }

    pub fn u32(&mut self, what: &str) -> Res<u32> {
        let b = self.take(4, what)?;
        let mut a = [0u8; 4];
        a.copy_from_slice(b);
        Ok(u32::from_be_bytes(a))
    }

    /// A variable byte integer (1-4 bytes, 7 bits each, least significant first).
    pub fn varint(&mut self, what: &str) -> Res<u32> {
        let mut value: u32 = 0;
        for i in 0..4 {
            let b = self.u8(what)?;
            value |= u32::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(format!("{what}: variable byte integer longer than 4 bytes"))
    }

    pub fn bin(&mut self, what: &str) -> Res<&'a [u8]> {
        let n = self.u16(what)?;
        self.take(usize::from(n), what)
    }

    pub fn str(&mut self, what: &str) -> Res<String> {
        let b = self.bin(what)?;
        std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|_| format!("{what}: not UTF-8"))
    }

    pub fn rest(&mut self) -> &'a [u8] {
        let s = self.bytes.get(self.pos..).unwrap_or(&[]);
        self.pos = self.bytes.len();
        s
    }
}

/// Reads an MQTT 5 property block (its length, then the properties) into a JSON object with
/// the specification's names in snake case. User properties become `[[name, value], …]`.
pub fn properties(r: &mut Reader<'_>) -> Res<Value> {
    let len = r.varint("property length")? as usize;
    let block = r.take(len, "properties")?;
    let mut p = Reader::new(block);
    let mut map = Map::new();
    while p.remaining() > 0 {
        let id = p.varint("property id")?;
        let (name, value): (&str, Value) = match id {
            0x01 => ("payload_format_indicator", p.u8("property")?.into()),
            0x02 => ("message_expiry_interval", p.u32("property")?.into()),
            0x03 => ("content_type", p.str("property")?.into()),
            0x08 => ("response_topic", p.str("property")?.into()),
            0x09 => (
                "correlation_data",
                crate::analysis::app::util::hex(p.bin("property")?).into(),
            ),
            0x0B => ("subscription_identifier", p.varint("property")?.into()),
            0x11 => ("session_expiry_interval", p.u32("property")?.into()),
            0x12 => ("assigned_client_identifier", p.str("property")?.into()),
            0x13 => ("server_keep_alive", p.u16("property")?.into()),
            0x15 => ("authentication_method", p.str("property")?.into()),
            0x16 => (
                "authentication_data",
                crate::analysis::app::util::hex(p.bin("property")?).into(),
            ),
            0x17 => ("request_problem_information", p.u8("property")?.into()),
            0x18 => ("will_delay_interval", p.u32("property")?.into()),
            0x19 => ("request_response_information", p.u8("property")?.into()),
            0x1A => ("response_information", p.str("property")?.into()),
            0x1C => ("server_reference", p.str("property")?.into()),
            0x1F => ("reason_string", p.str("property")?.into()),
            0x21 => ("receive_maximum", p.u16("property")?.into()),
            0x22 => ("topic_alias_maximum", p.u16("property")?.into()),
            0x23 => ("topic_alias", p.u16("property")?.into()),
            0x24 => ("maximum_qos", p.u8("property")?.into()),
            0x25 => ("retain_available", p.u8("property")?.into()),
            0x26 => {
                let k = p.str("user property name")?;
                let v = p.str("user property value")?;
                if let Value::Array(list) = map.entry("user_properties").or_insert_with(|| Value::Array(Vec::new())) {
                    list.push(Value::Array(vec![k.into(), v.into()]));
                }
                continue;
            }
            0x27 => ("maximum_packet_size", p.u32("property")?.into()),
            0x28 => ("wildcard_subscription_available", p.u8("property")?.into()),
            0x29 => ("subscription_identifier_available", p.u8("property")?.into()),
            0x2A => ("shared_subscription_available", p.u8("property")?.into()),
            other => return Err(format!("unknown property id 0x{other:02x}")),
        };
        map.insert(name.to_owned(), value);
    }
    Ok(Value::Object(map))
}

/// The MQTT 5 name of a reason code.
pub fn reason_name(code: u8) -> &'static str {
    match code {
        0x00 => "Success",
        0x01 => "Granted QoS 1",
        0x02 => "Granted QoS 2",
        0x04 => "Disconnect with Will Message",
        0x10 => "No matching subscribers",
        0x11 => "No subscription existed",
        0x18 => "Continue authentication",
        0x19 => "Re-authenticate",
        0x80 => "Unspecified error",
        0x81 => "Malformed Packet",
        0x82 => "Protocol Error",
        0x83 => "Implementation specific error",
        0x84 => "Unsupported Protocol Version",
        0x85 => "Client Identifier not valid",
        0x86 => "Bad User Name or Password",
        0x87 => "Not authorized",
        0x88 => "Server unavailable",
        0x89 => "Server busy",
        0x8A => "Banned",
        0x8B => "Server shutting down",
        0x8C => "Bad authentication method",
        0x8D => "Keep Alive timeout",
        0x8E => "Session taken over",
        0x8F => "Topic Filter invalid",
        0x90 => "Topic Name invalid",
        0x91 => "Packet Identifier in use",
        0x92 => "Packet Identifier not found",
        0x93 => "Receive Maximum exceeded",
        0x94 => "Topic Alias invalid",
        0x95 => "Packet too large",
        0x96 => "Message rate too high",
        0x97 => "Quota exceeded",
        0x98 => "Administrative action",
        0x99 => "Payload format invalid",
        0x9A => "Retain not supported",
        0x9B => "QoS not supported",
        0x9C => "Use another server",
        0x9D => "Server moved",
        0x9E => "Shared Subscriptions not supported",
        0x9F => "Connection rate exceeded",
        0xA0 => "Maximum connect time",
        0xA1 => "Subscription Identifiers not supported",
        0xA2 => "Wildcard Subscriptions not supported",
        _ => "unknown reason code",
    }
}

/// The MQTT 3.1.1 name of a CONNACK return code.
pub fn connack_v3_name(code: u8) -> &'static str {
    match code {
        0 => "Connection Accepted",
        1 => "unacceptable protocol version",
        2 => "identifier rejected",
        3 => "Server unavailable",
        4 => "bad user name or password",
        5 => "not authorized",
        _ => "reserved return code",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_reads_the_specification_examples() {
        for (bytes, value) in [
            (&[0x00][..], 0u32),
            (&[0x7f][..], 127),
            (&[0x80, 0x01][..], 128),
            (&[0xff, 0xff, 0xff, 0x7f][..], 268_435_455),
        ] {
            assert_eq!(Reader::new(bytes).varint("x"), Ok(value));
        }
        assert!(Reader::new(&[0xff, 0xff, 0xff, 0xff, 0x01]).varint("x").is_err());
        assert!(Reader::new(&[0x80]).varint("x").is_err());
    }

    #[test]
    fn properties_read_names_and_user_pairs() {
        // content type "a", user property ("k","v"), topic alias 3
        let block = [0x0e, 0x03, 0, 1, b'a', 0x26, 0, 1, b'k', 0, 1, b'v', 0x23, 0, 3];
        let v = properties(&mut Reader::new(&block)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"content_type":"a","user_properties":[["k","v"]],"topic_alias":3})
        );
        assert!(properties(&mut Reader::new(&[0x02, 0x7f, 0x00])).is_err());
    }
}
