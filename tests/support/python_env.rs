//! A Python virtualenv for the tests that drive klagg with off-the-shelf Python clients, made
//! by the tests themselves: `target/test-python`, holding exactly the pinned packages of
//! `tests/python/requirements.txt`. Nothing is installed by hand or into the system Python;
//! the venv is made on first use and again whenever the requirements change.
#![allow(dead_code)]

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The pinned requirements, next to the client scripts.
fn requirements() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/requirements.txt")
}

/// `target/` of this build: the test executable lives in `target/<profile>/deps/`.
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().expect("the test executable's path");
    exe.ancestors().nth(3).map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target"),
        Path::to_path_buf,
    )
}

/// The venv's Python interpreter, with every pinned requirement installed.
///
/// # Panics
///
/// When `python3` cannot make a venv or pip cannot install the requirements (PyPI not
/// reachable, say), with the commands that would do it by hand.
pub fn python() -> PathBuf {
    let venv = target_dir().join("test-python");
    let python = venv.join("bin/python");
    let wanted = fs::read_to_string(requirements()).expect("tests/python/requirements.txt");
    let stamp = venv.join("klagg-requirements.txt");
    fs::create_dir_all(target_dir()).expect("target directory");
    // Test binaries and the tests in them run at once: one makes the venv, the others wait.
    let lock = File::create(target_dir().join("test-python.lock")).expect("venv lock file");
    lock.lock().expect("venv lock");
    if fs::read_to_string(&stamp).is_ok_and(|had| had == wanted) && python.is_file() {
        return python;
    }
    let by_hand = format!(
        "python3 -m venv {venv} && {venv}/bin/python -m pip install -r {req}",
        venv = venv.display(),
        req = requirements().display()
    );
    eprintln!("making the test virtualenv: {by_hand}");
    run(
        Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&venv),
        "python3 -m venv (needs Python 3 with its venv module)",
        &by_hand,
    );
    run(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(requirements()),
        "pip install -r tests/python/requirements.txt (needs PyPI)",
        &by_hand,
    );
    fs::write(&stamp, wanted).expect("venv stamp");
    python
}

fn run(command: &mut Command, what: &str, by_hand: &str) {
    match command.status() {
        Ok(status) if status.success() => {}
        Ok(status) => panic!("{what} failed ({status}); to make the venv by hand: {by_hand}"),
        Err(e) => panic!("{what} could not start ({e}); to make the venv by hand: {by_hand}"),
    }
}
