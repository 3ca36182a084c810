//! `loadline __crash-child` (hidden): the writer process of a crash phase,
//! run by re-executing the running binary (so a binary built on loadline
//! with its own store kinds crashes them too). Reads the resolved scenario
//! from stdin, then hands over to
//! [`engine::crash::child_main`](crate::engine::crash::child_main), which
//! streams acknowledgements on stdout until the parent kills it. Exits on
//! its own when stdin closes, so it never outlives its parent.

use std::io::{BufRead, Read};

use super::{CliError, Exit};
use crate::cli::CrashChildArgs;
use crate::engine::crash;
use crate::scenario::{Loader, load::Source};

/// Runs the crash child; returns only on error (or when the parent is gone).
pub(crate) fn crash_child(args: &CrashChildArgs, loader: &Loader) -> Result<Exit, CliError> {
    let io_err = |source| CliError::Io {
        op: "read",
        path: "stdin".into(),
        source,
    };
    let mut stdin = std::io::stdin().lock();
    let mut line = String::new();
    stdin.read_line(&mut line).map_err(io_err)?;
    let len: usize = line
        .trim()
        .parse()
        .map_err(|_| CliError::Usage(format!("crash child: bad length line `{}`", line.trim())))?;
    let mut doc = vec![0u8; len];
    stdin.read_exact(&mut doc).map_err(io_err)?;
    drop(stdin);
    let text = String::from_utf8(doc)
        .map_err(|_| CliError::Usage("crash child: the scenario is not UTF-8".to_owned()))?;
    let source = Source {
        name: args.file.display().to_string(),
        text,
    };
    let loaded = loader
        .load_source(source, &args.file, &[])
        .map_err(|d| CliError::Usage(format!("crash child: {}", d.render())))?;
    let Some(s) = loaded.variants.first() else {
        return Err(CliError::Usage("crash child: no variant".to_owned()));
    };
    let target = s
        .targets
        .iter()
        .find(|t| t.name == args.target)
        .ok_or_else(|| CliError::Usage(format!("crash child: no target `{}`", args.target)))?;
    let phase = s
        .phases
        .iter()
        .find(|p| p.name == args.phase)
        .ok_or_else(|| CliError::Usage(format!("crash child: no phase `{}`", args.phase)))?;
    // The parent holds our stdin open until it kills us; end of file means
    // it died without reaping us, so stop writing to its store.
    std::thread::Builder::new()
        .name("loadline-parent-watch".to_owned())
        .spawn(|| {
            let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
            std::process::exit(Exit::Interrupted as i32);
        })
        .map_err(|source| CliError::Io {
            op: "start",
            path: "the crash child's thread watching stdin".into(),
            source,
        })?;
    match crash::child_main(
        s,
        target,
        phase,
        args.seed,
        &args.data,
        Box::new(std::io::stdout()),
    ) {
        Ok(never) => match never {},
        Err(e) => Err(e.into()),
    }
}
