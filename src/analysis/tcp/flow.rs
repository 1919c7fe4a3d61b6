//! Flow keys: one key for both directions of a TCP connection.

use core::net::SocketAddr;

/// Which endpoint of a [`FlowKey`] sent a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// The endpoint that sorts first (`FlowKey::lo`).
    Lo,
    /// The endpoint that sorts second (`FlowKey::hi`).
    Hi,
}

impl Side {
    pub fn index(self) -> usize {
        match self {
            Side::Lo => 0,
            Side::Hi => 1,
        }
    }

    pub fn other(self) -> Side {
        match self {
            Side::Lo => Side::Hi,
            Side::Hi => Side::Lo,
        }
    }
}

/// A TCP connection's two endpoints in a canonical order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowKey {
    pub lo: SocketAddr,
    pub hi: SocketAddr,
}

impl FlowKey {
    /// The key for a packet from `src` to `dst`, and which side sent it.
    pub fn from_packet(src: SocketAddr, dst: SocketAddr) -> (FlowKey, Side) {
        if (src.ip(), src.port()) <= (dst.ip(), dst.port()) {
            (FlowKey { lo: src, hi: dst }, Side::Lo)
        } else {
            (FlowKey { lo: dst, hi: src }, Side::Hi)
        }
    }

    pub fn endpoint(&self, side: Side) -> SocketAddr {
        match side {
            Side::Lo => self.lo,
            Side::Hi => self.hi,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_directions_share_one_key() {
        let a: SocketAddr = "10.0.0.2:50000".parse().expect("addr");
        let b: SocketAddr = "10.0.0.1:80".parse().expect("addr");
        let (k1, s1) = FlowKey::from_packet(a, b);
        let (k2, s2) = FlowKey::from_packet(b, a);
        assert_eq!(k1, k2);
        assert_ne!(s1, s2);
        assert_eq!(k1.endpoint(s1), a);
        assert_eq!(k1.endpoint(s2), b);
    }
}
