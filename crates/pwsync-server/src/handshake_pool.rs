//! The bounded pool of connections whose TLS handshake is not finished yet.
//!
//! A connection takes a place here from accept until it is authenticated, and a place among
//! established connections (`max_connections`) only after that, so that clients that never
//! finish a handshake cannot hold the places of real ones. When the pool is full, a new
//! connection takes the place of the *oldest* unfinished handshake: a real client finishes its
//! handshake in milliseconds, so a flood of idle or stalled connections evicts its own members.
//! This module must never block the accept loop, and never evict an authenticated connection.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

/// Unfinished handshakes, oldest first.
#[derive(Clone)]
pub struct HandshakePool {
    capacity: usize,
    state: Arc<Mutex<PoolState>>,
}

struct PoolState {
    next_id: u64,
    /// By arrival: the lowest id is the oldest. The sender tells its handshake to give up.
    waiting: BTreeMap<u64, oneshot::Sender<()>>,
}

/// A connection's place in the pool, given up when dropped (handshake finished or failed).
pub struct HandshakePlace {
    id: u64,
    state: Arc<Mutex<PoolState>>,
}

/// What [`HandshakePool::enter`] gives a new connection.
pub struct Entered {
    pub place: HandshakePlace,
    /// Resolves when a newer connection took this place.
    pub evicted: oneshot::Receiver<()>,
    /// The oldest unfinished handshake was evicted to make room.
    pub made_room: bool,
}

impl HandshakePool {
    /// A pool of `capacity` places (at least one).
    pub fn new(capacity: usize) -> HandshakePool {
        HandshakePool {
            capacity: capacity.max(1),
            state: Arc::new(Mutex::new(PoolState { next_id: 0, waiting: BTreeMap::new() })),
        }
    }

    /// Takes a place for a new connection, evicting the oldest unfinished handshake when full.
    pub fn enter(&self) -> Entered {
        let (evict, evicted) = oneshot::channel();
        let mut state = self.state.lock().expect("the handshake pool lock is never poisoned");
        let mut made_room = false;
        while state.waiting.len() >= self.capacity {
            if let Some((_, oldest)) = state.waiting.pop_first() {
                made_room |= oldest.send(()).is_ok();
            }
        }
        let id = state.next_id;
        state.next_id += 1;
        state.waiting.insert(id, evict);
        Entered { place: HandshakePlace { id, state: self.state.clone() }, evicted, made_room }
    }

    /// Unfinished handshakes right now.
    pub fn len(&self) -> usize {
        self.state.lock().expect("the handshake pool lock is never poisoned").waiting.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for HandshakePlace {
    fn drop(&mut self) {
        if let Ok(mut state) = self.state.lock() {
            state.waiting.remove(&self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_pool_evicts_its_oldest_member_for_a_new_one() {
        let pool = HandshakePool::new(2);
        let mut first = pool.enter();
        assert!(!first.made_room);
        let mut second = pool.enter();
        let third = pool.enter();
        assert!(third.made_room);
        assert_eq!(first.evicted.try_recv(), Ok(()), "the oldest is told to give up");
        assert!(second.evicted.try_recv().is_err(), "the newer one keeps its place");
        assert_eq!(pool.len(), 2);
    }

    #[test]
    fn a_finished_handshake_leaves_the_pool() {
        let pool = HandshakePool::new(2);
        let entered = pool.enter();
        assert_eq!(pool.len(), 1);
        drop(entered);
        assert!(pool.is_empty());
    }
}
