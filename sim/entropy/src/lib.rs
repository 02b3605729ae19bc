//! Where every random byte of the process comes from.
//!
//! Dependencies such as `rtc-stun` (transaction ids) and `rtc-ice` (tie-breakers, ufrag) draw
//! from `rand::rng()`, which seeds itself from the OS through the `getrandom` crate. A simulated
//! run must not see OS entropy, or two runs of the same scenario and seed would differ. The
//! workspace therefore builds `getrandom` with its `custom` backend
//! (`--cfg getrandom_backend="custom"` in `.cargo/config.toml`) and this crate provides the
//! backend:
//!
//! * on a thread inside a [`seeded`] scope, bytes come from a ChaCha20 stream derived from the
//!   scenario seed;
//! * everywhere else (live servers, the analyser, tests), bytes come from the OS
//!   (`/dev/urandom`), exactly as the default backend would give them.
//!
//! One binary does both: the mode is per thread and chosen at run time. `rand::rng()` keeps a
//! generator per thread and seeds it on first use, so a simulated run must start on a *fresh*
//! thread and enter its scope before anything draws (`sim-world` runs every world on its own
//! thread). Reseeding after 64 KiB also draws from the scope, so long runs stay reproducible.
//!
//! getrandom 0.3 and 0.4 both call the same hook (`__getrandom_v03_custom`), so one definition
//! serves every version in the dependency graph. A binary that links `getrandom` must link this
//! crate too (any crate depending on `sim-core` does, through its re-export).
//!
//! ```
//! use rand_core::RngCore;
//! let draw = |seed| {
//!     let _scope = sim_entropy::seeded(seed);
//!     let mut buf = [0u8; 8];
//!     getrandom::fill(&mut buf).unwrap();
//!     buf
//! };
//! assert_eq!(draw(7), draw(7));
//! assert_ne!(draw(7), draw(8));
//! ```

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use std::cell::RefCell;
use std::fs::File;
use std::io::Read;
use std::marker::PhantomData;

thread_local! {
    static STREAM: RefCell<Option<ChaCha20Rng>> = const { RefCell::new(None) };
}

/// While alive, this thread's random bytes come from the seed it was made with.
///
/// Dropping it restores what the thread had before (OS entropy, or an enclosing scope's
/// stream). It is neither `Send` nor `Sync`: it belongs to the thread that made it.
#[derive(Debug)]
#[must_use = "the scope ends when this value is dropped"]
pub struct Scope {
    previous: Option<ChaCha20Rng>,
    _thread: PhantomData<*const ()>,
}

/// Makes this thread's entropy deterministic, derived from `seed`, until the scope is dropped.
pub fn seeded(seed: u64) -> Scope {
    let previous = STREAM.with(|s| s.replace(Some(ChaCha20Rng::seed_from_u64(seed))));
    Scope {
        previous,
        _thread: PhantomData,
    }
}

/// Whether this thread is inside a [`seeded`] scope.
pub fn is_seeded() -> bool {
    STREAM.with(|s| s.borrow().is_some())
}

impl Drop for Scope {
    fn drop(&mut self) {
        let previous = self.previous.take();
        STREAM.with(|s| *s.borrow_mut() = previous);
    }
}

/// Fills `dest` from this thread's source.
///
/// # Errors
/// When the OS source cannot be read.
pub fn fill(dest: &mut [u8]) -> std::io::Result<()> {
    let seeded = STREAM.with(|s| match s.borrow_mut().as_mut() {
        Some(rng) => {
            rng.fill_bytes(dest);
            true
        }
        None => false,
    });
    if seeded {
        return Ok(());
    }
    File::open("/dev/urandom")?.read_exact(dest)
}

/// getrandom's custom backend. `dest` points at `len` writable (possibly uninitialised) bytes.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
unsafe extern "Rust" fn __getrandom_v03_custom(
    dest: *mut u8,
    len: usize,
) -> Result<(), getrandom::Error> {
    let mut buf = vec![0u8; len];
    fill(&mut buf).map_err(|_| getrandom::Error::UNEXPECTED)?;
    // SAFETY: getrandom hands us a pointer to `len` bytes it owns for the duration of the call;
    // `buf` is a separate allocation of exactly `len` bytes.
    unsafe { std::ptr::copy_nonoverlapping(buf.as_ptr(), dest, len) };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os_bytes() -> [u8; 32] {
        let mut b = [0u8; 32];
        getrandom::fill(&mut b).expect("os entropy");
        b
    }

    #[test]
    fn entropy_unseeded_thread_draws_differ() {
        assert!(!is_seeded());
        assert_ne!(os_bytes(), os_bytes());
    }

    #[test]
    fn entropy_seeded_scope_repeats_and_restores() {
        let first = {
            let _s = seeded(42);
            assert!(is_seeded());
            os_bytes()
        };
        assert!(!is_seeded());
        let again = {
            let _s = seeded(42);
            os_bytes()
        };
        assert_eq!(first, again);
    }

    #[test]
    fn entropy_nested_scope_restores_outer_stream() {
        let _outer = seeded(1);
        let a = os_bytes();
        {
            let _inner = seeded(2);
            let _ = os_bytes();
        }
        let b = os_bytes();
        let _reference = seeded(1);
        let a2 = os_bytes();
        let b2 = os_bytes();
        assert_eq!((a, b), (a2, b2));
    }
}
