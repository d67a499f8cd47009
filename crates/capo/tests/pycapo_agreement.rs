//! vlass-capo reads every file in `testdata/capo/` the way NRAO's pycapo 0.3.1 does.
//!
//! The reference, `testdata/capo/pycapo-expected.json`, is written by
//! `scripts/capo-pycapo-golden.py`, which runs pycapo itself on the same files. Cases named
//! `differs-*` are the two documented, deliberate differences (capo note, part B).

use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use vlass_capo::{properties, CapoOptions, Origin, Settings};

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/capo")
}

fn expected() -> Value {
    let text =
        std::fs::read_to_string(testdata().join("pycapo-expected.json")).expect("golden file");
    serde_json::from_str(&text).expect("golden JSON")
}

fn case_environment(golden: &Value) -> HashMap<String, String> {
    golden["case_environment"]
        .as_object()
        .expect("case_environment")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect()
}

/// pycapo's options with keys lower-cased (pycapo upper-cases, we lower-case).
fn pycapo_options(options: &Value) -> BTreeMap<String, String> {
    options
        .as_object()
        .expect("options")
        .iter()
        .map(|(k, v)| (k.to_lowercase(), v.as_str().unwrap_or_default().to_string()))
        .collect()
}

#[test]
fn single_files_agree_with_pycapo() {
    let golden = expected();
    let env = case_environment(&golden);
    let cases = golden["cases"].as_object().expect("cases");
    assert!(cases.len() >= 10, "golden file lists too few cases");
    for (name, want) in cases {
        let path = testdata().join("cases").join(name);
        let ours = properties::read(&path, &env).expect("readable");
        match name.as_str() {
            // pycapo silently drops every key after a [section]; we refuse the file.
            "differs-section.properties" => {
                let err = ours.expect_err("section must be an error").to_string();
                assert!(err.ends_with(":2: section header '[section]' is not allowed in a CAPO file (pycapo would ignore every key after it)"), "{err}");
            }
            // pycapo gives every ${env:} reference the first variable's value; we expand each.
            "differs-env-first-variable.properties" => {
                let props = ours.expect("parses");
                assert_eq!(pycapo_options(&want["options"])["both"], "foo/x/foo");
                assert_eq!(props[0].value, "foo/x/bar");
                assert!(props[0].several_env_references);
            }
            _ if want.get("error").is_some() => {
                assert!(
                    ours.is_err(),
                    "{name}: pycapo fails with {}, we accepted it",
                    want["error"]
                );
            }
            _ => {
                let props =
                    ours.unwrap_or_else(|e| panic!("{name}: pycapo reads it, we fail: {e}"));
                let got: BTreeMap<String, String> =
                    props.into_iter().map(|p| (p.key, p.value)).collect();
                assert_eq!(got, pycapo_options(&want["options"]), "{name}");
            }
        }
    }
}

#[test]
fn layered_files_agree_with_pycapo() {
    let golden = expected();
    let layers = testdata().join("layers");
    let env: HashMap<String, String> = HashMap::from([
        ("CAPO_PROFILE".to_string(), "test".to_string()),
        (
            "CAPO_PATH".to_string(),
            format!(
                "{}:{}",
                layers.join("site").display(),
                layers.join("ssa").display()
            ),
        ),
        (
            "HOME".to_string(),
            layers.join("home").display().to_string(),
        ),
    ]);
    let mut settings = Settings::new();
    settings
        .load_capo_with(&CapoOptions::default(), &env)
        .expect("loads");
    let options = pycapo_options(&golden["layers"]["options"]);
    assert_eq!(options.len(), 4);
    for (key, value) in &options {
        assert_eq!(settings.get_str(key), Some(value.as_str()), "{key}");
        let location = golden["layers"]["locations"][key.to_uppercase()]
            .as_str()
            .expect("location");
        match settings.origin(key) {
            Some(Origin::Capo { file, .. }) => assert_eq!(file, layers.join(location), "{key}"),
            other => panic!("{key}: origin {other:?}"),
        }
    }
}
