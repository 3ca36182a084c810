//! The entropy check: compresses a sample of a payload with zstd and lz4 and
//! compares the achieved compression with what the requested entropy
//! implies, so a scenario that asks for "80 % random" is known to get it.
//!
//! Owns [`Compressibility`] (recorded in `run.json` and the report) and
//! [`entropy_warning`]. It does not print: callers decide where a warning
//! goes (stderr, the report).
//!
//! # Model
//!
//! A body of `len` bytes holds `round(entropy × len)` random bytes and then
//! zeros. Random bytes do not compress and a run of zeros compresses to a
//! few bytes, so a good compressor should shrink a sample to about
//! `entropy` of its size: the *expected compressed fraction* equals the
//! requested entropy. Ratios here are fractions, `compressed / original`
//! (1.0 = incompressible, 0.25 = shrunk to a quarter). The judge is zstd at
//! level 3; lz4 (a weaker, faster compressor often configured in stores) is
//! reported for information. Small records make the per-record zero run
//! cost a few bytes each, which the check rightly reports: at 64-byte
//! records and entropy 0.5, zstd cannot get near 50 %.

use serde::Serialize;

use super::payload::PayloadView;

/// The largest sample compressed, in bytes.
pub(crate) const SAMPLE_LIMIT: usize = 4 << 20;

/// Relative disagreement beyond which [`entropy_warning`] warns.
pub(crate) const TOLERANCE: f64 = 0.10;

/// Absolute slack (in compressed fraction) added to the tolerance, so that
/// entropy near 0 is not judged on a compressor's framing bytes.
pub(crate) const ABSOLUTE_SLACK: f64 = 0.01;

/// Records larger than this are sampled in pieces rather than whole.
const LARGE: usize = 64 << 10;

/// Size of the evenly spaced pieces taken from a large record: small enough
/// that the pieces track its random/zero proportion closely.
const PIECE: usize = 4 << 10;

/// zstd level of the check: zstd's default, and what stores commonly use.
const ZSTD_LEVEL: i32 = 3;

/// Requested entropy versus achieved compression on a sample of a payload.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct Compressibility {
    /// The payload's `entropy`, which is also the expected compressed fraction.
    pub requested_entropy: f64,
    /// zstd (level 3) compressed size / sample size.
    pub zstd_ratio: f64,
    /// lz4 (block format) compressed size / sample size.
    pub lz4_ratio: f64,
    /// Bytes compressed (at most [`SAMPLE_LIMIT`]).
    pub sample_bytes: usize,
}

/// zstd failed to compress the sample (it only fails on internal errors).
#[derive(Debug, thiserror::Error)]
#[error("zstd could not compress the payload sample: {0}")]
pub(crate) struct CompressError(#[source] pub std::io::Error);

/// Compresses a sample of up to [`SAMPLE_LIMIT`] bytes of `view`'s bodies
/// with zstd and lz4.
///
/// The sample spreads evenly over the whole payload: when the bodies exceed
/// the limit, records of up to 64 KiB are taken whole at evenly spaced
/// indices (so the choice does not depend on size), and larger records
/// contribute evenly spaced 4 KiB pieces, keeping their random/zero
/// proportion.
///
/// # Errors
/// zstd reports an internal failure.
pub(crate) fn compressibility(
    view: &PayloadView<'_>,
    requested_entropy: f64,
) -> Result<Compressibility, CompressError> {
    let sample = sample(view, SAMPLE_LIMIT);
    if sample.is_empty() {
        return Ok(Compressibility {
            requested_entropy,
            zstd_ratio: 0.0,
            lz4_ratio: 0.0,
            sample_bytes: 0,
        });
    }
    let zstd = zstd::bulk::compress(&sample, ZSTD_LEVEL).map_err(CompressError)?;
    let lz4 = lz4_flex::block::compress(&sample);
    let n = sample.len() as f64;
    Ok(Compressibility {
        requested_entropy,
        zstd_ratio: zstd.len() as f64 / n,
        lz4_ratio: lz4.len() as f64 / n,
        sample_bytes: sample.len(),
    })
}

/// A one-line warning when zstd's compressed fraction differs from the
/// requested entropy by more than [`TOLERANCE`] of the entropy plus
/// [`ABSOLUTE_SLACK`]; `None` when they agree or nothing was sampled.
pub(crate) fn entropy_warning(c: &Compressibility) -> Option<String> {
    if c.sample_bytes == 0 {
        return None;
    }
    let expected = c.requested_entropy;
    let allowed = TOLERANCE * expected + ABSOLUTE_SLACK;
    if (c.zstd_ratio - expected).abs() <= allowed {
        return None;
    }
    let direction = if c.zstd_ratio > expected {
        "less compressible"
    } else {
        "more compressible"
    };
    Some(format!(
        "payload is {direction} than its entropy {:.2} implies: zstd shrinks a {} KiB sample to \
         {:.1} % of its size (lz4: {:.1} %), expected about {:.1} %",
        expected,
        c.sample_bytes.div_ceil(1024),
        c.zstd_ratio * 100.0,
        c.lz4_ratio * 100.0,
        expected * 100.0,
    ))
}

/// Gathers the sample described on [`compressibility`].
fn sample(view: &PayloadView<'_>, limit: usize) -> Vec<u8> {
    let records = view.records();
    let total = view.body_bytes();
    let mut out = Vec::with_capacity(total.min(limit));
    if total <= limit {
        for r in records {
            out.extend_from_slice(r.body);
        }
        return out;
    }
    let frac = limit as f64 / total as f64;
    for (i, r) in records.iter().enumerate() {
        let room = limit - out.len();
        if room == 0 {
            break;
        }
        let body = r.body;
        if body.len() > LARGE {
            // Evenly spaced pieces covering about `frac` of the body.
            let pieces = ((body.len() as f64 * frac / PIECE as f64).round() as usize).max(1);
            let stride = body.len() / pieces;
            for p in 0..pieces {
                let room = limit - out.len();
                let start = p * stride;
                let len = PIECE.min(body.len() - start).min(room);
                out.extend_from_slice(&body[start..start + len]);
            }
        } else {
            // Take record i when the running quota `(i + 1) × frac` crosses
            // an integer: evenly spaced, independent of record sizes.
            let before = (i as f64 * frac).floor();
            let after = ((i + 1) as f64 * frac).floor();
            if after > before {
                out.extend_from_slice(&body[..body.len().min(room)]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::payload::tests::params;
    use crate::workload::payload::{KeyStyle, PayloadPool};
    use crate::workload::rng::pool_stream;
    use crate::workload::size::SizeDist;

    fn check(size: SizeDist, entropy: f64, pool: usize) -> Compressibility {
        let p = crate::workload::PayloadParams {
            pool,
            ..params(size, entropy, KeyStyle::None)
        };
        let pool = PayloadPool::generate(&p, &mut pool_stream(3, "entropy")).expect("pool");
        compressibility(&pool.view(), entropy).expect("compress")
    }

    #[test]
    fn entropy_zero_compresses_to_almost_nothing() {
        let c = check(SizeDist::Fixed(4096), 0.0, 16);
        assert_eq!(c.sample_bytes, 16 * 10 * 4096);
        assert!(c.zstd_ratio < 0.01, "{c:?}");
        assert!(c.lz4_ratio < 0.01, "{c:?}");
        assert_eq!(entropy_warning(&c), None);
    }

    #[test]
    fn entropy_one_does_not_compress() {
        let c = check(SizeDist::Fixed(4096), 1.0, 16);
        assert!(c.zstd_ratio > 0.99, "{c:?}");
        assert!(c.lz4_ratio > 0.99, "{c:?}");
        assert_eq!(entropy_warning(&c), None);
    }

    #[test]
    fn half_entropy_compresses_to_half() {
        let c = check(SizeDist::Fixed(4096), 0.5, 16);
        assert!((c.zstd_ratio - 0.5).abs() < 0.02, "{c:?}");
        assert_eq!(entropy_warning(&c), None);
    }

    #[test]
    fn disagreement_is_reported() {
        // Tiny records: each zero run costs zstd a few bytes.
        let c = check(SizeDist::Fixed(16), 0.25, 50);
        let w = entropy_warning(&c).expect("a warning");
        assert!(w.contains("less compressible than its entropy 0.25"), "{w}");
        let made_up = Compressibility {
            requested_entropy: 0.8,
            zstd_ratio: 0.3,
            lz4_ratio: 0.4,
            sample_bytes: 4096,
        };
        let w = entropy_warning(&made_up).expect("a warning");
        assert!(
            w.contains("more compressible") && w.contains("30.0 %"),
            "{w}"
        );
        // Just inside the band: 0.8 ± (0.08 + 0.01).
        let inside = Compressibility {
            zstd_ratio: 0.885,
            ..made_up
        };
        assert_eq!(entropy_warning(&inside), None);
    }

    #[test]
    fn sample_is_bounded_and_proportional() {
        // 50 batches × 10 records × 1 KiB = 500 KiB, sampled down to 100 KiB.
        let p = params(SizeDist::Fixed(1024), 0.5, KeyStyle::None);
        let pool = PayloadPool::generate(&p, &mut pool_stream(1, "s")).expect("pool");
        let s = sample(&pool.view(), 100 << 10);
        assert!(s.len() <= 100 << 10 && s.len() >= 99 << 10, "{}", s.len());
        let zeros = s.iter().filter(|&&b| b == 0).count() as f64 / s.len() as f64;
        // Half zeros, plus random bytes that happen to be 0 (1/256 of half).
        assert!((zeros - 0.502).abs() < 0.01, "{zeros}");

        // Huge records are sampled in pieces, keeping the proportion.
        let p = crate::workload::PayloadParams {
            batch: 1,
            pool: 3,
            ..params(SizeDist::Fixed(1 << 20), 0.25, KeyStyle::None)
        };
        let pool = PayloadPool::generate(&p, &mut pool_stream(1, "big")).expect("pool");
        let s = sample(&pool.view(), 1 << 20);
        assert!(s.len() <= 1 << 20);
        let zeros = s.iter().filter(|&&b| b == 0).count() as f64 / s.len() as f64;
        assert!((zeros - 0.75).abs() < 0.07, "{zeros}");
    }
}
