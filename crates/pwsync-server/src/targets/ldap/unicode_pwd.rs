//! The value Active Directory takes in `unicodePwd`: the password in double quotes, as
//! UTF-16LE bytes (MS-ADTS 3.1.1.3.1.5). AD accepts it only over an encrypted connection.
//!
//! The bytes are the password: they live in a zeroize-on-drop buffer and are never printed.

use zeroize::Zeroizing;

pub fn encode(password: &str) -> Zeroizing<Vec<u8>> {
    let mut bytes = Zeroizing::new(Vec::with_capacity(2 * (password.len() + 2)));
    let mut units = [0u16; 2];
    for character in std::iter::once('"').chain(password.chars()).chain(std::iter::once('"')) {
        for unit in character.encode_utf16(&mut units) {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
    }
    units.fill(0);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_utf16_little_endian() {
        assert_eq!(&encode("ab")[..], &[0x22, 0, b'a', 0, b'b', 0, 0x22, 0]);
        // Beyond U+FFFF: a surrogate pair, low byte first.
        assert_eq!(&encode("🔑")[..], &[0x22, 0, 0x3d, 0xd8, 0x11, 0xdd, 0x22, 0]);
        assert_eq!(&encode("ä\"")[..], &[0x22, 0, 0xe4, 0, 0x22, 0, 0x22, 0]);
    }
}
