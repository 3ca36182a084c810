//! Payloads: generated (size distribution, entropy, keys, pool) or recorded
//! in a payload file.

use std::path::Path;

use super::context::{Ctx, check_name};
use crate::scenario::load::escape_segment;
use crate::scenario::model::*;
use crate::scenario::spec::{PayloadSpec, ScenarioSpec, SizeSpec};

pub(super) fn payloads(ctx: &mut Ctx<'_>, spec: &ScenarioSpec, file: &Path) -> Vec<Payload> {
    let mut out = Vec::new();
    for (name, p) in &spec.payloads {
        let ptr = format!("/payloads/{}", escape_segment(name));
        check_name(ctx, &ptr, "payload", name);
        if let Some(source) = payload(ctx, &ptr, p, file) {
            out.push(Payload {
                name: name.clone(),
                source,
            });
        }
    }
    out
}

pub(super) fn payload(
    ctx: &mut Ctx<'_>,
    ptr: &str,
    p: &PayloadSpec,
    file: &Path,
) -> Option<PayloadSource> {
    if let Some(path) = &p.file {
        for (field, set) in [
            ("size", p.size.is_some()),
            ("entropy", p.entropy.is_some()),
            ("keys", p.keys.is_some()),
            ("pool", p.pool.is_some()),
        ] {
            if set {
                let d = ctx.key_error(
                    &format!("{ptr}/{field}"),
                    format!("`{field}` cannot be combined with `file`"),
                );
                d.help = Some(
                    "a recorded payload file fixes sizes, entropy and keys when it is generated"
                        .to_owned(),
                );
            }
        }
        let resolved = file.parent().unwrap_or(Path::new(".")).join(path);
        if !resolved.is_file() {
            // Something that exists but is no file (`/dev/zero`, a
            // directory, a FIFO) is told apart from a missing file.
            let what = match std::fs::metadata(&resolved) {
                Ok(m) if m.is_dir() => "is a directory, not a regular file",
                Ok(_) => "is not a regular file (a device, FIFO or socket)",
                Err(_) => "does not exist",
            };
            let d = ctx.error(
                &format!("{ptr}/file"),
                format!("payload file `{}` {what}", resolved.display()),
            );
            d.help = Some("make one with `loadline payload generate --out FILE ...`; the path is relative to the scenario file".to_owned());
            return None;
        }
        return match crate::workload::PayloadFile::open(&resolved) {
            Ok(f) => Some(PayloadSource::File {
                path: resolved,
                batch: f.batch_size(),
            }),
            Err(e) => {
                let d = ctx.error(&format!("{ptr}/file"), e.to_string());
                d.help = Some("regenerate it with `loadline payload generate`".to_owned());
                None
            }
        };
    }
    let Some(size) = &p.size else {
        let d = ctx.key_error(ptr, "payload has neither `size` nor `file`");
        d.expected = Some("`size: 512B` (or a distribution), or `file: payloads.bin`".to_owned());
        return None;
    };
    let size = size_dist(ctx, &format!("{ptr}/size"), size)?;
    let pool = p.pool.map_or(1024, |c| c.0);
    if pool == 0 {
        let d = ctx.error(&format!("{ptr}/pool"), "`pool` must be at least 1");
        d.found = Some("0".to_owned());
    }
    Some(PayloadSource::Generated {
        size,
        entropy: p.entropy.unwrap_or(1.0),
        keys: p.keys.unwrap_or(KeyStyle::None),
        pool,
    })
}

pub(super) fn size_dist(ctx: &mut Ctx<'_>, ptr: &str, s: &SizeSpec) -> Option<SizeDist> {
    const MAX_RECORD: u64 = 64 << 20;
    let check = |ctx: &mut Ctx<'_>, p: &str, v: u64| {
        if v > MAX_RECORD {
            let d = ctx.error(p, "record size is too large");
            d.expected = Some("at most 64MiB per record".to_owned());
            d.found = Some(crate::scenario::units::format_size(v));
        }
    };
    Some(match s {
        SizeSpec::Fixed(b) => {
            check(ctx, ptr, b.0);
            SizeDist::Fixed(b.0)
        }
        SizeSpec::Uniform([lo, hi]) => {
            check(ctx, &format!("{ptr}/uniform/1"), hi.0);
            if lo.0 > hi.0 {
                let d = ctx.error(&format!("{ptr}/uniform"), "uniform size range is reversed");
                d.expected = Some("`[min, max]` with min <= max".to_owned());
                d.found = Some(format!("[{lo}, {hi}]"));
                return None;
            }
            SizeDist::Uniform {
                min: lo.0,
                max: hi.0,
            }
        }
        SizeSpec::Normal(n) => {
            let min = n.min.map_or(1, |m| m.0);
            let max = n.max.map_or(n.mean.0 + 4 * n.stddev.0, |m| m.0);
            check(ctx, &format!("{ptr}/normal"), max);
            if min > max || n.mean.0 < min || n.mean.0 > max {
                let d = ctx.error(
                    &format!("{ptr}/normal"),
                    "normal size bounds do not hold the mean",
                );
                d.expected = Some("min <= mean <= max".to_owned());
                d.found = Some(format!(
                    "min {}, mean {}, max {}",
                    crate::scenario::units::format_size(min),
                    n.mean,
                    crate::scenario::units::format_size(max)
                ));
                return None;
            }
            SizeDist::Normal {
                mean: n.mean.0,
                stddev: n.stddev.0,
                min,
                max,
            }
        }
        SizeSpec::Weighted(w) => {
            for (i, e) in w.iter().enumerate() {
                check(ctx, &format!("{ptr}/{i}/size"), e.size.0);
            }
            SizeDist::Weighted(w.iter().map(|e| (e.size.0, e.weight)).collect())
        }
    })
}
