//! Receive buffers, pooled per shard.
//!
//! A connection takes a buffer when it starts and gives it back when it
//! ends, so steady-state reading allocates nothing. Buffers move into
//! reads and come back with the data (monoio's rent IO); reads append into
//! a buffer's spare capacity, and the connection loop frames messages
//! straight out of it. No `unsafe` is needed for that: the IO driver owns
//! the buffer while the kernel writes into it.

/// A per-shard pool of receive buffers.
#[derive(Debug)]
pub struct Arena {
    /// Free buffers, each empty with capacity `buffer_size`.
    free: Vec<Vec<u8>>,
    buffer_size: usize,
    /// Buffers kept at most; more are freed when given back.
    keep: usize,
}

impl Arena {
    /// A pool of buffers of `buffer_size` octets, keeping up to `keep`.
    pub fn new(buffer_size: usize, keep: usize) -> Self {
        Self {
            free: Vec::new(),
            buffer_size,
            keep,
        }
    }

    /// The capacity of a fresh buffer.
    pub fn buffer_size(&self) -> usize {
        self.buffer_size
    }

    /// Takes a buffer (empty, at least `buffer_size` of capacity).
    pub fn take(&mut self) -> Vec<u8> {
        self.free
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(self.buffer_size))
    }

    /// Gives a buffer back. One that grew for an oversized message shrinks
    /// back to the usual size.
    pub fn give(&mut self, mut buf: Vec<u8>) {
        if self.free.len() >= self.keep {
            return;
        }
        buf.clear();
        buf.shrink_to(self.buffer_size);
        self.free.push(buf);
    }

    /// Buffers waiting in the pool.
    pub fn pooled(&self) -> usize {
        self.free.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_and_bounds() {
        let mut a = Arena::new(64, 1);
        let mut b = a.take();
        assert!(b.capacity() >= 64);
        b.extend_from_slice(&[1; 200]);
        a.give(b);
        assert_eq!(a.pooled(), 1);
        let b = a.take();
        assert!(b.is_empty() && b.capacity() >= 64 && b.capacity() < 200);
        a.give(b);
        a.give(Vec::new());
        assert_eq!(a.pooled(), 1);
    }
}
