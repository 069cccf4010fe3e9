//! Sealing: [`seal`] turns a [`Change`] into record bytes for a recipient public key.
//!
//! It must never write anything that fails the record format's limits (every field is
//! checked first, with a named error), never leave the clear payload in memory (it is
//! encrypted in place in a wiping buffer), and never use a predictable ephemeral key outside
//! [`seal_with_ephemeral`], which exists for published test vectors only.

use hpke::aead::AeadTag;
use hpke::{OpModeS, Serializable};
use rand_core::{CryptoRng, OsRng, RngCore};

use crate::fixed_ikm_rng::FixedIkmRng;
use crate::header::RecordHeader;
use crate::payload::{self, FieldProblem, PayloadField};
use crate::suite::{Aead, Kdf, Kem, HPKE_INFO, TAG_LEN};
use crate::{Change, PublicKey};

/// Why a change could not be sealed. Never contains field content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// A field breaks a limit of the record format.
    #[error("cannot seal change: field {field} {problem}")]
    InvalidField {
        /// The offending field.
        field: PayloadField,
        /// What is wrong with it.
        problem: FieldProblem,
    },
    /// HPKE refused the recipient key (e.g. a low-order X25519 point) or failed to encrypt.
    #[error("cannot seal change: HPKE encryption to key {key_id} failed (is the public key valid?)")]
    Encryption {
        /// Id of the recipient key.
        key_id: crate::KeyId,
    },
}

/// Seals `change` to `recipient`: validates every field, then returns the record bytes
/// (header followed by the HPKE ciphertext of the payload, with the header as associated
/// data). Each call uses a fresh random ephemeral key.
pub fn seal(change: &Change, recipient: &PublicKey) -> Result<Vec<u8>, SealError> {
    seal_using(change, recipient, &mut OsRng)
}

/// Like [`seal`], but the HPKE ephemeral key is `DeriveKeyPair(ephemeral_ikm)` (RFC 9180
/// §7.1.3), so the output is reproducible.
///
/// **For test vectors only.** Two records sealed with the same `ephemeral_ikm` to the same
/// recipient share their AEAD key and nonce, which breaks confidentiality. Production code
/// calls [`seal`].
pub fn seal_with_ephemeral(
    change: &Change,
    recipient: &PublicKey,
    ephemeral_ikm: &[u8; 32],
) -> Result<Vec<u8>, SealError> {
    let mut rng = FixedIkmRng::new(ephemeral_ikm);
    let record = seal_using(change, recipient, &mut rng)?;
    if !rng.was_used_exactly_once() {
        // hpke asked for randomness in a way this wrapper does not expect: the ephemeral key
        // is not the documented one, so the record is not a valid test vector.
        return Err(SealError::Encryption { key_id: recipient.key_id() });
    }
    Ok(record)
}

fn seal_using<R: CryptoRng + RngCore>(
    change: &Change,
    recipient: &PublicKey,
    rng: &mut R,
) -> Result<Vec<u8>, SealError> {
    let mut buffer =
        payload::encode(change).map_err(|(field, problem)| SealError::InvalidField { field, problem })?;
    let encryption_failed = || SealError::Encryption { key_id: recipient.key_id() };
    let (encapped_key, mut context) =
        hpke::setup_sender::<Aead, Kdf, Kem, R>(&OpModeS::Base, &recipient.to_hpke(), HPKE_INFO, rng)
            .map_err(|_| encryption_failed())?;
    let mut encapsulated_key = [0u8; 32];
    encapped_key.write_exact(&mut encapsulated_key);
    let header = RecordHeader::new(recipient.key_id(), encapsulated_key).to_bytes();
    // In place, so that the only clear copy is the wiping buffer; after this it holds
    // ciphertext.
    let tag: AeadTag<Aead> =
        context.seal_in_place_detached(&mut buffer, &header).map_err(|_| encryption_failed())?;
    let mut record = Vec::with_capacity(header.len() + buffer.len() + TAG_LEN);
    record.extend_from_slice(&header);
    record.extend_from_slice(&buffer);
    record.extend_from_slice(&tag.to_bytes());
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hpke::Deserializable;

    fn unhex(text: &str) -> Vec<u8> {
        (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
    }

    /// RFC 9180 Appendix A.2.1 (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
    /// ChaCha20Poly1305, base mode), first encryption: proves that the ikm given to
    /// `seal_with_ephemeral` is the RFC's `ikmE`, so our vectors follow the RFC's method.
    #[test]
    fn fixed_ikm_reproduces_rfc_9180_a_2_1() {
        let mut ikm_e = [0u8; 32];
        ikm_e.copy_from_slice(&unhex("909a9b35d3dc4713a5e72a4da274b55d3d3821a37e5d099e74a647db583a904b"));
        let pk_r = <Kem as hpke::Kem>::PublicKey::from_bytes(&unhex(
            "4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a",
        ))
        .unwrap();
        let info = unhex("4f6465206f6e2061204772656369616e2055726e");
        let mut rng = FixedIkmRng::new(&ikm_e);
        let (enc, mut context) =
            hpke::setup_sender::<Aead, Kdf, Kem, _>(&OpModeS::Base, &pk_r, &info, &mut rng).unwrap();
        assert!(rng.was_used_exactly_once());
        assert_eq!(
            enc.to_bytes().to_vec(),
            unhex("1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a")
        );
        let mut sealed = unhex("4265617574792069732074727574682c20747275746820626561757479");
        let tag = context.seal_in_place_detached(&mut sealed, &unhex("436f756e742d30")).unwrap();
        sealed.extend_from_slice(&tag.to_bytes());
        assert_eq!(
            sealed,
            unhex(
                "1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a28"
            )
        );
    }
}
