//! `loadline new-store NAME`: writes a new plug-in crate — its
//! `Cargo.toml`, a store kind (config, capabilities, `open`, a working
//! in-memory key-value store and its conformance test), a `main` with the
//! whole CLI and one scenario, plus loadline's `Cargo.lock` — from the
//! templates in
//! `runner/templates/plugin/`, which loadline's own tests build and run as
//! the `plugin_template` example.

use std::path::{Path, PathBuf};

use super::{CliError, Exit};
use crate::cli::NewStoreArgs;

/// The kind's source; its `stencil`/`Stencil` become the new name.
const KIND: &str = include_str!("../../templates/plugin/stencil.rs");
const CARGO_TOML: &str = include_str!("../../templates/plugin/Cargo.toml.tmpl");
const MAIN: &str = include_str!("../../templates/plugin/main.rs.tmpl");
const SCENARIO: &str = include_str!("../../templates/plugin/smoke.yaml.tmpl");

/// The files of a new plug-in crate for kind `name` depending on loadline
/// at `loadline`: (path inside the crate, contents).
pub(crate) fn files(name: &str, loadline: &Path) -> Vec<(&'static str, String)> {
    let camel: String = name
        .split('_')
        .map(|part| {
            let mut c = part.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect();
    let fill = |text: &str| {
        text.replace("{{loadline_path}}", &loadline.display().to_string())
            .replace("Stencil", &camel)
            .replace("stencil-", &format!("{}-", name.replace('_', "-")))
            .replace("stencil_", &format!("{name}_"))
            .replace("stencil", name)
    };
    vec![
        ("Cargo.toml", fill(CARGO_TOML)),
        ("src/lib.rs", fill(KIND)),
        ("src/main.rs", fill(MAIN)),
        ("scenarios/smoke.yaml", fill(SCENARIO)),
    ]
}

/// A kind name scenarios can write: `[a-z][a-z0-9_]*`.
fn valid_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Writes the crate and says what to run next.
pub(crate) fn new_store(args: &NewStoreArgs) -> Result<Exit, CliError> {
    if !valid_name(&args.name) {
        return Err(CliError::Usage(format!(
            "new-store: `{}` is not a kind name: lowercase letters, digits and `_`, starting with a letter",
            args.name
        )));
    }
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}-bench", args.name.replace('_', "-"))));
    if std::fs::read_dir(&dir).is_ok_and(|mut d| d.next().is_some()) {
        return Err(CliError::Usage(format!(
            "new-store: {} exists and is not empty",
            dir.display()
        )));
    }
    let loadline = match &args.loadline {
        Some(p) => p.clone(),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")),
    };
    let loadline = std::fs::canonicalize(&loadline).map_err(|source| CliError::Io {
        op: "find the loadline crate at",
        path: loadline.clone(),
        source,
    })?;
    for (rel, text) in files(&args.name, &loadline) {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| CliError::Io {
                op: "create the directory",
                path: parent.to_path_buf(),
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
    // loadline's own lock file: the new crate resolves the versions
    // loadline was built and tested with (and, with the `rocksdb` feature,
    // reuses a RocksDB build in a shared target directory instead of
    // compiling it again for newer `cc` or `zstd-sys`).
    if let Some(lock) = loadline.parent().map(|w| w.join("Cargo.lock"))
        && lock.is_file()
    {
        let to = dir.join("Cargo.lock");
        std::fs::copy(&lock, &to).map_err(|source| CliError::Io {
            op: "copy",
            path: lock.clone(),
            source,
        })?;
        super::eprint_line(&format!("wrote {} (loadline's)", to.display()));
    }
    super::eprint_line(&format!(
        "next: cd {} && cargo test --release   # builds without RocksDB, runs the conformance suite",
        dir.display()
    ));
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crate_names_the_kind_everywhere_and_no_stencil_is_left() {
        let files = files("b_tree", Path::new("/src/loadline/runner"));
        let names: Vec<&str> = files.iter().map(|(p, _)| *p).collect();
        assert_eq!(
            names,
            [
                "Cargo.toml",
                "src/lib.rs",
                "src/main.rs",
                "scenarios/smoke.yaml"
            ]
        );
        for (path, text) in &files {
            assert!(
                !text.to_lowercase().contains("stencil"),
                "{path} still says stencil"
            );
        }
        let text = |p: &str| &files.iter().find(|(n, _)| *n == p).unwrap().1;
        assert!(text("Cargo.toml").contains("name = \"b-tree-bench\""));
        assert!(
            text("Cargo.toml")
                .contains("path = \"/src/loadline/runner\", default-features = false")
        );
        assert!(text("src/lib.rs").contains("const NAME: &'static str = \"b_tree\";"));
        assert!(text("src/lib.rs").contains("pub struct BTreeKind;"));
        assert!(text("src/main.rs").contains("b_tree_bench::BTreeKind"));
        assert!(text("scenarios/smoke.yaml").contains("b_tree: {}"));
    }

    /// The scenario a new crate ships validates with its kind registered.
    #[test]
    fn the_generated_scenario_validates_with_the_template_kind() {
        let files = files("stencil", Path::new("/x"));
        let yaml = &files
            .iter()
            .find(|(p, _)| *p == "scenarios/smoke.yaml")
            .unwrap()
            .1;
        // The template's kind is compiled and tested as the
        // `plugin_template` example; here the scenario is checked with a
        // stand-in of the same name and capabilities.
        let loader = crate::scenario::Loader::new(
            crate::store::Registry::builtin()
                .with::<StandIn>()
                .expect("distinct"),
        );
        let src = crate::scenario::load::Source {
            name: "smoke.yaml".to_owned(),
            text: yaml.clone(),
        };
        if let Err(d) = loader.load_source(src, Path::new("smoke.yaml"), &[]) {
            panic!("{}", d.render());
        }
    }

    struct StandIn;

    impl crate::store::StoreKind for StandIn {
        const NAME: &'static str = "stencil";
        const ABOUT: &'static str = "stand-in";
        type Config = crate::store::MemoryConfig;
        fn capabilities(_: &Self::Config) -> crate::store::Capabilities {
            crate::store::Capabilities {
                kv: true,
                ..crate::store::Capabilities::NONE
            }
        }
        fn statistics() -> &'static [crate::store::StatDesc] {
            &[]
        }
        fn open(
            _: &Self::Config,
            _: &Path,
        ) -> Result<Box<dyn crate::store::Store>, crate::store::StoreError> {
            Ok(Box::new(crate::store::MemoryStore::new()))
        }
    }

    #[test]
    fn names_scenarios_cannot_write_are_refused() {
        assert!(valid_name("btree") && valid_name("b_tree2"));
        for bad in ["", "BTree", "2tree", "b-tree", "b tree"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
