//! Layering, provenance and reporting, on real files in temporary directories.

use super::*;
use std::collections::HashMap;
use std::fs;
use std::path::Path;

struct Tree {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Tree {
    fn new() -> Tree {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().to_path_buf();
        for sub in ["site", "ssa", "home/.capo"] {
            fs::create_dir_all(root.join(sub)).expect("mkdir");
        }
        Tree { _dir: dir, root }
    }

    fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.root.join(relative);
        fs::write(&path, text).expect("write");
        path
    }

    fn env(&self, profile: Option<&str>) -> HashMap<String, String> {
        let mut env = HashMap::from([
            (
                "CAPO_PATH".to_string(),
                format!(
                    "{}:{}",
                    self.root.join("site").display(),
                    self.root.join("ssa").display()
                ),
            ),
            (
                "HOME".to_string(),
                self.root.join("home").display().to_string(),
            ),
            ("SCRATCH".to_string(), "/lustre/scratch".to_string()),
        ]);
        if let Some(p) = profile {
            env.insert("CAPO_PROFILE".to_string(), p.to_string());
        }
        env
    }
}

fn qa_settings() -> Settings {
    let mut s = Settings::new();
    s.default_value("edu.nrao.vlass.qa.rmsMaxJy", "0.0002", "SE rms ceiling");
    s.default_value(
        "edu.nrao.vlass.qa.beamMaxArcsec",
        "3.0",
        "SE beam upper bound",
    );
    s.default_value("edu.nrao.vlass.common.threads", "0", "0 = one per core");
    s.default_value(
        "edu.nrao.vlass.qa.writeHeader",
        "false",
        "read-only unless asked",
    );
    s
}

#[test]
fn later_files_win_and_home_is_last() {
    let tree = Tree::new();
    let site = tree.write(
        "site/test.properties",
        "edu.nrao.vlass.qa.rmsmaxjy = 0.0001\nedu.nrao.vlass.qa.beammaxarcsec=2.5\n",
    );
    tree.write(
        "ssa/test.properties",
        "# ssa\nEDU.NRAO.VLASS.QA.RMSMAXJY: 0.00015\n",
    );
    let home = tree.write(
        "home/.capo/test.properties",
        "\n\nedu.nrao.vlass.qa.RmsMaxJy = 0.00018\n",
    );
    let mut s = qa_settings();
    s.load_capo_with(&CapoOptions::default(), &tree.env(Some("test")))
        .expect("loads");
    assert_eq!(s.get_f64("edu.nrao.vlass.qa.rmsmaxjy"), Ok(0.00018));
    assert_eq!(
        s.origin("EDU.nrao.vlass.qa.rmsmaxjy"),
        Some(Origin::Capo {
            file: home,
            line: 3
        })
    );
    assert_eq!(s.get_f64("edu.nrao.vlass.qa.beamMaxArcsec"), Ok(2.5));
    assert_eq!(
        s.origin("edu.nrao.vlass.qa.beammaxarcsec"),
        Some(Origin::Capo {
            file: site,
            line: 2
        })
    );
    assert_eq!(s.get_usize("edu.nrao.vlass.common.threads"), Ok(0));
    assert_eq!(
        s.origin("edu.nrao.vlass.common.threads"),
        Some(Origin::Default)
    );
}

#[test]
fn flags_beat_capo_whatever_the_call_order() {
    let tree = Tree::new();
    tree.write(
        "ssa/prod.properties",
        "edu.nrao.vlass.qa.rmsmaxjy = 0.00015\n",
    );
    let mut s = qa_settings();
    s.apply_assignment("rmsmaxjy=0.0003", "--threshold")
        .expect("known key");
    s.load_capo_with(
        &CapoOptions {
            profile: Some("prod".into()),
            path: None,
        },
        &tree.env(None),
    )
    .expect("loads");
    assert_eq!(s.get_f64("edu.nrao.vlass.qa.rmsmaxjy"), Ok(0.0003));
    let row = s
        .describe()
        .into_iter()
        .find(|e| e.key == "edu.nrao.vlass.qa.rmsmaxjy")
        .expect("declared");
    assert_eq!(row.origin, "flag: --threshold");
    assert_eq!(row.default, "0.0002");
    assert_eq!(row.why, "SE rms ceiling");
}

#[test]
fn flags_must_name_declared_keys() {
    let mut s = qa_settings();
    assert_eq!(
        s.set_flag("rmsmax", "1").map_err(|e| e.to_string()),
        Err(
            "unknown setting 'rmsmax' (flag: flag); --show-config lists the known keys".to_string()
        )
    );
    s.default_value("edu.nrao.vlass.casajudge.threads", "1", "test");
    assert!(matches!(
        s.set_flag("threads", "2"),
        Err(CapoError::AmbiguousKey { .. })
    ));
    s.set_flag("edu.nrao.vlass.common.THREADS", "2")
        .expect("full key");
    assert_eq!(s.get_usize("edu.nrao.vlass.common.threads"), Ok(2));
    assert!(matches!(
        s.apply_assignment("=3", "--threshold"),
        Err(CapoError::NotAnAssignment { .. })
    ));
    assert!(matches!(
        s.apply_assignment("rmsmaxjy", "--threshold"),
        Err(CapoError::NotAnAssignment { .. })
    ));
}

#[test]
fn bad_values_name_key_value_and_origin() {
    let tree = Tree::new();
    let file = tree.write(
        "site/test.properties",
        "a=1\nedu.nrao.vlass.qa.rmsmaxjy = 2e-4 Jy\nedu.nrao.vlass.qa.writeheader = maybe\n",
    );
    let mut s = qa_settings();
    s.load_capo_with(&CapoOptions::default(), &tree.env(Some("test")))
        .expect("loads");
    assert_eq!(
        s.get_f64("edu.nrao.vlass.qa.rmsmaxjy")
            .map_err(|e| e.to_string()),
        Err(format!(
            "{}:2: edu.nrao.vlass.qa.rmsmaxjy: value '2e-4 Jy' is not a finite number",
            file.display()
        ))
    );
    assert!(s
        .get_bool("edu.nrao.vlass.qa.writeheader")
        .is_err_and(|e| e.to_string().ends_with(":3: edu.nrao.vlass.qa.writeheader: value 'maybe' is not true/false, yes/no, on/off or 1/0")));
    assert_eq!(
        s.invalid("EDU.nrao.vlass.qa.RmsMaxJy", "below 1e-4")
            .to_string(),
        format!(
            "{}:2: edu.nrao.vlass.qa.rmsmaxjy: value '2e-4 Jy' is not below 1e-4",
            file.display()
        )
    );
    assert_eq!(
        s.invalid("edu.nrao.vlass.common.threads", "positive")
            .to_string(),
        "edu.nrao.vlass.common.threads: built-in default '0' is not positive"
    );
    s.set_flag_from("rmsmaxjy", "nan", "--threshold")
        .expect("declared");
    assert_eq!(
        s.get_f64("edu.nrao.vlass.qa.rmsmaxjy")
            .map_err(|e| e.to_string()),
        Err(
            "--threshold: edu.nrao.vlass.qa.rmsmaxjy: value 'nan' is not a finite number"
                .to_string()
        )
    );
    assert!(matches!(
        s.get_f64("edu.nrao.vlass.qa.nosuchkey"),
        Err(CapoError::Missing { .. })
    ));
}

#[test]
fn booleans_and_lists() {
    let mut s = Settings::new();
    for (word, expected) in [
        ("YES", true),
        ("on", true),
        ("1", true),
        ("False", false),
        ("off", false),
        ("0", false),
    ] {
        s.default_value("k", word, "test");
        assert_eq!(s.get_bool("k"), Ok(expected), "{word}");
    }
    s.default_value("list", " leap-second, ,flagmanager ", "test");
    assert_eq!(
        s.get_list("list"),
        Ok(vec!["leap-second".to_string(), "flagmanager".to_string()])
    );
    s.default_value("n", "-3", "test");
    assert_eq!(s.get_i64("n"), Ok(-3));
    assert!(s.get_usize("n").is_err());
}

#[test]
fn syntax_error_stops_loading_with_file_and_line() {
    let tree = Tree::new();
    let file = tree.write("ssa/test.properties", "a = 1\nb = 2\nA = 3\n");
    let mut s = qa_settings();
    let err = s
        .load_capo_with(&CapoOptions::default(), &tree.env(Some("test")))
        .map_err(|e| e.to_string());
    assert_eq!(
        err,
        Err(format!(
            "{}:3: key 'a' appears twice in this file",
            file.display()
        ))
    );
}

#[test]
fn no_profile_means_no_capo() {
    let tree = Tree::new();
    tree.write("site/test.properties", "edu.nrao.vlass.qa.rmsmaxjy = 1\n");
    let mut s = qa_settings();
    s.load_capo_with(&CapoOptions::default(), &tree.env(None))
        .expect("fine");
    assert_eq!(s.get_str("edu.nrao.vlass.qa.rmsmaxjy"), Some("0.0002"));
    let text = s.show_config().to_string();
    assert!(
        text.starts_with("CAPO profile: none (CAPO not used"),
        "{text}"
    );
}

#[test]
fn show_config_reports_files_settings_and_typos() {
    let tree = Tree::new();
    tree.write(
        "ssa/test.properties",
        "edu.nrao.vlass.qa.rmsmaxjyy = 0.1\nedu.nrao.vlass.casajudge.other = 1\nedu.nrao.archive.workflow.config.CasaVersion.path = ${env:SCRATCH}/casa\nscratch.both = ${env:SCRATCH}:${env:HOME}\n",
    );
    fs::create_dir_all(tree.root.join("home/.capo/test.properties"))
        .expect("a directory where a file should be");
    let mut s = qa_settings();
    s.load_capo_with(&CapoOptions::default(), &tree.env(Some("test")))
        .expect("loads");
    s.set_flag_from("beammaxarcsec", "2.8", "--threshold")
        .expect("declared");

    // Foreign keys are readable, env references expanded, each with its own variable.
    assert_eq!(
        s.get_str("EDU.NRAO.ARCHIVE.WORKFLOW.CONFIG.CASAVERSION.PATH"),
        Some("/lustre/scratch/casa")
    );
    let home = tree.root.join("home").display().to_string();
    assert_eq!(
        s.get_str("scratch.both"),
        Some(format!("/lustre/scratch:{home}").as_str())
    );

    let report = s.show_config();
    let statuses: Vec<&FileStatus> = report.files.iter().map(|f| &f.status).collect();
    assert_eq!(statuses[0], &FileStatus::Missing);
    assert_eq!(statuses[1], &FileStatus::Read { properties: 4 });
    assert!(matches!(statuses[2], FileStatus::Unreadable { .. }));
    // Only the tool's own namespaces count for typos (qa. and common., not casajudge.).
    let unknown: Vec<&str> = report.unknown_keys.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(unknown, vec!["edu.nrao.vlass.qa.rmsmaxjyy"]);
    assert_eq!(report.warnings.len(), 2, "{:?}", report.warnings);
    assert!(report.warnings[0].starts_with("unknown setting edu.nrao.vlass.qa.rmsmaxjyy (capo: "));
    assert!(report.warnings[1].contains("scratch.both"));

    let text = report.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "CAPO profile: test (from CAPO_PROFILE)");
    assert!(
        lines.contains(&"  edu.nrao.vlass.common.threads   = 0       [default]"),
        "{text}"
    );
    assert!(
        lines.contains(&"  edu.nrao.vlass.qa.beammaxarcsec = 2.8     [flag: --threshold]"),
        "{text}"
    );
    assert!(text.contains("unknown keys in CAPO"), "{text}");

    let json = serde_json::to_value(&report).expect("serializes");
    assert_eq!(json["profile"]["name"], "test");
    assert_eq!(json["files"][0]["status"], "missing");
    assert_eq!(json["files"][1]["properties"], 4);
    assert_eq!(
        json["settings"][1]["key"],
        "edu.nrao.vlass.qa.beammaxarcsec"
    );
    assert_eq!(json["settings"][1]["origin"], "flag: --threshold");
}

#[test]
fn capo_path_flag_replaces_environment_path() {
    let tree = Tree::new();
    let other = tree.root.join("other");
    fs::create_dir_all(&other).expect("mkdir");
    fs::write(
        other.join("test.properties"),
        "edu.nrao.vlass.qa.rmsmaxjy=0.5\n",
    )
    .expect("write");
    tree.write("ssa/test.properties", "edu.nrao.vlass.qa.rmsmaxjy=0.7\n");
    let mut s = qa_settings();
    let opts = CapoOptions {
        profile: None,
        path: Some(other.display().to_string()),
    };
    s.load_capo_with(&opts, &tree.env(Some("test")))
        .expect("loads");
    assert_eq!(s.get_f64("edu.nrao.vlass.qa.rmsmaxjy"), Ok(0.5));
    assert_eq!(s.show_config().files.len(), 2);
    assert!(Path::new(&s.show_config().files[1].path).ends_with(".capo/test.properties"));
}

#[test]
fn typo_namespace_is_the_tool_level() {
    let tree = Tree::new();
    tree.write("ssa/test.properties", "edu.nrao.vlass.qa.sse.noisewarnjy = 1\nedu.nrao.vlass.qa.se.noisewarnjy = 2\nedu.nrao.vlassx.qa.y = 3\n");
    let mut s = Settings::new();
    s.default_value("edu.nrao.vlass.qa.se.noiseWarnJy", "0.0002", "test");
    s.load_capo_with(&CapoOptions::default(), &tree.env(Some("test")))
        .expect("loads");
    let unknown: Vec<String> = s.unknown_keys().into_iter().map(|e| e.key).collect();
    assert_eq!(
        unknown,
        vec!["edu.nrao.vlass.qa.sse.noisewarnjy".to_string()]
    );
    assert_eq!(s.get_f64("edu.nrao.vlass.qa.se.noisewarnjy"), Ok(2.0));
}
