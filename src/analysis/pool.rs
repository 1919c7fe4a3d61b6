//! A pool of payload buffers shared by every connection of an analyzer.
//!
//! A direction holds a buffer only while a message is being assembled or inflated, so idle
//! connections cost no buffer memory, and busy ones reuse warm allocations instead of
//! returning pages to the system and faulting fresh ones in (which cost a fifth of the
//! decode time of compressed traffic before the pool existed).

/// Buffers kept for reuse, and the largest capacity one may keep.
const MAX_POOLED_BUFFERS: usize = 32;
const MAX_POOLED_CAPACITY: usize = 1 << 20;

#[derive(Debug, Default)]
pub struct BufferPool {
    free: Vec<Vec<u8>>,
}

impl BufferPool {
    /// An empty buffer, with whatever capacity a previous user left.
    pub fn take(&mut self) -> Vec<u8> {
        self.free.pop().unwrap_or_default()
    }

    /// Returns a buffer. Huge buffers are shrunk and extras dropped, so the pool stays small.
    pub fn give_back(&mut self, mut buf: Vec<u8>) {
        if buf.capacity() == 0 || self.free.len() >= MAX_POOLED_BUFFERS {
            return;
        }
        buf.clear();
        if buf.capacity() > MAX_POOLED_CAPACITY {
            buf.shrink_to(MAX_POOLED_CAPACITY);
        }
        self.free.push(buf);
    }

    /// Bytes of capacity held by pooled buffers.
    pub fn pooled_bytes(&self) -> usize {
        self.free.iter().map(Vec::capacity).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_buffers_and_bounds_what_it_keeps() {
        let mut pool = BufferPool::default();
        let mut a = pool.take();
        a.extend_from_slice(&[1; 100]);
        let cap = a.capacity();
        pool.give_back(a);
        let b = pool.take();
        assert!(b.is_empty());
        assert_eq!(b.capacity(), cap, "the allocation is reused");
        pool.give_back(vec![0; 4 << 20]);
        assert!(pool.pooled_bytes() <= MAX_POOLED_CAPACITY + 1024);
        for _ in 0..100 {
            pool.give_back(vec![0; 10]);
        }
        assert_eq!(pool.free.len(), MAX_POOLED_BUFFERS);
    }
}
