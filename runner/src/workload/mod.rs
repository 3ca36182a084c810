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

pub use entropy::{
    ABSOLUTE_SLACK, CompressError, Compressibility, SAMPLE_LIMIT, TOLERANCE, compressibility,
    entropy_warning,
};
pub use file::{
    FORMAT_VERSION, MAGIC, PayloadFile, PayloadFileError, PayloadHeader, generate, inspect,
    write_pool,
};
pub use keys::{
    KeyDist, KeyGen, KeyParams, KeyParamsError, YCSB_ZIPFIAN_THETA, Zipfian, write_key, zeta,
};
pub use payload::{KeyStyle, PayloadParams, PayloadParamsError, PayloadPool, PayloadView};
pub use rng::{
    StreamId, WorkloadRng, bootstrap_stream, file_stream, pool_stream, stream, substream,
};
pub use size::{SizeDist, SizeDistError};
pub use source::PayloadSource;
