//! Call quality from the ITU-T G.107 E-model (06/2015), narrowband:
//!
//! `R = Ro − Is − Id − Ie,eff + A`
//!
//! - `Ro − Is = 93.2`: the basic signal-to-noise ratio and simultaneous impairments with every
//!   G.107 default parameter (§7.1, Table 3), which give R = 93.2 at zero delay.
//! - `Id`: the absolute-delay impairment `Idd` of §7.4 (0 up to `mT` = 100 ms); talker echo
//!   (`Idte`) and listener echo (`Idle`) are taken as controlled (echo cancellers, default TELR
//!   and WEPL), which makes them negligible, and are left out.
//! - `Ie,eff = Ie + (95 − Ie) · Ppl / (Ppl / BurstR + Bpl)` (§7.5) with the codec's `Ie` and `Bpl`
//!   from ITU-T G.113 Appendix I; `Ppl` is the packet loss in percent (network loss plus
//!   packets discarded by the jitter buffer), `BurstR` the burst ratio of a two-state Markov
//!   model of the loss (1 for random loss, larger when losses cluster).
//! - `A = 0` (no advantage of access).
//!
//! MOS (conversational quality, estimated) follows G.107 Annex B:
//! `MOS = 1 + 0.035·R + R·(R − 60)·(100 − R)·7·10⁻⁶` for 0 < R < 100.
//!
//! The jitter buffer and mouth-to-ear delay are assumptions, not measurements (a capture taken
//! at one point cannot see the play-out): see [`JITTER_BUFFER_MS`].

/// The assumed jitter buffer: fixed, 60 ms deep (three 20 ms packets). A packet whose transit
/// time exceeds the smallest transit of its stream by more than this arrives too late to be
/// played and counts as lost; the buffer adds its depth to the mouth-to-ear delay.
pub const JITTER_BUFFER_MS: f64 = 60.0;

/// `Ro − Is` with the G.107 default parameters.
const R_DEFAULT: f64 = 93.2;

/// A codec's equipment impairment and packet-loss robustness (G.113 Appendix I).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Codec {
    /// Equipment impairment factor `Ie`.
    pub ie: f64,
    /// Packet-loss robustness factor `Bpl`.
    pub bpl: f64,
    /// Whether the values are the codec's own (false: G.711 values assumed).
    pub known: bool,
}

/// The E-model values of a codec, by its rtpmap encoding name (case-insensitive). Unknown
/// codecs get G.711's values, marked `known: false`.
pub fn codec(encoding: &str) -> Codec {
    let e = encoding.to_ascii_uppercase();
    let (ie, bpl) = match e.as_str() {
        // G.711 with packet-loss concealment (G.113 Table I.3).
        "PCMU" | "PCMA" => (0.0, 25.1),
        "G729" | "G729A" | "G729AB" => (11.0, 19.0),
        "G723" | "G7231" => (15.0, 16.1),
        "GSM-EFR" => (5.0, 10.0),
        // iLBC 15.2 kbit/s, AMR 12.2 kbit/s (G.113 Table I.1 and I.3).
        "ILBC" => (10.0, 32.0),
        "AMR" => (5.0, 10.0),
        _ => {
            return Codec {
                ie: 0.0,
                bpl: 25.1,
                known: false,
            };
        }
    };
    Codec {
        ie,
        bpl,
        known: true,
    }
}

/// `Idd` (G.107 §7.4, formula 7-28) for a mouth-to-ear delay `ta_ms`, with `mT` = 100 ms.
pub fn delay_impairment(ta_ms: f64) -> f64 {
    const MT: f64 = 100.0;
    if ta_ms <= MT {
        return 0.0;
    }
    let x = (ta_ms / MT).log10() / 2f64.log10();
    25.0 * ((1.0 + x.powi(6)).powf(1.0 / 6.0) - 3.0 * (1.0 + (x / 3.0).powi(6)).powf(1.0 / 6.0)
        + 2.0)
}

/// `Ie,eff` (G.107 formula 7-29) for `ppl` percent packet loss with burst ratio `burst_r`.
pub fn effective_ie(c: Codec, ppl: f64, burst_r: f64) -> f64 {
    let burst_r = burst_r.max(1.0);
    let ppl = ppl.clamp(0.0, 100.0);
    c.ie + (95.0 - c.ie) * ppl / (ppl / burst_r + c.bpl)
}

/// The R-factor.
pub fn r_factor(c: Codec, ppl: f64, burst_r: f64, ta_ms: f64) -> f64 {
    R_DEFAULT - delay_impairment(ta_ms) - effective_ie(c, ppl, burst_r)
}

/// MOS from R (G.107 Annex B, formula B-4).
pub fn mos(r: f64) -> f64 {
    if r <= 0.0 {
        1.0
    } else if r >= 100.0 {
        4.5
    } else {
        1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6
    }
}

/// `BurstR` from the loss pattern (G.107 Note to formula 7-29): with `p` the probability of a
/// loss after a received packet and `q` of a reception after a loss, `BurstR = 1 / (p + q)`.
/// `bursts` is the number of runs of consecutive losses, `lost` the packets in them.
pub fn burst_ratio(received: u64, lost: u64, bursts: u64) -> f64 {
    if lost == 0 || received == 0 || bursts == 0 {
        return 1.0;
    }
    let p = bursts as f64 / received as f64;
    let q = bursts as f64 / lost as f64;
    (1.0 / (p + q)).max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, eps: f64) -> bool {
        (a - b).abs() < eps
    }

    #[test]
    fn emodel_default_parameters_give_r_93_2_and_mos_4_41() {
        let r = r_factor(codec("PCMU"), 0.0, 1.0, 0.0);
        assert!(close(r, 93.2, 1e-9), "{r}");
        assert!(close(mos(r), 4.41, 0.005), "{}", mos(r));
    }

    #[test]
    fn emodel_mos_from_r_annex_b_points() {
        // G.107 Annex B, formula B-4 / Figure B.1 (MOS_CQE against R), to three decimals.
        for (r, m) in [
            (50.0, 2.575),
            (60.0, 3.100),
            (70.0, 3.597),
            (80.0, 4.024),
            (90.0, 4.339),
        ] {
            assert!(close(mos(r), m, 0.0005), "R {r}: {}", mos(r));
        }
        assert_eq!((mos(-3.0), mos(120.0)), (1.0, 4.5));
    }

    #[test]
    fn emodel_delay_impairment_formula_7_28() {
        assert_eq!(delay_impairment(100.0), 0.0);
        // Ta = 2·mT: X = 1; Ta = 4·mT: X = 2 (values from the formula).
        assert!(close(delay_impairment(200.0), 3.044, 0.001));
        assert!(close(delay_impairment(400.0), 24.08, 0.01));
    }

    #[test]
    fn emodel_effective_ie_g113_examples() {
        // G.711 with PLC, 2 % random loss: 95·2/(2 + 25.1).
        assert!(close(effective_ie(codec("PCMA"), 2.0, 1.0), 7.011, 0.001));
        // G.729A, 1 % random loss: 11 + 84·1/(1 + 19).
        assert!(close(effective_ie(codec("G729"), 1.0, 1.0), 15.2, 1e-9));
        // Bursty loss hurts more: BurstR 2 gives 95·2/(1 + 25.1).
        assert!(close(effective_ie(codec("PCMU"), 2.0, 2.0), 7.280, 0.001));
        assert!(!codec("opus").known && codec("g729").known);
    }

    #[test]
    fn emodel_burst_ratio_of_random_and_clustered_loss() {
        // 1 % loss in single-packet bursts: p = 0.0101, q = 1 → BurstR ≈ 0.99 → 1.
        assert_eq!(burst_ratio(990, 10, 10), 1.0);
        // The same loss in two bursts of five: p = 2/990, q = 2/10 → ≈ 4.95 (mean burst 5
        // against 1.01 expected of random loss).
        assert!(close(burst_ratio(990, 10, 2), 4.95, 0.001));
    }
}
