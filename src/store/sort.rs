//! Sorting the message table by any column: a stable order (ties keep arrival order), the
//! reverse on a second click, and new rows merged in without sorting everything again.

use std::cmp::Ordering;

use crate::store::{MessageRow, Store};

/// A column the table can be sorted by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum SortColumn {
    /// Arrival order (the message number).
    #[default]
    Number,
    Connection,
    Time,
    Direction,
    /// Opcode, then close code.
    Opcode,
    WireBytes,
    DecodedBytes,
    Frames,
    Compressed,
    /// Round-trip time of a ping or pong (messages without one sort last).
    Rtt,
    /// The payload's bytes (text sorts alphabetically by code point).
    Preview,
}

/// A sort: the column and whether it is reversed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SortOrder {
    pub column: SortColumn,
    pub descending: bool,
}

impl SortOrder {
    /// What a click on `column`'s header does: sort by it, or reverse when it is the sort.
    pub fn clicked(self, column: SortColumn) -> SortOrder {
        if self.column == column {
            SortOrder {
                column,
                descending: !self.descending,
            }
        } else {
            SortOrder {
                column,
                descending: false,
            }
        }
    }

    /// Arrival order needs no sorting.
    pub fn is_arrival(self) -> bool {
        self.column == SortColumn::Number && !self.descending
    }
}

/// Compares two messages (indices into `store.messages`) for `order`. Ties fall back on
/// the message number, ascending in both directions, so equal keys keep arrival order.
pub fn compare(store: &Store, order: SortOrder, rtt: &dyn Fn(u32) -> Option<f64>, a: u32, b: u32) -> Ordering {
    let (Some(ra), Some(rb)) = (store.messages.get(a as usize), store.messages.get(b as usize)) else {
        return a.cmp(&b);
    };
    let by_key = match order.column {
        SortColumn::Number => a.cmp(&b),
        SortColumn::Connection => ra.conn.cmp(&rb.conn),
        SortColumn::Time => ra.ts.cmp(&rb.ts),
        SortColumn::Direction => ra.dir.index().cmp(&rb.dir.index()),
        SortColumn::Opcode => opcode_key(ra).cmp(&opcode_key(rb)),
        SortColumn::WireBytes => ra.wire_len.cmp(&rb.wire_len),
        SortColumn::DecodedBytes => ra.len.cmp(&rb.len),
        SortColumn::Frames => ra.frames.cmp(&rb.frames),
        SortColumn::Compressed => ra.compressed.cmp(&rb.compressed),
        SortColumn::Rtt => match (rtt(a), rtt(b)) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            // Without a value: last whichever the direction.
            (Some(_), None) => return Ordering::Less,
            (None, Some(_)) => return Ordering::Greater,
            (None, None) => Ordering::Equal,
        },
        SortColumn::Preview => store.payload(ra).cmp(store.payload(rb)),
    };
    let by_key = if order.descending { by_key.reverse() } else { by_key };
    by_key.then(a.cmp(&b))
}

fn opcode_key(row: &MessageRow) -> (u8, u16) {
    (row.opcode.as_u4(), row.close_code.unwrap_or(0))
}

/// Sorts `rows` by `order`. Numeric columns sort through a packed key (one pass to read
/// the rows, then a sort of plain integers): a million rows take tens of milliseconds.
pub fn sort_rows(store: &Store, order: SortOrder, rtt: &dyn Fn(u32) -> Option<f64>, rows: &mut [u32]) {
    if let Some(key) = numeric_key(order.column) {
        let mut keyed: Vec<(u64, u32)> = rows
            .iter()
            .map(|&i| {
                let k = store.messages.get(i as usize).map_or(0, key);
                (if order.descending { !k } else { k }, i)
            })
            .collect();
        keyed.sort_unstable();
        for (slot, (_, i)) in rows.iter_mut().zip(keyed) {
            *slot = i;
        }
    } else {
        rows.sort_unstable_by(|&a, &b| compare(store, order, rtt, a, b));
    }
}

/// Adds `new` rows (in any order) to `sorted` (already sorted by `order`) by one merge.
pub fn merge_new(
    store: &Store,
    order: SortOrder,
    rtt: &dyn Fn(u32) -> Option<f64>,
    sorted: &mut Vec<u32>,
    mut new: Vec<u32>,
) {
    if new.is_empty() {
        return;
    }
    sort_rows(store, order, rtt, &mut new);
    let old = std::mem::take(sorted);
    sorted.reserve(old.len() + new.len());
    let (mut i, mut j) = (0, 0);
    while let (Some(&a), Some(&b)) = (old.get(i), new.get(j)) {
        if compare(store, order, rtt, a, b) == Ordering::Greater {
            sorted.push(b);
            j += 1;
        } else {
            sorted.push(a);
            i += 1;
        }
    }
    sorted.extend_from_slice(old.get(i..).unwrap_or_default());
    sorted.extend_from_slice(new.get(j..).unwrap_or_default());
}

/// An order-preserving `u64` for columns that have one (ties are broken by the message
/// number, which the sort adds as the second element).
fn numeric_key(column: SortColumn) -> Option<fn(&MessageRow) -> u64> {
    Some(match column {
        SortColumn::Number => |_| 0,
        SortColumn::Connection => |r| u64::from(r.conn),
        // Timestamps before 1970 are not a capture's: clamp at zero.
        SortColumn::Time => |r| u64::try_from(r.ts.nanos).unwrap_or(0),
        SortColumn::Direction => |r| r.dir.index() as u64,
        SortColumn::Opcode => |r| {
            let (op, code) = opcode_key(r);
            (u64::from(op) << 16) | u64::from(code)
        },
        SortColumn::WireBytes => |r| r.wire_len,
        SortColumn::DecodedBytes => |r| r.len,
        SortColumn::Frames => |r| u64::from(r.frames),
        SortColumn::Compressed => |r| u64::from(r.compressed),
        SortColumn::Rtt | SortColumn::Preview => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Timestamp;
    use crate::analysis::event::{Direction, MessageEvent, MessageFacts};
    use crate::analysis::ws::frame::OpCode;

    fn store_with(rows: &[(u32, i64, u64, &[u8])]) -> Store {
        let mut store = Store::default();
        for &(conn, ts, len, payload) in rows {
            let facts = MessageFacts::one_frame(
                conn,
                Direction::ClientToServer,
                OpCode::Text,
                Timestamp { nanos: ts },
                len,
            );
            store.push_message(&MessageEvent {
                facts,
                payload,
                compressed_payload: None,
            });
        }
        store
    }

    const NO_RTT: &dyn Fn(u32) -> Option<f64> = &|_| None;

    #[test]
    fn sorts_stably_and_reverses_with_ties_in_arrival_order() {
        let store = store_with(&[(2, 30, 5, b"c"), (1, 10, 5, b"a"), (2, 20, 9, b"b"), (1, 40, 1, b"a")]);
        let mut rows = vec![0, 1, 2, 3];
        let by_conn = SortOrder::default().clicked(SortColumn::Connection);
        sort_rows(&store, by_conn, NO_RTT, &mut rows);
        assert_eq!(rows, [1, 3, 0, 2]);
        sort_rows(&store, by_conn.clicked(SortColumn::Connection), NO_RTT, &mut rows);
        // Reversed by connection, but messages of one connection stay in arrival order.
        assert_eq!(rows, [0, 2, 1, 3]);
        let mut rows = vec![3, 2, 1, 0];
        sort_rows(
            &store,
            SortOrder::default().clicked(SortColumn::Preview),
            NO_RTT,
            &mut rows,
        );
        assert_eq!(rows, [1, 3, 2, 0]);
        let mut rows = vec![0, 1, 2, 3];
        sort_rows(
            &store,
            SortOrder::default().clicked(SortColumn::DecodedBytes),
            NO_RTT,
            &mut rows,
        );
        assert_eq!(rows, [3, 0, 1, 2]);
    }

    #[test]
    fn merging_new_rows_equals_sorting_everything() {
        let rows: Vec<(u32, i64, u64, &[u8])> = (0..200u32)
            .map(|i| (i % 7, i64::from((i * 37) % 101), u64::from(i % 13), &b"x"[..]))
            .collect();
        let store = store_with(&rows);
        for column in [
            SortColumn::Time,
            SortColumn::DecodedBytes,
            SortColumn::Connection,
            SortColumn::Preview,
        ] {
            for descending in [false, true] {
                let order = SortOrder { column, descending };
                let mut all: Vec<u32> = (0..200).collect();
                sort_rows(&store, order, NO_RTT, &mut all);
                let mut merged: Vec<u32> = (0..120).collect();
                sort_rows(&store, order, NO_RTT, &mut merged);
                merge_new(&store, order, NO_RTT, &mut merged, (120..200).collect());
                assert_eq!(merged, all, "{order:?}");
            }
        }
    }

    #[test]
    fn rows_without_rtt_sort_last_in_both_directions() {
        let store = store_with(&[(0, 1, 1, b"a"), (0, 2, 1, b"b"), (0, 3, 1, b"c")]);
        let rtt = |i: u32| match i {
            0 => Some(5.0),
            2 => Some(1.0),
            _ => None,
        };
        for (descending, want) in [(false, [2, 0, 1]), (true, [0, 2, 1])] {
            let mut rows = vec![0, 1, 2];
            sort_rows(
                &store,
                SortOrder {
                    column: SortColumn::Rtt,
                    descending,
                },
                &rtt,
                &mut rows,
            );
            assert_eq!(rows, want);
        }
    }
}

/// A column of the connections strip.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConnColumn {
    #[default]
    Number,
    Client,
    Server,
    State,
    Subprotocol,
    Extensions,
    ClientMessages,
    ServerMessages,
    Duration,
    /// TCP trouble under the connection: retransmissions, reordering, gaps, zero windows.
    Tcp,
    Findings,
}

/// How much went wrong in TCP under a connection, both ways: the strip's TCP column sorts by it.
pub fn tcp_trouble(t: &crate::analysis::event::TcpHealth) -> u64 {
    t.dirs
        .iter()
        .map(|d| d.retransmissions + d.out_of_order + d.gaps + d.overlap_conflicts + d.zero_windows)
        .sum()
}

/// The connections' indices in `store.connections`, sorted by `column` (ties by number).
pub fn connection_order(store: &Store, column: ConnColumn, descending: bool) -> Vec<usize> {
    use crate::store::ConnectionEntry;
    let mut order: Vec<usize> = (0..store.connections.len()).collect();
    let text = |c: &ConnectionEntry| -> String {
        let hs = c.info.handshake.as_ref();
        match column {
            ConnColumn::Subprotocol => hs.and_then(|h| h.subprotocol.clone()).unwrap_or_default(),
            ConnColumn::Extensions => hs
                .map(|h| {
                    h.extensions
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default(),
            _ => String::new(),
        }
    };
    let key = |i: usize| -> (u128, String) {
        let Some(c) = store.connections.get(i) else {
            return (0, String::new());
        };
        let addr = |a: &core::net::SocketAddr| {
            let ip = match a.ip() {
                core::net::IpAddr::V4(v4) => u128::from(v4.to_bits()),
                core::net::IpAddr::V6(v6) => v6.to_bits(),
            };
            // IP, then port: 128 + 16 bits do not fit, so the port decides among equal IPs
            // through the text part.
            (ip, format!("{:05}", a.port()))
        };
        match column {
            ConnColumn::Number => (u128::from(c.info.conn), String::new()),
            ConnColumn::Client => addr(&c.info.client),
            ConnColumn::Server => addr(&c.info.server),
            ConnColumn::State => (c.end.map_or(0, |e| e as u128 + 1), String::new()),
            ConnColumn::Subprotocol | ConnColumn::Extensions => (0, text(c)),
            ConnColumn::ClientMessages => (u128::from(c.counters[0].messages), String::new()),
            ConnColumn::ServerMessages => (u128::from(c.counters[1].messages), String::new()),
            ConnColumn::Duration => (
                c.last_ts.nanos.saturating_sub(c.info.first_ts.nanos).max(0) as u128,
                String::new(),
            ),
            ConnColumn::Tcp => (c.tcp.map_or(0, |t| u128::from(tcp_trouble(&t))), String::new()),
            ConnColumn::Findings => (u128::from(c.findings), String::new()),
        }
    };
    let keys: Vec<(u128, String)> = order.iter().map(|&i| key(i)).collect();
    order.sort_by(|&a, &b| {
        let (ka, kb) = (keys.get(a), keys.get(b));
        let by_key = if descending { kb.cmp(&ka) } else { ka.cmp(&kb) };
        by_key.then(a.cmp(&b))
    });
    order
}
