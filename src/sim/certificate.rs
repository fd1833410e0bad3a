//! The DTLS certificate a peer's stack is handed: one whose flights have the same size in
//! every run of a seed.

use std::sync::Arc;

use rtc::crypto::{CryptoError, PublicKey, SignatureScheme, SigningKey};
use rtc::peer_connection::certificate::{CertificateParams, RTCCertificate};

/// The peer's DTLS certificate, whose every signature has the same length.
///
/// webrtc-rs's default certificate signs with ECDSA P-256, and an ECDSA signature's DER
/// length varies by a byte or two with its random nonce. That changes the size of the DTLS
/// flights, which on a rate-limited link shifts every later packet: a run would stop being
/// reproducible from its seed. (Ed25519 would be fixed-length, but webrtc-rs 0.21's DTLS
/// server accepts only ECDSA keys for its ECDHE_ECDSA suites.)
pub(super) fn certificate(name: &str, seed: u64) -> Result<RTCCertificate, webrtc::error::Error> {
    let crypto = rtc::crypto::default_provider().map_err(other_error)?;
    let key = crypto
        .crypto()
        .generate_signing_key(SignatureScheme::EcdsaP256Sha256)
        .map_err(other_error)?;
    let mut params = CertificateParams::new(vec![certificate_name(name)]).map_err(other_error)?;
    // rcgen's default serial is a hash with leading zeros stripped: its length varies too.
    let mut serial = crate::net::sub_seed(seed, 0x5e71a1).to_be_bytes();
    serial[0] = serial[0] % 0x7f + 1;
    params.serial_number = Some(serial.to_vec().into());
    let key = Arc::new(FullLengthEcdsa(key));
    RTCCertificate::generate_from_signing_key(params, SignatureScheme::EcdsaP256Sha256, key)
}

/// `name` as a certificate's DNS name, which is ASCII (an IA5String): peer names may hold
/// any letter, so each one that is not ASCII is written as its code point, `\u{430}`. The same
/// name always gives the same certificate name, and so the same DTLS flight sizes.
fn certificate_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii() {
                c.to_string()
            } else {
                c.escape_unicode().to_string()
            }
        })
        .collect()
}

/// An ECDSA P-256 key that draws a fresh nonce until the DER signature has its full
/// length (72 bytes: both integers with a leading zero byte, about one draw in four).
struct FullLengthEcdsa(Arc<dyn SigningKey>);

impl FullLengthEcdsa {
    const SIGNATURE_LEN: usize = 72;
    /// (3/4)^100 ≈ 3e-13: after this many draws the last signature is used as it is.
    const MAX_DRAWS: usize = 100;
}

impl SigningKey for FullLengthEcdsa {
    fn supports(&self, scheme: SignatureScheme) -> bool {
        self.0.supports(scheme)
    }

    fn public_key(&self) -> PublicKey<'_> {
        self.0.public_key()
    }

    fn sign(&self, scheme: SignatureScheme, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut signature = self.0.sign(scheme, message)?;
        for _ in 1..Self::MAX_DRAWS {
            if signature.len() == Self::SIGNATURE_LEN {
                break;
            }
            signature = self.0.sign(scheme, message)?;
        }
        Ok(signature)
    }
}

fn other_error(error: impl std::fmt::Display) -> webrtc::error::Error {
    webrtc::error::Error::Other(error.to_string())
}
