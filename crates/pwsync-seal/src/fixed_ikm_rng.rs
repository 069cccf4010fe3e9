//! A "random" generator that hands out one fixed 32-byte input keying material, so that
//! HPKE's ephemeral key becomes `DeriveKeyPair(ikm)` (RFC 9180 §7.1.3) and test vectors are
//! reproducible.
//!
//! For test vectors only: it must never be used by [`crate::seal`], and it refuses to give
//! out its bytes twice (a second request marks it misused, and sealing then fails) because
//! a repeated ephemeral key with the same recipient repeats the AEAD key and nonce.

use rand_core::{CryptoRng, RngCore};

/// Yields exactly one 32-byte block: the ikm.
pub(crate) struct FixedIkmRng<'a> {
    ikm: &'a [u8; 32],
    used: bool,
    misused: bool,
}

impl<'a> FixedIkmRng<'a> {
    pub(crate) fn new(ikm: &'a [u8; 32]) -> FixedIkmRng<'a> {
        FixedIkmRng { ikm, used: false, misused: false }
    }

    /// Whether exactly one 32-byte block was taken and nothing else was asked for.
    pub(crate) fn was_used_exactly_once(&self) -> bool {
        self.used && !self.misused
    }
}

impl RngCore for FixedIkmRng<'_> {
    fn next_u32(&mut self) -> u32 {
        rand_core::impls::next_u32_via_fill(self)
    }

    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_fill(self)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        if self.used || dest.len() != self.ikm.len() {
            // Zeros are never used: the caller sees `misused` and discards the result.
            self.misused = true;
            dest.iter_mut().for_each(|byte| *byte = 0);
            return;
        }
        dest.copy_from_slice(self.ikm);
        self.used = true;
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

// Sound only because `seal_with_ephemeral` checks `was_used_exactly_once` afterwards.
impl CryptoRng for FixedIkmRng<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gives_the_ikm_once_then_reports_misuse() {
        let ikm = [5u8; 32];
        let mut rng = FixedIkmRng::new(&ikm);
        let mut first = [0u8; 32];
        rng.fill_bytes(&mut first);
        assert_eq!(first, ikm);
        assert!(rng.was_used_exactly_once());
        let mut second = [1u8; 32];
        rng.fill_bytes(&mut second);
        assert_eq!(second, [0u8; 32]);
        assert!(!rng.was_used_exactly_once());
    }
}
