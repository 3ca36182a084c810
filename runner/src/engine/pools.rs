//! Payload pools of one variant: generated once from the seed per (payload,
//! batch size) before any phase runs, shared by every target so each gets
//! the same bytes, and checked for compressibility (requested entropy vs
//! achieved zstd/lz4 ratio).

use std::collections::HashMap;
use std::sync::Arc;

use crate::metrics::report::PayloadReport;
use crate::scenario::model::{KeyStyle as SpecKeyStyle, PayloadSource as ModelSource, Scenario};
use crate::workload::{self, KeyStyle, PayloadFile, PayloadParams, PayloadPool, PayloadSource};

/// Pools by payload name and batch size.
#[derive(Default)]
pub(crate) struct Pools {
    map: HashMap<(String, usize), Arc<PayloadSource>>,
}

/// A payload that could not be prepared.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PoolError {
    /// Generation parameters were rejected.
    #[error("payload `{name}`: {detail}")]
    Params {
        /// Payload name.
        name: String,
        /// Why.
        detail: String,
    },
    /// The recorded payload file could not be used.
    #[error("payload `{name}`: {source}")]
    File {
        /// Payload name.
        name: String,
        /// Why.
        #[source]
        source: workload::PayloadFileError,
    },
}

fn key_style(k: SpecKeyStyle) -> KeyStyle {
    match k {
        SpecKeyStyle::None => KeyStyle::None,
        SpecKeyStyle::Single => KeyStyle::Single,
        SpecKeyStyle::Pair => KeyStyle::Pair,
        SpecKeyStyle::Range => KeyStyle::Range,
    }
}

impl Pools {
    /// Generates every (payload, batch) pool the scenario's actors use
    /// (or the restricted `phases`), and reports their compressibility.
    pub(crate) fn prepare(
        scenario: &Scenario,
        seed: u64,
        phases: &[&str],
    ) -> Result<(Pools, Vec<PayloadReport>), PoolError> {
        let mut pools = Pools::default();
        let mut reports: Vec<PayloadReport> = Vec::new();
        let wanted = crate::scenario::budget::pool_batches(&scenario.phases, phases);
        for (name, batch) in wanted {
            let Some(payload) = scenario.payload(&name) else {
                continue;
            };
            let source = match &payload.source {
                ModelSource::Generated {
                    size,
                    entropy,
                    keys,
                    pool,
                } => {
                    let params = PayloadParams {
                        size: size.clone(),
                        entropy: *entropy,
                        keys: key_style(*keys),
                        batch,
                        pool: *pool as usize,
                    };
                    let mut rng = workload::pool_stream(seed, &name);
                    let pool = PayloadPool::generate(&params, &mut rng).map_err(|e| {
                        PoolError::Params {
                            name: name.clone(),
                            detail: e.to_string(),
                        }
                    })?;
                    PayloadSource::Pool(pool)
                }
                ModelSource::File { path, .. } => {
                    let file = PayloadFile::open(path).map_err(|source| PoolError::File {
                        name: name.clone(),
                        source,
                    })?;
                    PayloadSource::File(file)
                }
            };
            if !reports.iter().any(|r| r.name == name) {
                let memory_bytes = source.memory_bytes() as u64;
                if let Ok(c) = source.compressibility() {
                    reports.push(PayloadReport {
                        name: name.clone(),
                        requested_entropy: c.requested_entropy,
                        zstd_ratio: c.zstd_ratio,
                        lz4_ratio: c.lz4_ratio,
                        sample_bytes: c.sample_bytes as u64,
                        memory_bytes,
                        warning: workload::entropy_warning(&c)
                            .map(|w| format!("payload `{name}`: {w}")),
                    });
                }
            }
            pools.map.insert((name, batch), Arc::new(source));
        }
        Ok((pools, reports))
    }

    /// The pool of `payload` for batches of `batch` records (puts use 1).
    pub(crate) fn get(&self, payload: &str, batch: usize) -> Option<&PayloadSource> {
        self.map.get(&(payload.to_owned(), batch)).map(Arc::as_ref)
    }
}
