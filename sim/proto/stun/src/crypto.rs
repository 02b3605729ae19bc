//! The two primitives STUN needs (RFC 5389 §15.4): HMAC-SHA1 for MESSAGE-INTEGRITY and MD5 for
//! the long-term key, as an `RTCCrypto` (rtc-crypto, as rtc-stun re-exports it) the rtc-stun codec accepts. Pure Rust,
//! deterministic, no global provider.

use hmac::{Hmac, Mac as _};
use md5::{Digest as _, Md5};
use rtc_stun::crypto::{
    CryptoAlgorithm, CryptoError, HashAlgorithm, HmacAlgorithm, Mac, RTCCrypto,
};
use sha1::Sha1;

/// HMAC-SHA1 and MD5 for the rtc-stun codec.
#[derive(Clone, Copy, Debug, Default)]
pub struct StunCrypto;

/// The one instance every core uses.
pub(crate) static CRYPTO: StunCrypto = StunCrypto;

impl RTCCrypto for StunCrypto {
    fn supports(&self, algorithm: CryptoAlgorithm) -> bool {
        matches!(
            algorithm,
            CryptoAlgorithm::Hash(HashAlgorithm::Md5) | CryptoAlgorithm::Hmac(HmacAlgorithm::Sha1)
        )
    }

    fn hash(&self, algorithm: HashAlgorithm, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match algorithm {
            HashAlgorithm::Md5 => Ok(Md5::digest(data).to_vec()),
            other => Err(CryptoError::UnsupportedAlgorithm(CryptoAlgorithm::Hash(
                other,
            ))),
        }
    }

    fn new_hmac(&self, algorithm: HmacAlgorithm, key: &[u8]) -> Result<Box<dyn Mac>, CryptoError> {
        match algorithm {
            HmacAlgorithm::Sha1 => Ok(Box::new(HmacSha1 { key: key.to_vec() })),
            other => Err(CryptoError::UnsupportedAlgorithm(CryptoAlgorithm::Hmac(
                other,
            ))),
        }
    }
}

struct HmacSha1 {
    key: Vec<u8>,
}

impl HmacSha1 {
    fn mac(&self, input: &[&[u8]]) -> Result<Hmac<Sha1>, CryptoError> {
        let mut mac =
            Hmac::<Sha1>::new_from_slice(&self.key).map_err(|_| CryptoError::InvalidKeyLength {
                expected: 64,
                actual: self.key.len(),
            })?;
        for part in input {
            mac.update(part);
        }
        Ok(mac)
    }
}

impl Mac for HmacSha1 {
    fn output_len(&self) -> usize {
        20
    }

    fn sign(&mut self, input: &[&[u8]], output: &mut [u8]) -> Result<(), CryptoError> {
        if output.len() != 20 {
            return Err(CryptoError::InvalidTagLength {
                expected: 20,
                actual: output.len(),
            });
        }
        let tag = self.mac(input)?.finalize().into_bytes();
        output.copy_from_slice(&tag);
        Ok(())
    }

    fn verify(&mut self, input: &[&[u8]], expected: &[u8]) -> Result<(), CryptoError> {
        if expected.len() != 20 {
            return Err(CryptoError::InvalidTagLength {
                expected: 20,
                actual: expected.len(),
            });
        }
        self.mac(input)?
            .verify_slice(expected)
            .map_err(|_| CryptoError::AuthenticationFailed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crypto_hmac_sha1_matches_rfc_2202_case_2() {
        let mut mac = CRYPTO.new_hmac(HmacAlgorithm::Sha1, b"Jefe").unwrap();
        let mut out = [0u8; 20];
        mac.sign(&[b"what do ya want ", b"for nothing?"], &mut out)
            .unwrap();
        let hex: String = out.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
        assert!(mac.verify(&[b"what do ya want for nothing?"], &out).is_ok());
        out[0] ^= 1;
        assert!(
            mac.verify(&[b"what do ya want for nothing?"], &out)
                .is_err()
        );
    }

    #[test]
    fn crypto_md5_matches_rfc_1321() {
        let d = CRYPTO.hash(HashAlgorithm::Md5, b"abc").unwrap();
        let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "900150983cd24fb0d6963f7d28e17f72");
    }
}
