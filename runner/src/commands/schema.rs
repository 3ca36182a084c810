//! `loadline schema`: prints or writes the generated JSON Schema.

use std::io::Write;

use super::{CliError, Exit};
use crate::cli::SchemaArgs;
use crate::scenario::schema::{self, SCHEMA_DRAFT07_PATH, SCHEMA_PATH};

/// Prints the schema, or writes both schema files under `--write ROOT`.
pub fn schema(args: &SchemaArgs) -> Result<Exit, CliError> {
    match &args.write {
        None => {
            let s = if args.draft07 {
                schema::scenario_schema_draft07()
            } else {
                schema::scenario_schema()
            };
            let _ = write!(std::io::stdout().lock(), "{}", schema::render(&s));
        }
        Some(root) => {
            for (rel, value) in [
                (SCHEMA_PATH, schema::scenario_schema()),
                (SCHEMA_DRAFT07_PATH, schema::scenario_schema_draft07()),
            ] {
                let path = root.join(rel);
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|source| CliError::Io {
                        op: "create the directory",
                        path: dir.to_path_buf(),
                        source,
                    })?;
                }
                std::fs::write(&path, schema::render(&value)).map_err(|source| CliError::Io {
                    op: "write",
                    path: path.clone(),
                    source,
                })?;
                super::eprint_line(&format!("wrote {}", path.display()));
            }
        }
    }
    Ok(Exit::Ok)
}
