//! Field paths into a scenario document (`payloads.small.size`,
//! `phases.write.actors.0.batch`), used by `matrix:` expansion and by
//! `--set path=value` overrides, and the expansion of a matrix into labelled
//! variants.
//!
//! Owns path resolution (phases by name or index), substitution into the
//! JSON document, and the cartesian product. Whether a substituted value is
//! valid is decided by the schema check and validation of each variant.

use serde_json::Value;

use super::load::escape_segment;

/// Most variants a matrix may expand to.
pub(crate) const MAX_VARIANTS: usize = 256;

/// Resolves a dotted field path to a JSON pointer inside `doc`. Every part
/// but the last must exist; list items are addressed by index or, for
/// items with a `name`, by name.
pub(crate) fn resolve(doc: &Value, path: &str) -> Result<String, String> {
    let parts: Vec<&str> = path.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(format!(
            "`{path}` is not a field path; write e.g. `payloads.small.size`"
        ));
    }
    let mut node = doc;
    let mut pointer = String::new();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let so_far = parts[..i].join(".");
        match node {
            Value::Object(map) => {
                pointer.push('/');
                pointer.push_str(&escape_segment(part));
                match map.get(*part) {
                    Some(child) => node = child,
                    None if last => return Ok(pointer),
                    None => {
                        let keys: Vec<&str> = map.keys().map(String::as_str).collect();
                        let mut msg = format!(
                            "`{path}` points at nothing: `{}` has no `{part}`",
                            if so_far.is_empty() {
                                "the scenario"
                            } else {
                                &so_far
                            }
                        );
                        if let Some(m) = super::diagnostic::did_you_mean(part, keys.iter().copied())
                        {
                            msg.push_str(&format!(" (did you mean `{m}`?)"));
                        }
                        return Err(msg);
                    }
                }
            }
            Value::Array(items) => {
                let index = part.parse::<usize>().ok().or_else(|| {
                    items
                        .iter()
                        .position(|it| it.get("name").and_then(Value::as_str) == Some(part))
                });
                match index.and_then(|i| items.get(i).map(|it| (i, it))) {
                    Some((idx, child)) => {
                        pointer.push_str(&format!("/{idx}"));
                        node = child;
                    }
                    None => {
                        let names: Vec<&str> = items
                            .iter()
                            .filter_map(|it| it.get("name").and_then(Value::as_str))
                            .collect();
                        let mut msg =
                            format!("`{path}` points at nothing: `{so_far}` has no item `{part}`");
                        if !names.is_empty() {
                            msg.push_str(&format!(
                                " (items: {})",
                                super::diagnostic::one_of(&names)
                            ));
                        }
                        return Err(msg);
                    }
                }
            }
            _ => {
                return Err(format!(
                    "`{path}` points inside `{so_far}`, which is a single value"
                ));
            }
        }
    }
    Ok(pointer)
}

/// Sets the value at `pointer` (its parent must exist).
pub(crate) fn set(doc: &mut Value, pointer: &str, value: Value) {
    let (parent, last) = pointer.rsplit_once('/').unwrap_or(("", pointer));
    let key = last.replace("~1", "/").replace("~0", "~");
    match doc.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.insert(key, value);
        }
        Some(Value::Array(items)) => {
            if let Some(slot) = key.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                *slot = value;
            }
        }
        _ => {}
    }
}

/// One combination of matrix values: `(key, pointer, value index, value)`.
pub(crate) type Combination = Vec<(String, String, usize, Value)>;

/// The cartesian product of the matrix, in file order (the last key varies fastest).
pub(crate) fn combinations(dims: &[(String, String, Vec<Value>)]) -> Vec<Combination> {
    let mut out: Vec<Combination> = vec![Vec::new()];
    for (key, pointer, values) in dims {
        let mut next = Vec::with_capacity(out.len() * values.len());
        for combo in &out {
            for (i, v) in values.iter().enumerate() {
                let mut c = combo.clone();
                c.push((key.clone(), pointer.clone(), i, v.clone()));
                next.push(c);
            }
        }
        out = next;
    }
    out
}

/// A short label for a combination: the last part of each key and its value.
pub(crate) fn label(combo: &Combination) -> String {
    let short = |k: &str| k.rsplit('.').next().unwrap_or(k).to_owned();
    let mut names: Vec<String> = combo.iter().map(|(k, ..)| short(k)).collect();
    let unique = names.iter().collect::<std::collections::HashSet<_>>().len() == names.len();
    if !unique {
        names = combo.iter().map(|(k, ..)| k.clone()).collect();
    }
    combo
        .iter()
        .zip(names)
        .map(|((_, _, _, v), n)| {
            format!(
                "{n}={}",
                v.as_str().map_or_else(|| v.to_string(), str::to_owned)
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// A matrix value as variant labels show it.
pub(crate) fn setting_text(v: &serde_json::Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({"payloads": {"small": {"size": "512B"}},
               "phases": [{"name": "warm"}, {"name": "write", "actors": [{"op": "append"}]}]})
    }

    #[test]
    fn resolves_phases_by_name_or_index() {
        let d = doc();
        assert_eq!(
            resolve(&d, "payloads.small.size").unwrap(),
            "/payloads/small/size"
        );
        assert_eq!(
            resolve(&d, "phases.write.actors.0.batch").unwrap(),
            "/phases/1/actors/0/batch"
        );
        assert_eq!(
            resolve(&d, "phases.1.actors.0.op").unwrap(),
            "/phases/1/actors/0/op"
        );
        assert!(
            resolve(&d, "phases.wirte.actors.0.batch")
                .unwrap_err()
                .contains("no item `wirte`")
        );
        assert!(
            resolve(&d, "paylods.small.size")
                .unwrap_err()
                .contains("did you mean `payloads`")
        );
        assert!(
            resolve(&d, "payloads.small.size.x")
                .unwrap_err()
                .contains("single value")
        );
    }

    #[test]
    fn expands_the_cartesian_product_with_labels() {
        let dims = vec![
            (
                "payloads.small.size".to_owned(),
                "/a".to_owned(),
                vec![json!("64B"), json!("1KiB")],
            ),
            (
                "phases.write.actors.0.batch".to_owned(),
                "/b".to_owned(),
                vec![json!(1), json!(10), json!(100)],
            ),
        ];
        let c = combinations(&dims);
        assert_eq!(c.len(), 6);
        assert_eq!(label(&c[0]), "size=64B,batch=1");
        assert_eq!(label(&c[5]), "size=1KiB,batch=100");
        let mut d = doc();
        set(&mut d, "/payloads/small/size", json!("4KiB"));
        assert_eq!(d["payloads"]["small"]["size"], "4KiB");
    }
}
