//! The crypto provider handed to rtc-ice: the built-in primitives (HMAC-SHA1 for
//! MESSAGE-INTEGRITY) with random bytes from the agent's seeded RNG, so the tie-breaker and any
//! generated credentials replay with the seed.

use rand_core::RngCore;
use rtc_ice::crypto::{CryptoError, RTCCrypto, RTCCryptoProvider, RTCRandom};
use sim_core::SimRng;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

/// rtc-ice's random source, drawn from a [`SimRng`].
struct SeededRandom(Mutex<SimRng>);

impl RTCRandom for SeededRandom {
    fn fill(&self, output: &mut [u8]) -> Result<(), CryptoError> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .fill_bytes(output);
        Ok(())
    }
}

/// The built-in provider's primitives with a seeded random source.
pub(crate) struct SeededProvider {
    inner: Arc<dyn RTCCryptoProvider>,
    random: SeededRandom,
}

impl fmt::Debug for SeededProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeededProvider")
            .field("inner", &self.inner.name())
            .finish_non_exhaustive()
    }
}

impl SeededProvider {
    /// The default provider with `rng` as its random source.
    pub(crate) fn new(rng: SimRng) -> Result<Self, CryptoError> {
        Ok(Self {
            inner: rtc_ice::crypto::default_provider()?,
            random: SeededRandom(Mutex::new(rng)),
        })
    }
}

impl RTCCryptoProvider for SeededProvider {
    fn name(&self) -> &'static str {
        "natlab-seeded"
    }

    fn crypto(&self) -> &dyn RTCCrypto {
        self.inner.crypto()
    }

    fn random(&self) -> &dyn RTCRandom {
        &self.random
    }
}
