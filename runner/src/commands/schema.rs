//! `loadline schema`: prints or writes the generated JSON Schema, with the
//! running binary's store kinds.

use std::io::Write;

use super::{CliError, Exit};
use crate::cli::SchemaArgs;
use crate::metrics::report::{RUN_SCHEMA_PATH, RunReport};
use crate::scenario::Loader;
use crate::scenario::schema::{self, SCHEMA_DRAFT07_PATH, SCHEMA_PATH};
use crate::scenario::schema_doc::{self, REFERENCE_PATH};
use crate::store::external::protocol::{self, PROTOCOL_SCHEMA_PATH};

/// Prints the schema of this binary's store kinds, or writes the scenario
/// schemas (2020-12 and draft-07), the `run.json` schema, the `external`
/// protocol's schema and the scenario reference rendered from the schema
/// (the book's chapter) under `--write ROOT`.
pub(crate) fn schema(args: &SchemaArgs, loader: &Loader) -> Result<Exit, CliError> {
    let registry = loader.registry();
    match &args.write {
        None => {
            let s = if args.draft07 {
                schema::scenario_schema_draft07_for(registry)
            } else {
                loader.schema().clone()
            };
            let _ = write!(std::io::stdout().lock(), "{}", schema::render(&s));
        }
        Some(root) => {
            for (rel, text) in [
                (SCHEMA_PATH, loader.schema().clone()),
                (
                    SCHEMA_DRAFT07_PATH,
                    schema::scenario_schema_draft07_for(registry),
                ),
                (RUN_SCHEMA_PATH, RunReport::schema()),
                (PROTOCOL_SCHEMA_PATH, protocol::schema()),
            ]
            .into_iter()
            .map(|(rel, value)| (rel, schema::render(&value)))
            .chain([(REFERENCE_PATH, schema_doc::reference(loader.schema()))])
            {
                let path = root.join(rel);
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|source| CliError::Io {
                        op: "create the directory",
                        path: dir.to_path_buf(),
                        source,
                    })?;
                }
                std::fs::write(&path, text).map_err(|source| CliError::Io {
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
