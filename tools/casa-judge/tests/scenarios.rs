//! End to end: the binary on every real CASA run of `testdata/logs/` with the
//! recorded exit status (DAGMan `$RETURN`), stdout/stderr and expected products
//! from `manifest.json`, against the verdict the standard gives each run.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn logs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/logs")
}

fn manifest() -> Value {
    let text = std::fs::read_to_string(logs_dir().join("manifest.json")).expect("manifest.json");
    serde_json::from_str(&text).expect("manifest parses")
}

struct Expected {
    name: &'static str,
    success: bool,
    retryable: bool,
    reasons: &'static [&'static str],
    warnings: &'static [&'static str],
    why: &'static str,
}

/// The standard's verdict on each scenario (README "casa-judge", rules 1-6).
const EXPECTED: &[Expected] = &[
    Expected { name: "success", success: true, retryable: false, reasons: &[], warnings: &[],
        why: "clean log, every task ended, products sound, exit 0" },
    Expected { name: "flagmanager_severe", success: false, retryable: false,
        reasons: &["severe_flagmanager", "task_exception"], warnings: &[],
        why: "rule 1: flagmanager's SEVERE records are always fatal; rule 2: the wrapper logged the exception, even though exit is 0" },
    Expected { name: "task_exception", success: false, retryable: false,
        reasons: &["task_exception", "missing_product", "nonzero_exit"], warnings: &[],
        why: "tclean raised (rule 2), no products (rule 5), exit 1 (rule 6); an exception is permanent" },
    Expected { name: "task_exception_swallowed", success: false, retryable: false,
        reasons: &["task_exception", "missing_product"], warnings: &[],
        why: "the script caught the exception and exited 0, but the log shows it (rule 2) and nothing was made (rule 5)" },
    Expected { name: "killed", success: false, retryable: true,
        reasons: &["unterminated_task", "missing_product", "killed"], warnings: &[],
        why: "SIGKILL (-9) mid-tclean: cut off, products missing because of it, nothing else wrong: retry" },
    Expected { name: "killed_sigterm", success: false, retryable: true,
        reasons: &["unterminated_task", "missing_product", "killed"], warnings: &[],
        why: "as killed, with SIGTERM (-15) as condor_rm sends first" },
    Expected { name: "divergence", success: false, retryable: false, reasons: &["divergence"], warnings: &[],
        why: "rule 4: 'Possible divergence' and a peak residual growing 5e5 times, logged at INFO with exit 0" },
    Expected { name: "false_failure", success: true, retryable: false, reasons: &[], warnings: &["false_failure"],
        why: "rule 6: exit 1 from a script error after the work, clean log and both products sound" },
    Expected { name: "benign_severe", success: true, retryable: false, reasons: &[], warnings: &["benign_severe"],
        why: "rule 1: the leap-second SEVERE (3 physical lines) is on the built-in benign list" },
    Expected { name: "no_log", success: false, retryable: false,
        reasons: &["missing_product", "nonzero_exit"], warnings: &["no_log"],
        why: "no log at all: exit 1, traceback on stderr, no products" },
    Expected { name: "no_log_bad_command_line", success: false, retryable: false,
        reasons: &["missing_product", "nonzero_exit"], warnings: &[],
        why: "start-up records only: exit 1 with casashell's NameError, no products" },
    Expected { name: "no_log_bad_parameter", success: false, retryable: false,
        reasons: &["missing_product", "nonzero_exit"], warnings: &[],
        why: "the parameter check failed before Begin Task: only stderr and the exit status tell" },
    Expected { name: "missing_product", success: false, retryable: false, reasons: &["missing_product"], warnings: &[],
        why: "rule 5: clean log and exit 0, but target.pb.fits is absent" },
    Expected { name: "truncated_product", success: false, retryable: false, reasons: &["invalid_product"], warnings: &[],
        why: "rule 5: target.image.fits holds 100000 of the 285184 bytes its header and NAXISn promise" },
    Expected { name: "multiple_logs", success: false, retryable: false, reasons: &["task_exception"],
        warnings: &["python_traceback"],
        why: "rule 2: the first of two CASA processes raised; the wrapper hid it behind exit 0" },
];

fn str_list(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn codes(doc: &Value, field: &str) -> Vec<String> {
    doc[field]
        .as_array()
        .expect("array")
        .iter()
        .map(|f| f["code"].as_str().expect("code").to_string())
        .collect()
}

fn run_scenario(scenario: &Value, extra: &[&str]) -> (i32, Value) {
    let name = scenario["name"].as_str().expect("name");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_casa-judge"));
    cmd.current_dir(logs_dir())
        .env_remove("CAPO_PROFILE")
        .arg("--exit-status")
        .arg(
            scenario["dagman_return"]
                .as_i64()
                .expect("dagman_return")
                .to_string(),
        )
        .arg("--workdir")
        .arg(name)
        .arg("--stdout")
        .arg(scenario["stdout"].as_str().expect("stdout"))
        .arg("--stderr")
        .arg(scenario["stderr"].as_str().expect("stderr"))
        .arg("--json")
        .arg("-")
        .args(extra);
    for product in str_list(&scenario["expected_products"]) {
        cmd.arg("--expect").arg(product);
    }
    cmd.arg(name);
    let out = cmd.output().expect("run casa-judge");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{name}: JSON on stdout: {e}; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().expect("exit code"), doc)
}

#[test]
fn every_scenario_gets_the_standard_verdict() {
    let manifest = manifest();
    let scenarios = manifest["scenarios"].as_array().expect("scenarios");
    assert_eq!(
        scenarios.len(),
        EXPECTED.len(),
        "one expectation per scenario"
    );
    for scenario in scenarios {
        let name = scenario["name"].as_str().unwrap();
        let exp = EXPECTED
            .iter()
            .find(|e| e.name == name)
            .unwrap_or_else(|| panic!("no expectation for {name}"));
        let (code, doc) = run_scenario(scenario, &[]);
        let context = format!("{name} ({}): {doc:#}", exp.why);
        assert_eq!(doc["schema"], "casa-judge/1", "{context}");
        assert_eq!(
            doc["verdict"],
            if exp.success { "success" } else { "failure" },
            "{context}"
        );
        assert_eq!(doc["retryable"], exp.retryable, "{context}");
        assert_eq!(codes(&doc, "reasons"), exp.reasons, "{context}");
        assert_eq!(codes(&doc, "warnings"), exp.warnings, "{context}");
        let expected_code = match (exp.success, exp.retryable) {
            (true, _) => 0,
            (false, true) => 3,
            (false, false) => 1,
        };
        assert_eq!(code, expected_code, "{context}");
        assert_eq!(doc["exit_status"], scenario["dagman_return"], "{context}");

        // The logs found in the scenario directory are exactly the manifest's.
        let judged: Vec<String> = doc["logs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["file"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(judged, str_list(&scenario["logs"]), "{context}");
        for log in doc["logs"].as_array().unwrap() {
            let file = log["file"].as_str().unwrap();
            assert_eq!(log["lines"], scenario["log_line_counts"][file], "{context}");
        }

        // Every log record cited as evidence is one of the manifest's key records
        // (all SEVERE/WARN, task banners, divergence lines, last lines).
        for finding in doc["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .chain(doc["warnings"].as_array().unwrap())
        {
            for ev in finding["evidence"].as_array().unwrap() {
                let (Some(file), Some(line)) = (ev["file"].as_str(), ev["line"].as_u64()) else {
                    continue;
                };
                let Some(records) = scenario["key_records"][file].as_array() else {
                    continue;
                };
                let rec = records.iter().find(|r| r["line"].as_u64() == Some(line));
                let rec = rec.unwrap_or_else(|| {
                    panic!("{name}: {file}:{line} is not a key record of the manifest")
                });
                if let Some(p) = ev["priority"].as_str() {
                    assert_eq!(rec["priority"], p, "{context}");
                }
            }
        }

        // Product statuses agree with the manifest's products_present.
        let present = str_list(&scenario["products_present"]);
        for p in doc["products"].as_array().unwrap() {
            let pattern = p["pattern"].as_str().unwrap();
            let status = p["status"].as_str().unwrap();
            assert_eq!(
                status == "missing",
                !present.contains(&pattern.to_string()),
                "{context}"
            );
        }
    }
}

#[test]
fn thread_count_and_read_mode_do_not_change_the_judgement() {
    let manifest = manifest();
    for scenario in manifest["scenarios"].as_array().unwrap() {
        let (code, reference) = run_scenario(scenario, &["--jobs", "1"]);
        for extra in [&["--jobs", "2"][..], &["--jobs", "3", "--mmap", "read"][..]] {
            let (c, doc) = run_scenario(scenario, extra);
            assert_eq!(
                (c, &doc),
                (code, &reference),
                "{} with {extra:?}",
                scenario["name"]
            );
        }
    }
}

#[test]
fn evidence_names_the_records_the_manifest_describes() {
    let manifest = manifest();
    let scenarios = manifest["scenarios"].as_array().unwrap();
    let get = |n: &str| scenarios.iter().find(|s| s["name"] == n).unwrap();
    // flagmanager_severe: lines 25 and 26 are the flagger's SEVERE, 27 the wrapper's exception.
    let (_, doc) = run_scenario(get("flagmanager_severe"), &[]);
    let lines = |i: usize| -> Vec<u64> {
        doc["reasons"][i]["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["line"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(lines(0), vec![25, 26]);
    assert_eq!(lines(1), vec![27]);
    // killed: Begin Task at 11 and the log's last line 39.
    let (_, doc) = run_scenario(get("killed"), &[]);
    let ev = doc["reasons"][0]["evidence"].as_array().unwrap();
    assert_eq!(
        ev.iter()
            .map(|e| e["line"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![11, 39]
    );
    assert_eq!(doc["tasks"][0]["status"], "unterminated");
    // benign_severe: one record of three physical lines (16-18), joined.
    let (_, doc) = run_scenario(get("benign_severe"), &[]);
    let ev = &doc["warnings"][0]["evidence"];
    assert_eq!(
        ev.as_array().unwrap().len(),
        1,
        "the stderr echo is the same record"
    );
    assert_eq!(ev[0]["line"], 16);
    assert_eq!(ev[0]["text"].as_str().unwrap().lines().count(), 3);
    // success: the timeline has tclean then two exportfits, all ok.
    let (_, doc) = run_scenario(get("success"), &[]);
    let tasks: Vec<(&str, &str)> = doc["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap(), t["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        tasks,
        vec![("tclean", "ok"), ("exportfits", "ok"), ("exportfits", "ok")]
    );
    assert_eq!(doc["tasks"][0]["start"], "2026-11-25 13:30:39");
    assert_eq!(doc["tasks"][0]["duration_s"], 15);
}

#[test]
fn policy_switches_change_the_verdict_as_documented() {
    let manifest = manifest();
    let scenarios = manifest["scenarios"].as_array().unwrap();
    let get = |n: &str| scenarios.iter().find(|s| s["name"] == n).unwrap();
    let (code, doc) = run_scenario(get("false_failure"), &["--set", "nonzeroexitisfatal=true"]);
    assert_eq!(
        (code, doc["reasons"][0]["code"].as_str()),
        (1, Some("nonzero_exit"))
    );
    let (code, doc) = run_scenario(get("divergence"), &["--set", "divergenceisfailure=false"]);
    assert_eq!(code, 0);
    assert_eq!(codes(&doc, "warnings"), vec!["divergence"]);
    let (code, doc) = run_scenario(get("benign_severe"), &["--set", "severeallowlist="]);
    assert_eq!(
        (code, codes(&doc, "reasons")),
        (1, vec!["severe".to_string()])
    );
}
