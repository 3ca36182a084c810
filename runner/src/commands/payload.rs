//! `loadline payload generate|inspect`: recorded payload files.

use super::{CliError, Exit};
use crate::cli::{KeysArg, PayloadCommand, PayloadGenerateArgs};
use crate::scenario::units::parse_size;
use crate::workload::{self, KeyStyle, PayloadParams, PayloadParamsError, SizeDist};

/// Runs a `payload` subcommand.
pub(crate) fn payload(cmd: &PayloadCommand) -> Result<Exit, CliError> {
    match cmd {
        PayloadCommand::Generate(args) => generate(args),
        PayloadCommand::Inspect(args) => {
            let text = workload::inspect(&args.file)?;
            super::print_text(&text);
            Ok(Exit::Ok)
        }
    }
}

/// Parses `--size`: `1KiB`, `uniform:64B..4KiB`, `normal:1KiB,256B`, `weighted:64B=70,4KiB=30`.
pub(crate) fn parse_size_dist(text: &str) -> Result<SizeDist, String> {
    let size = |s: &str| parse_size(s.trim());
    match text.split_once(':') {
        None => size(text).map(SizeDist::Fixed),
        Some(("uniform", range)) => {
            let (lo, hi) = range
                .split_once("..")
                .ok_or_else(|| format!("`{range}` is not a range; write `uniform:64B..4KiB`"))?;
            Ok(SizeDist::Uniform {
                min: size(lo)?,
                max: size(hi)?,
            })
        }
        Some(("normal", spec)) => {
            let (mean, stddev) = spec.split_once(',').ok_or_else(|| {
                format!("`{spec}` needs a mean and a stddev; write `normal:1KiB,256B`")
            })?;
            Ok(SizeDist::normal(size(mean)?, size(stddev)?))
        }
        Some(("weighted", list)) => {
            let mut out = Vec::new();
            for entry in list.split(',') {
                let (s, w) = entry
                    .split_once('=')
                    .ok_or_else(|| format!("`{entry}` is not `size=weight`"))?;
                let w: u32 = w
                    .trim()
                    .parse()
                    .map_err(|_| format!("`{w}` is not a weight"))?;
                if w == 0 {
                    // A size that is never drawn is a typo, not a choice.
                    return Err(format!("`{entry}`: a weight must be at least 1"));
                }
                out.push((size(s)?, w));
            }
            Ok(SizeDist::Weighted(out))
        }
        Some((other, _)) => Err(format!(
            "unknown size distribution `{other}`; use a size, `uniform:`, `normal:` or `weighted:`"
        )),
    }
}

fn generate(args: &PayloadGenerateArgs) -> Result<Exit, CliError> {
    let size = parse_size_dist(&args.size).map_err(|e| CliError::Usage(format!("--size: {e}")))?;
    if !(0.0..=1.0).contains(&args.entropy) {
        return Err(CliError::Usage(format!(
            "--entropy: {} is not between 0 and 1",
            args.entropy
        )));
    }
    let params = PayloadParams {
        size,
        entropy: args.entropy,
        keys: match args.keys {
            KeysArg::None => KeyStyle::None,
            KeysArg::Single => KeyStyle::Single,
            KeysArg::Pair => KeyStyle::Pair,
            KeysArg::Range => KeyStyle::Range,
        },
        batch: args.batch,
        pool: args.batches,
    };
    // Every check on the arguments happens here, before any I/O, so a bad
    // argument is a usage error (exit 2) naming its flag, never a failure
    // of the generator (exit 3).
    params
        .validate()
        .map_err(|e| CliError::Usage(usage_message(&e)))?;
    // The pool is built in memory before it is written: refuse one that
    // cannot fit instead of letting the allocator abort the process.
    let bytes = args.batches as f64 * args.batch as f64 * params.size.mean();
    if let Some(available) = crate::scenario::budget::available_memory()
        && bytes > available as f64
    {
        return Err(CliError::Usage(format!(
            "--batches {} x --batch {} x {} records is {}, built in memory before it is written; \
             this machine has {} of memory available",
            args.batches,
            args.batch,
            crate::report::format::size(params.size.mean()),
            crate::report::format::size(bytes),
            crate::report::format::size(available as f64)
        )));
    }
    let header = workload::generate(&args.out, &params, args.seed)?;
    super::eprint_line(&format!(
        "wrote {}: {} batches of {} records, {} bytes of records",
        args.out.display(),
        header.batch_count,
        header.batch_size,
        header.records_len
    ));
    Ok(Exit::Ok)
}

/// `--flag: what is wrong` for parameters that fail validation.
fn usage_message(e: &PayloadParamsError) -> String {
    let flag = match e {
        PayloadParamsError::Size(_) => "--size",
        PayloadParamsError::Entropy(_) => "--entropy",
        PayloadParamsError::EmptyBatch => "--batch",
        PayloadParamsError::EmptyPool => "--batches",
        PayloadParamsError::TooManyRecords { .. } => "--batch × --batches",
    };
    format!("{flag}: {e}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_flags_parse_every_distribution() {
        assert_eq!(parse_size_dist("1KiB"), Ok(SizeDist::Fixed(1024)));
        assert_eq!(
            parse_size_dist("uniform:64B..4KiB"),
            Ok(SizeDist::Uniform { min: 64, max: 4096 })
        );
        assert_eq!(
            parse_size_dist("weighted:64B=70,4KiB=30"),
            Ok(SizeDist::Weighted(vec![(64, 70), (4096, 30)]))
        );
        assert!(matches!(
            parse_size_dist("normal:1KiB,256B"),
            Ok(SizeDist::Normal {
                mean: 1024,
                stddev: 256,
                ..
            })
        ));
        assert!(
            parse_size_dist("zipf:1")
                .unwrap_err()
                .contains("unknown size distribution")
        );
        assert!(
            parse_size_dist("weighted:64B=0,4KiB=1")
                .unwrap_err()
                .contains("at least 1")
        );
        assert!(
            parse_size_dist("10 parsecs")
                .unwrap_err()
                .contains("unknown size unit")
        );
    }
}
