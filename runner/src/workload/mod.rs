//! Workload generation: seeded random streams, record sizes, payload pools
//! and recorded payload files, key distributions, and the entropy check.
//!
//! Owns *what* gets written and *which* keys are touched, deterministically
//! from the scenario seed. It does not own timing, scheduling or running
//! operations (that is `engine`), nor parsing scenario units (`scenario`):
//! the engine maps the validated scenario model onto the plain parameter
//! types here.

mod entropy;
mod file;
mod keys;
mod payload;
mod rng;
mod size;
mod source;

pub(crate) use entropy::entropy_warning;
pub(crate) use file::{PayloadFile, PayloadFileError, generate, inspect};
pub(crate) use keys::{KeyDist, KeyGen, KeyParams};
pub(crate) use payload::{KeyStyle, PayloadParams, PayloadParamsError, PayloadPool, PayloadView};
pub(crate) use rng::{StreamId, WorkloadRng, bootstrap_stream, pool_stream, stream, substream};
pub(crate) use size::SizeDist;
pub(crate) use source::PayloadSource;
