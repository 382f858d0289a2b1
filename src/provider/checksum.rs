//! Paytm's `x-checksum`: AES-128-CBC over `sha256_hex(body|salt) + salt`, Base64-encoded
//! (`docs/PROVIDERS.md`). Used by the client to sign and by the sandbox to verify.

use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::{engine::general_purpose::STANDARD, Engine};
use rand::Rng;
use sha2::{Digest, Sha256};

type Enc = cbc::Encryptor<aes::Aes128>;
type Dec = cbc::Decryptor<aes::Aes128>;

const IV: &[u8; 16] = b"@@@@&&&&####$$$$";
const SALT_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChecksumError {
    #[error("the Paytm merchant key must be exactly 16 characters (it has {0}); check PAYRUN_PAYTM_MERCHANT_KEY")]
    KeyLength(usize),
}

fn cipher_key(key: &str) -> Result<&[u8; 16], ChecksumError> {
    key.as_bytes()
        .try_into()
        .map_err(|_| ChecksumError::KeyLength(key.len()))
}

fn hash_string(body: &[u8], salt: &str) -> String {
    let mut h = Sha256::new();
    h.update(body);
    h.update(b"|");
    h.update(salt.as_bytes());
    format!("{}{salt}", hex::encode(h.finalize()))
}

/// Signs `body` (the exact bytes that will be sent) with a random salt.
pub fn sign(body: &[u8], key: &str) -> Result<String, ChecksumError> {
    let mut rng = rand::rng();
    let salt: String = (0..4)
        .map(|_| SALT_ALPHABET[rng.random_range(0..SALT_ALPHABET.len())] as char)
        .collect();
    sign_with_salt(body, key, &salt)
}

/// Signs with a given salt; deterministic, so the published test vectors can be checked.
pub fn sign_with_salt(body: &[u8], key: &str, salt: &str) -> Result<String, ChecksumError> {
    let key = cipher_key(key)?;
    let plain = hash_string(body, salt);
    let enc = Enc::new(key.into(), IV.into()).encrypt_padded_vec_mut::<Pkcs7>(plain.as_bytes());
    Ok(STANDARD.encode(enc))
}

/// True when `checksum` is a valid signature of `body` under `key`.
pub fn verify(body: &[u8], key: &str, checksum: &str) -> bool {
    let Ok(key) = cipher_key(key) else {
        return false;
    };
    let Ok(raw) = STANDARD.decode(checksum.trim()) else {
        return false;
    };
    let Ok(plain) = Dec::new(key.into(), IV.into()).decrypt_padded_vec_mut::<Pkcs7>(&raw) else {
        return false;
    };
    let Ok(plain) = String::from_utf8(plain) else {
        return false;
    };
    if plain.len() < 4 || !plain.is_char_boundary(plain.len() - 4) {
        return false;
    }
    let salt = &plain[plain.len() - 4..];
    hash_string(body, salt) == plain
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "abcdefghijklmnop";

    #[test]
    fn published_vectors() {
        let cases = [
            (
                r#"{"mid":"YOUR_MID_HERE","orderId":"YOUR_ORDER_ID_HERE"}"#,
                "AbC1",
                "qFn5/HzjIMRmf+2x5ZA6pSBFQKhnNfeglqEHYECh/lDm4mvMEOrHRcNsvLraRnYoXpncO2U9pZhdKW+gimV4BTKUTlWeGV0O6rxmygD8xlY=",
            ),
            (
                "YOUR_MID_HERE|YOUR_ORDER_ID_HERE",
                "xY9+",
                "yii8rXrWjOj9iMfEO41aHbYcWh1UhMIabHXpBB3pQbeKi/4ju6t6+QCg14iTaNGXQaC+DbmIchpvZuX1VHC8t3ErT/FUwyH6xNCcbMMFFOE=",
            ),
            (
                r#"{"subwalletGuid":"28054249-XXXX-XXXX-af8f-fa163e429e83","orderId":"ORDERID_98765","amount":"1.00","beneficiaryPhoneNo":"7777777777","notifyMode":["SMS"],"comments":"Your Comment Here"}"#,
                "Q1w2",
                "8U/orEPfXVwgr7Hh+C2/1A2enbZPFuk0yCohSXw3eSLg71W7Odaq6QvuBmp73y9bysqmzxfxvoNwfFxbu/6hfadwhGXMhN0PTdS9xlRcyBg=",
            ),
        ];
        for (body, salt, expected) in cases {
            let got = sign_with_salt(body.as_bytes(), KEY, salt).unwrap();
            assert_eq!(got, expected, "vector with salt {salt}");
            assert_eq!(got.len(), 108);
            assert!(verify(body.as_bytes(), KEY, &got));
        }
    }

    #[test]
    fn hash_string_matches_vector_one() {
        assert_eq!(
            hash_string(
                br#"{"mid":"YOUR_MID_HERE","orderId":"YOUR_ORDER_ID_HERE"}"#,
                "AbC1"
            ),
            "573ff605040f45639dc1a9855391d45b6e7b541a64ad76528e4f02b4c8bc9ec3AbC1"
        );
    }

    #[test]
    fn verify_rejects_tampered_body_wrong_key_and_garbage() {
        let sig = sign(b"{\"a\":1}", KEY).unwrap();
        assert!(verify(b"{\"a\":1}", KEY, &sig));
        assert!(!verify(b"{\"a\":2}", KEY, &sig));
        assert!(!verify(b"{\"a\":1}", "ponmlkjihgfedcba", &sig));
        assert!(!verify(b"{\"a\":1}", KEY, "not base64!"));
        assert!(!verify(b"{\"a\":1}", KEY, ""));
    }

    #[test]
    fn key_must_be_16_bytes() {
        assert_eq!(sign(b"x", "short"), Err(ChecksumError::KeyLength(5)));
    }
}
