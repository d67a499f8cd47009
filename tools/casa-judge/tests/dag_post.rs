//! End to end: casa-judge as the DAGMan POST script of a quicklook node, called
//! exactly as the DAG fragments call it, with CAPO overrides on top.

use std::path::{Path, PathBuf};
use std::process::Command;

fn logs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/logs")
}

const QL_IMAGE: &str =
    "VLASS2.1.ql.T10t12.J075402-033000.10.2048.v1.I.iter1.image.pbcor.tt0.subim.fits";
const QL_RMS: &str =
    "VLASS2.1.ql.T10t12.J075402-033000.10.2048.v1.I.iter1.image.pbcor.tt0.rms.subim.fits";

/// A node directory: the success run's log and its two FITS files under VLASS QL names.
fn node_dir(rms_source: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let products = dir.path().join("products");
    std::fs::create_dir(&products).unwrap();
    let src = logs_dir().join("success");
    std::fs::copy(
        src.join("casa-20261125-133037.log"),
        dir.path().join("casa-20261125-133037.log"),
    )
    .unwrap();
    std::fs::copy(
        src.join("products/target.image.fits"),
        products.join(QL_IMAGE),
    )
    .unwrap();
    std::fs::copy(logs_dir().join(rms_source), products.join(QL_RMS)).unwrap();
    dir
}

fn post(dir: &Path, ret: &str, extra: &[&str]) -> (i32, serde_json::Value) {
    let json = dir.join("judge.json");
    let out = Command::new(env!("CARGO_BIN_EXE_casa-judge"))
        .env_remove("CAPO_PROFILE")
        .args(["--exit-status", ret, "--policy", "quicklook", "--workdir"])
        .arg(dir)
        .arg("--json")
        .arg(&json)
        .args(extra)
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    (out.status.code().unwrap(), doc)
}

#[test]
fn quicklook_post_script_success_and_failures() {
    let good = node_dir("success/products/target.pb.fits");
    let (code, doc) = post(good.path(), "0", &[]);
    assert_eq!(
        (code, doc["verdict"].as_str()),
        (0, Some("success")),
        "{doc:#}"
    );
    let paths: Vec<&str> = doc["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        vec![format!("products/{QL_IMAGE}"), format!("products/{QL_RMS}")]
    );

    // The timeline file: header plus tclean and two exportfits.
    let timeline = good.path().join("timeline.tsv");
    let t = timeline.display().to_string();
    post(good.path(), "0", &["--timeline", t.as_str()]);
    let text = std::fs::read_to_string(&timeline).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows[0][..3], ["task", "status", "start"]);
    assert_eq!(rows.len(), 4);
    assert_eq!(
        rows[1][..5],
        [
            "tclean",
            "ok",
            "2026-11-25 13:30:39",
            "2026-11-25 13:30:54",
            "15"
        ]
    );

    // Removed by condor_rm: retryable.
    let (code, doc) = post(good.path(), "-1002", &[]);
    assert_eq!((code, doc["retryable"].as_bool()), (3, Some(true)));

    // The rms image truncated: permanent failure naming the file.
    let bad = node_dir("truncated_product/products/target.image.fits");
    let (code, doc) = post(bad.path(), "0", &[]);
    assert_eq!(code, 1);
    assert_eq!(doc["reasons"][0]["code"], "invalid_product");
    assert_eq!(
        doc["reasons"][0]["evidence"][0]["file"],
        format!("products/{QL_RMS}")
    );
}

#[test]
fn capo_overrides_the_policy_and_flags_override_capo() {
    let node = node_dir("success/products/target.pb.fits");
    let capo = tempfile::tempdir().unwrap();
    std::fs::write(
        capo.path().join("test.properties"),
        "edu.nrao.vlass.casajudge.quicklook.requiredproducts = products/*.missing.fits\n",
    )
    .unwrap();
    let capo_path = capo.path().display().to_string();
    let with_capo = ["--profile", "test", "--capo-path", capo_path.as_str()];
    let (code, doc) = post(node.path(), "0", &with_capo);
    assert_eq!(
        (code, doc["reasons"][0]["code"].as_str()),
        (1, Some("missing_product"))
    );
    let mut with_flag = with_capo.to_vec();
    with_flag.extend(["--expect", "products/*.fits"]);
    let (code, _) = post(node.path(), "0", &with_flag);
    assert_eq!(code, 0);

    let out = Command::new(env!("CARGO_BIN_EXE_casa-judge"))
        .args([
            "--show-policy",
            "quicklook",
            "--profile",
            "test",
            "--capo-path",
            capo_path.as_str(),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("quicklook.requiredproducts = products/*.missing.fits    [capo: "),
        "{text}"
    );
    assert!(
        text.contains("divergenceisfailure = true    [default]"),
        "{text}"
    );
}
