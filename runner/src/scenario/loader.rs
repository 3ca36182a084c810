//! The scenario pipeline: [`Loader`] reads a file (capped in size),
//! parses it with locations, applies a profile and `--set` overrides,
//! checks it against the generated JSON Schema, validates it into checked
//! `model` types and expands the matrix into variants — reporting *every*
//! problem it can find before anything runs: syntax and structural errors
//! first (the schema), then semantic ones (references, names, capabilities,
//! assertions), then problems that only appear in some matrix variants.

use std::path::Path;

use serde_json::Value;

use super::diagnostic::{Diagnostic, Diagnostics, Severity};
use super::load::Source;
use super::load::locate;
use super::model::Scenario;
use super::overrides::{Overrides, apply_overrides, apply_profile};
use super::spec::ScenarioSpec;
use super::{check, load, matrix, model, repair, schema, validate, yaml};

use crate::store::Registry;

/// A loaded scenario file: its variants (one without a matrix) and warnings.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The file as read.
    pub source: Source,
    /// The wire form, as written (before matrix and overrides).
    pub spec: ScenarioSpec,
    /// One checked scenario per matrix combination.
    pub variants: Vec<Scenario>,
    /// Problems that do not stop the run.
    pub warnings: Vec<Diagnostic>,
}

/// Reads at most one byte more than [`load::MAX_BYTES`], so `/dev/zero`,
/// `/dev/urandom` or a huge file is refused as too large after 8 MiB
/// instead of being read to the end (or forever).
fn read_capped(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(load::MAX_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The scenario format of one binary: its store kinds, the JSON Schema
/// generated for them and the compiled validator. Built once per process.
pub(crate) struct Loader {
    registry: Registry,
    schema: Value,
    validator: jsonschema::Validator,
}

impl std::fmt::Debug for Loader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loader")
            .field("kinds", &self.registry)
            .finish_non_exhaustive()
    }
}

impl Loader {
    /// A loader for the kinds of `registry`.
    pub(crate) fn new(registry: Registry) -> Loader {
        let schema = schema::scenario_schema_for(&registry);
        let validator = schema::compile(&schema);
        Loader {
            registry,
            schema,
            validator,
        }
    }

    /// The loader of plain `loadline`: the built-in kinds.
    pub(crate) fn builtin() -> &'static Loader {
        static BUILTIN: std::sync::OnceLock<Loader> = std::sync::OnceLock::new();
        BUILTIN.get_or_init(|| Loader::new(Registry::builtin()))
    }

    /// The store kinds this loader knows.
    pub(crate) fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The scenario schema (draft 2020-12) for these kinds.
    pub(crate) fn schema(&self) -> &Value {
        &self.schema
    }

    /// Reads and validates a scenario file. `overrides` are `--set
    /// path=value` pairs applied before validation.
    pub(crate) fn load_file(
        &self,
        path: &Path,
        overrides: &[String],
    ) -> Result<Loaded, Diagnostics> {
        let name = path.display().to_string();
        let bytes = read_capped(path).map_err(|e| {
            Diagnostics(vec![Diagnostic {
                severity: Severity::Error,
                file: name.clone(),
                line: 1,
                column: 1,
                path: String::new(),
                message: format!("cannot read scenario file: {e}"),
                expected: None,
                found: None,
                help: None,
                source_line: None,
                width: 1,
            }])
        })?;
        let source = load::decode(&name, bytes).map_err(|d| Diagnostics(vec![*d]))?;
        self.load_source(source, path, overrides)
    }

    /// Validates scenario text already in memory (`path` resolves payload files).
    pub(crate) fn load_source(
        &self,
        source: Source,
        path: &Path,
        overrides: &[String],
    ) -> Result<Loaded, Diagnostics> {
        load_with(self, source, path, overrides)
    }
}

/// Reads and validates a scenario file with the built-in store kinds (see
/// `Loader::load_file`).
pub fn load_file(path: &Path, overrides: &[String]) -> Result<Loaded, Diagnostics> {
    Loader::builtin().load_file(path, overrides)
}

/// Validates scenario text with the built-in store kinds (see
/// `Loader::load_source`).
pub fn load_source(
    source: Source,
    path: &Path,
    overrides: &[String],
) -> Result<Loaded, Diagnostics> {
    Loader::builtin().load_source(source, path, overrides)
}

/// Test helper: the variants of scenario text `yaml` (as file `t.yaml`),
/// panicking with the rendered diagnostics when it is invalid.
#[cfg(test)]
pub(crate) fn test_variants(yaml: &str) -> Vec<model::Scenario> {
    let src = Source {
        name: "t.yaml".to_owned(),
        text: yaml.to_owned(),
    };
    match load_source(src, Path::new("t.yaml"), &[]) {
        Ok(l) => l.variants,
        Err(d) => panic!("{}", d.render()),
    }
}

/// The pipeline, one named step each: parse, apply the profile and the
/// `--set` overrides, check the schema (removing what it refuses), read
/// the wire types, expand the matrix, validate each variant — then report
/// every problem at once, each once, in file order.
fn load_with(
    loader: &Loader,
    source: Source,
    path: &Path,
    overrides: &[String],
) -> Result<Loaded, Diagnostics> {
    let (mut doc, mut index) = yaml::parse(&source).map_err(Diagnostics)?;
    let mut diags = Vec::new();
    // A profile (`--profile NAME`, i.e. `--set profile=NAME`, or `profile:`
    // in the file) applies its overrides first, so `--set` still wins.
    apply_profile(&source, &mut doc, &mut index, overrides, &mut diags);
    if !diags.is_empty() {
        return Err(Diagnostics(diags));
    }
    let set = apply_overrides(&mut doc, &index, overrides, &mut diags);
    if !diags.is_empty() {
        return Err(Diagnostics(diags));
    }
    let base_repair = check_schema(loader, &source, &mut doc, &index, &mut diags)
        .map_err(|ds| set.explain(ds))?;
    let spec: ScenarioSpec = match deserialize(&source, &index, &doc) {
        Ok(spec) => spec,
        Err(d) => {
            diags.extend(d.0);
            return Err(set.explain(diags));
        }
    };
    let combos = matrix_combinations(&source, &doc, &index, &spec, &set, &mut diags);
    let file = File {
        loader,
        source: &source,
        doc: &doc,
        index: &index,
        repair: &base_repair,
        path,
        several: combos.len() > 1,
    };
    let mut variants = Vec::new();
    for combo in &combos {
        variants.extend(file.variant(combo, &mut diags));
    }
    // The same problem in several variants is reported once.
    let mut seen = std::collections::HashSet::new();
    diags.retain(|d| seen.insert((d.line, d.column, d.message.clone(), d.severity)));
    diags.sort_by_key(|d| (d.line, d.column));
    if diags.iter().any(|d| d.severity == Severity::Error) {
        return Err(set.explain(diags));
    }
    Ok(Loaded {
        source,
        spec,
        variants,
        warnings: diags,
    })
}

/// The schema stage. Its errors do not stop validation: what the schema
/// refused is removed (the returned repair), and the rest is checked for
/// semantic and reference errors too, so a file's every error is reported
/// in one run. `Err` when nothing is left to validate.
fn check_schema(
    loader: &Loader,
    source: &Source,
    doc: &mut Value,
    index: &load::LocIndex,
    diags: &mut Vec<Diagnostic>,
) -> Result<repair::Repair, Vec<Diagnostic>> {
    let structural = check::check(source, doc, index, &loader.schema, &loader.validator);
    if structural.is_empty() {
        return Ok(repair::Repair::default());
    }
    match repair::repair(doc, &loader.validator, &repair::Repair::default()) {
        Some((repaired, r)) => {
            *doc = repaired;
            diags.extend(structural);
            Ok(r)
        }
        None => Err(structural),
    }
}

/// One matrix dimension: its key, the pointer it sets, its values.
type Dim = (String, String, Vec<Value>);

/// The matrix's combinations: each key must resolve (to a field no other
/// key and no `--set` sets) and the product must stay within
/// [`matrix::MAX_VARIANTS`]. A matrix that cannot be expanded still leaves
/// the file as written to validate (one empty combination): its other
/// errors are reported with the matrix's.
fn matrix_combinations(
    source: &Source,
    doc: &Value,
    index: &load::LocIndex,
    spec: &ScenarioSpec,
    set: &Overrides,
    diags: &mut Vec<Diagnostic>,
) -> Vec<matrix::Combination> {
    let matrix_from = diags.len();
    let mut dims: Vec<Dim> = Vec::new();
    for (key, values) in &spec.matrix {
        let mptr = format!("/matrix/{}", load::escape_segment(key));
        match matrix::resolve(doc, key) {
            Ok(pointer) if pointer.starts_with("/matrix") || pointer == "/version" => {
                let (span, path) = locate(index, &mptr, true);
                diags.push(source.diagnostic(
                    span,
                    &path,
                    format!(
                        "matrix key `{key}` cannot vary `{}`",
                        key.split('.').next().unwrap_or(key)
                    ),
                ));
            }
            Ok(pointer) => {
                if let Some(d) = matrix_overlap(source, index, &dims, set, key, &mptr, &pointer) {
                    diags.push(d);
                } else {
                    dims.push((key.clone(), pointer, values.clone()));
                }
            }
            Err(e) => {
                let (span, path) = locate(index, &mptr, true);
                let mut d = source.diagnostic(span, &path, e);
                d.expected = Some("a dotted path to a field, e.g. `payloads.small.size` or `phases.write.actors.0.batch`".to_owned());
                diags.push(d);
            }
        }
        if values.is_empty() {
            let (span, path) = locate(index, &mptr, false);
            diags.push(source.diagnostic(span, &path, format!("matrix key `{key}` has no values")));
        }
    }
    let combos = matrix::combinations(&dims);
    if combos.len() > matrix::MAX_VARIANTS {
        let (span, path) = locate(index, "/matrix", true);
        let mut d = source.diagnostic(
            span,
            &path,
            format!("the matrix expands to {} variants", combos.len()),
        );
        d.expected = Some(format!("at most {}", matrix::MAX_VARIANTS));
        diags.push(d);
    }
    if diags[matrix_from..]
        .iter()
        .any(|d| d.severity == Severity::Error)
    {
        vec![Vec::new()]
    } else {
        combos
    }
}

/// A matrix key at `pointer` that sets a field another key sets (both
/// would apply, and the variant label would name values that were
/// overwritten: an error) or that a `--set` sets (`--set` wins over the
/// file, the matrix included: the axis is dropped, a warning).
fn matrix_overlap(
    source: &Source,
    index: &load::LocIndex,
    dims: &[Dim],
    set: &Overrides,
    key: &str,
    mptr: &str,
    pointer: &str,
) -> Option<Diagnostic> {
    let under = |a: &str, b: &str| a == b || a.starts_with(&format!("{b}/"));
    let (span, path) = locate(index, mptr, true);
    if let Some((other, _, _)) = dims
        .iter()
        .find(|(_, p, _)| under(pointer, p) || under(p, pointer))
    {
        let mut d = source.diagnostic(
            span,
            &path,
            format!("matrix keys `{other}` and `{key}` set the same field"),
        );
        d.expected = Some("one matrix key per field".to_owned());
        return Some(d);
    }
    let (_, o) = set
        .pointers
        .iter()
        .find(|(p, _)| under(pointer, p) || under(p, pointer))?;
    let mut d = source.diagnostic(
        span,
        &path,
        format!("`--set {o}` replaces matrix key `{key}`: every variant uses the `--set` value"),
    );
    d.severity = Severity::Warning;
    Some(d)
}

/// A checked file, ready to expand into its matrix variants.
struct File<'a> {
    loader: &'a Loader,
    source: &'a Source,
    /// The document with overrides applied and schema errors removed.
    doc: &'a Value,
    index: &'a load::LocIndex,
    /// What the schema stage removed from `doc`.
    repair: &'a repair::Repair,
    path: &'a Path,
    /// More than one variant: diagnostics name the variant they are in.
    several: bool,
}

impl File<'_> {
    /// The variant of matrix combination `combo`, checked against the
    /// schema again (a matrix value can break it) and validated; its
    /// problems are added to `diags`, `None` when it is invalid.
    fn variant(
        &self,
        combo: &matrix::Combination,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<Scenario> {
        let (mut vdoc, vindex) = self.variant_document(combo);
        let label = matrix::label(combo);
        let note = |d: &mut Diagnostic| {
            if !label.is_empty() {
                let extra = format!("in matrix variant `{label}`");
                d.help = Some(match d.help.take() {
                    Some(h) => format!("{h} ({extra})"),
                    None => extra,
                });
            }
        };
        let structural = if combo.is_empty() {
            Vec::new()
        } else {
            let l = self.loader;
            check::check(self.source, &vdoc, &vindex, &l.schema, &l.validator)
        };
        let vrepair = if structural.is_empty() {
            self.repair.clone()
        } else {
            for mut d in structural {
                note(&mut d);
                diags.push(d);
            }
            let (repaired, r) = repair::repair(&vdoc, &self.loader.validator, self.repair)?;
            vdoc = repaired;
            r
        };
        let vspec: ScenarioSpec = match deserialize(self.source, &vindex, &vdoc) {
            Ok(s) => s,
            Err(ds) => {
                diags.extend(ds.0);
                return None;
            }
        };
        let variant = model::Variant {
            label: label.clone(),
            settings: combo
                .iter()
                .map(|(k, _, _, v)| (k.clone(), v.clone()))
                .collect(),
        };
        let (scenario, ds) = validate::validate(
            &self.loader.registry,
            self.source,
            &vindex,
            &vspec,
            &vdoc,
            variant,
            self.path,
            &vrepair,
        );
        for mut d in ds {
            if self.several {
                note(&mut d);
            }
            diags.push(d);
        }
        scenario
    }

    /// The document with `combo`'s values set, and its locations: a value
    /// set by the matrix is located at its matrix entry.
    fn variant_document(&self, combo: &matrix::Combination) -> (Value, load::LocIndex) {
        let (doc, index) = (self.doc, self.index);
        let mut vdoc = doc.clone();
        let mut vindex = index.clone();
        for (key, pointer, i, value) in combo {
            matrix::set(&mut vdoc, pointer, value.clone());
            let vptr = format!("/matrix/{}/{i}", load::escape_segment(key));
            if let Some(l) = index.get(&vptr) {
                let mut l = l.clone();
                l.path = load::human_path(pointer);
                if doc.pointer(pointer).is_none() {
                    // The matrix adds a key the file does not have: a
                    // problem with that key is the matrix entry's, so its
                    // key span is the matrix key (`payloads.p.colour:`).
                    let mptr = format!("/matrix/{}", load::escape_segment(key));
                    l.key = index.get(&mptr).and_then(|m| m.key);
                }
                vindex.redirect(pointer, l);
            }
        }
        (vdoc, vindex)
    }
}

/// Deserializes the wire types; the schema has already accepted the
/// document, so a failure here is a value the schema cannot express (e.g. a
/// number too large), reported at its path.
fn deserialize(
    source: &Source,
    index: &load::LocIndex,
    doc: &Value,
) -> Result<ScenarioSpec, Diagnostics> {
    serde_path_to_error::deserialize(doc).map_err(|e| {
        let pointer: String = e
            .path()
            .iter()
            .map(|seg| match seg {
                serde_path_to_error::Segment::Seq { index } => format!("/{index}"),
                serde_path_to_error::Segment::Map { key } => {
                    format!("/{}", load::escape_segment(key))
                }
                serde_path_to_error::Segment::Enum { variant } => {
                    format!("/{}", load::escape_segment(variant))
                }
                serde_path_to_error::Segment::Unknown => String::new(),
            })
            .collect();
        let (span, path) = locate(index, &pointer, false);
        Diagnostics(vec![source.diagnostic(span, &path, e.inner().to_string())])
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn load(text: String) -> Result<Loaded, Diagnostics> {
        load_source(
            Source {
                name: "fuzz.yaml".to_owned(),
                text,
            },
            Path::new("fuzz.yaml"),
            &[],
        )
    }

    /// Fragments that reach deep into the loader: keys of the format, units,
    /// YAML syntax (flow, anchors, aliases, tags, documents) and odd bytes.
    fn fragment() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "version: 1\n",
            "name: x\n",
            "targets:\n",
            "  t:\n",
            "    wal: {}\n",
            "    memory:\n",
            "payloads:\n",
            "  p: { size: 512B }\n",
            "phases:\n",
            "  - name: w\n",
            "    records: 5M\n",
            "    duration: 1s\n",
            "    actors:\n",
            "      - { op: append }\n",
            "      - { op: put, keys: { distribution: zipfian } }\n",
            "assertions:\n",
            "  - w.append.p99 < 1ms\n",
            "  - w.append.p99 =< \n",
            "matrix:\n",
            "  phases.w.actors.0.batch: [1, 0]\n",
            "  payloads.p.size: [64B, {uniform: [1B]}]\n",
            "&a ",
            "*a ",
            "!tag ",
            "[",
            "]",
            "{",
            "}",
            ": ",
            "- ",
            "---\n",
            "...\n",
            "\t",
            "\"",
            "'",
            "#",
            "\n",
            "  ",
            "~",
            "1e999",
            "-0",
            "0x",
            "é",
            "\u{feff}",
            "no",
            "10 parsecs",
            "1.5",
            "?",
            "|\n",
            ">-\n",
        ])
        .prop_map(str::to_owned)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// The loader never panics, whatever the text.
        #[test]
        fn never_panics_on_arbitrary_text(text in ".{0,300}") {
            let _ = load(text);
        }

        /// Nor on text built from the format's own pieces, which gets past
        /// the parser into the schema check, validation and the matrix.
        #[test]
        fn never_panics_on_scenario_like_text(parts in prop::collection::vec(fragment(), 0..40)) {
            let _ = load(parts.concat());
        }
    }
}
