//! Helpers the tools' end-to-end tests share (each tool's test includes this file with
//! `#[path = "../../../tests/sandbox.rs"] mod sandbox;`): running a tool in a directory
//! of its own with no CAPO configuration from the environment, copying test data there,
//! and taking a snapshot of the directory to show that a run changed nothing.
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the tool at `exe` in `cwd`, with CAPO_PROFILE/CAPO_PATH removed and HOME set to
/// `cwd` (so no `~/.capo` of the machine is read).
pub fn run_isolated(exe: &str, cwd: &Path, args: &[&str]) -> Output {
    Command::new(exe)
        .args(args)
        .current_dir(cwd)
        .env_remove("CAPO_PROFILE")
        .env_remove("CAPO_PATH")
        .env("HOME", cwd)
        .output()
        .unwrap_or_else(|e| panic!("{exe} runs: {e}"))
}

/// Every file and directory below `dir` with its contents, to show a run changed nothing.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut found = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                found.insert(path.clone(), None);
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                found.insert(path, Some(bytes));
            }
        }
    }
    found
}

/// Copies the directory tree `from` to `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}
