//! One lock per account, so that two changes of the same account are never applied to a target
//! at the same time.
//!
//! Without it, an older change that started first could finish last and leave its password at
//! the target after the newer one: newest-wins needs the ledger decision and the target call of
//! one account to happen one change at a time. Locks of idle accounts are dropped, so memory
//! follows the number of accounts in flight, not the number ever seen.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

#[derive(Default, Clone)]
pub struct AccountLocks {
    locks: Arc<Mutex<HashMap<String, Arc<AsyncMutex<()>>>>>,
}

/// Held while one change of the account is decided and applied.
pub struct AccountGuard {
    key: String,
    locks: AccountLocks,
    guard: Option<OwnedMutexGuard<()>>,
}

impl AccountLocks {
    pub async fn lock(&self, account_key: &str) -> AccountGuard {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            locks.entry(account_key.to_string()).or_default().clone()
        };
        let guard = lock.lock_owned().await;
        AccountGuard { key: account_key.to_string(), locks: self.clone(), guard: Some(guard) }
    }

    pub fn len(&self) -> usize {
        self.locks.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for AccountGuard {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut locks = self.locks.locks.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Only the map and this guard held it: nobody waits, so the entry can go.
        if locks.get(&self.key).is_some_and(|lock| Arc::strong_count(lock) == 1) {
            locks.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn one_account_is_serialized_and_idle_locks_are_dropped() {
        let locks = AccountLocks::default();
        let first = locks.lock("d\\alice").await;
        let waiter = {
            let locks = locks.clone();
            tokio::spawn(async move {
                let _second = locks.lock("d\\alice").await;
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished(), "the second change must wait for the first");
        let _other = locks.lock("d\\bob").await; // another account is not blocked
        drop(first);
        waiter.await.unwrap();
        drop(_other);
        assert!(locks.is_empty());
    }
}
