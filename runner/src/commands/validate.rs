//! `loadline validate`: checks scenario files and reports every problem.

use std::io::Write;

use super::{CliError, Exit, print_diagnostics};
use crate::cli::{Format, ValidateArgs};
use crate::scenario::{Loader, diagnostic::Diagnostics};

/// Validates each file; prints one line per valid file, diagnostics for the rest.
pub(crate) fn validate(args: &ValidateArgs, loader: &Loader) -> Result<Exit, CliError> {
    let mut all = Vec::new();
    let mut lines = Vec::new();
    let mut invalid = false;
    for file in &args.files {
        match loader.load_file(
            file,
            &super::with_profile(&args.overrides, args.profile.as_deref()),
        ) {
            Ok(loaded) => {
                let s = &loaded.variants[0];
                let variants = loaded.variants.len();
                let ok_line = format!(
                    "ok: {} ({} target{}, {} phase{}, {} assertion{}{})",
                    file.display(),
                    s.targets.len(),
                    plural(s.targets.len()),
                    s.phases.len(),
                    plural(s.phases.len()),
                    s.assertions.len(),
                    plural(s.assertions.len()),
                    if variants > 1 {
                        format!(", {variants} variants")
                    } else {
                        String::new()
                    }
                );
                all.extend(loaded.warnings);
                let mut profile_failed = false;
                // Without `--profile`, every profile is checked too: a
                // profile that breaks the file is found before CI picks it.
                if args.profile.is_none() {
                    for name in loaded.spec.profiles.keys() {
                        let overrides = super::with_profile(&args.overrides, Some(name));
                        if let Err(d) = loader.load_file(file, &overrides) {
                            invalid = true;
                            profile_failed = true;
                            all.extend(d.0.into_iter().map(|mut diag| {
                                let note = format!("with profile `{name}`");
                                diag.help = Some(match diag.help.take() {
                                    Some(h) => format!("{h} ({note})"),
                                    None => note,
                                });
                                diag
                            }));
                        }
                    }
                }
                if !profile_failed {
                    lines.push(ok_line);
                }
            }
            Err(d) => {
                invalid = true;
                all.extend(d.0);
            }
        }
    }
    let diags = Diagnostics(all);
    match args.format {
        Format::Human => {
            if !diags.0.is_empty() {
                print_diagnostics(&diags);
            }
            for l in &lines {
                super::print_text(&format!("{l}\n"));
            }
        }
        Format::Json => {
            let doc = serde_json::json!({ "valid": !invalid, "diagnostics": diags.0 });
            let _ = writeln!(
                std::io::stdout().lock(),
                "{}",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            );
        }
    }
    if invalid {
        Err(CliError::Invalid(Diagnostics::default()))
    } else {
        Ok(Exit::Ok)
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
