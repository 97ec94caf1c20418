//! Python virtualenvs for the tests that drive klagg with off-the-shelf Python clients, made by
//! the tests themselves under `target/`, each holding exactly the pinned packages of its
//! requirements file in `tests/python/`. Nothing is installed by hand or into the system
//! Python; a venv is made on first use and again whenever its requirements change.
//!
//! There are several because python-binance and Binance's `binance-*-connector` packages all
//! install into one `binance` package, overwriting each other's files (`binance/__init__.py`,
//! `binance/api.py`...).
//!
//! Without access to PyPI, make the venvs from wheels fetched elsewhere: `pip download -r
//! tests/python/<file> -d wheels` on a machine that has access, then run the tests with
//! `PIP_NO_INDEX=1 PIP_FIND_LINKS=/path/to/wheels cargo test` (pip reads both variables), or
//! make each venv by hand with the command a failing test prints.
#![allow(dead_code)]

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;

/// One test virtualenv: its folder under `target/` and its pinned requirements file.
#[derive(Debug, Clone, Copy)]
pub struct PythonEnv {
    /// Folder name under `target/`.
    pub dir: &'static str,
    /// Requirements file in `tests/python/`.
    pub requirements: &'static str,
}

/// websocket-client, ccxt and Binance's official SDKs (`binance-sdk-*`, which share
/// `binance_common` and install under their own names).
pub const CLIENTS: PythonEnv = PythonEnv {
    dir: "test-python",
    requirements: "requirements.txt",
};

/// python-binance.
pub const PYTHON_BINANCE: PythonEnv = PythonEnv {
    dir: "test-python-binance",
    requirements: "requirements-python-binance.txt",
};

/// binance-futures-connector.
pub const FUTURES_CONNECTOR: PythonEnv = PythonEnv {
    dir: "test-python-futures-connector",
    requirements: "requirements-futures-connector.txt",
};

impl PythonEnv {
    /// The pinned requirements, next to the client scripts.
    fn requirements(&self) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/python")
            .join(self.requirements)
    }
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

/// The [`CLIENTS`] venv's Python interpreter, with every pinned requirement installed.
///
/// # Panics
///
/// As [`python_in`].
pub fn python() -> PathBuf {
    python_in(CLIENTS)
}

/// The Python interpreter of `env`, with every pinned requirement installed.
///
/// # Panics
///
/// When `python3` cannot make a venv or pip cannot install the requirements (PyPI not
/// reachable, say), with the commands that would do it by hand.
pub fn python_in(env: PythonEnv) -> PathBuf {
    let requirements = env.requirements();
    let venv = target_dir().join(env.dir);
    let python = venv.join("bin/python");
    let wanted = fs::read_to_string(&requirements)
        .unwrap_or_else(|e| panic!("{}: {e}", requirements.display()));
    let stamp = venv.join("klagg-requirements.txt");
    fs::create_dir_all(target_dir()).expect("target directory");
    // Test binaries and the tests in them run at once: one makes the venv, the others wait.
    let lock = File::create(target_dir().join("test-python.lock")).expect("venv lock file");
    lock.lock().expect("venv lock");
    if fs::read_to_string(&stamp).is_ok_and(|had| had == wanted) && python.is_file() {
        return python;
    }
    let by_hand = format!(
        "python3 -m venv {venv} && {venv}/bin/python -m pip install -r {req} && cp {req} \
         {stamp} (without PyPI: pip download -r {req} -d WHEELS where PyPI is reachable, then \
         PIP_NO_INDEX=1 PIP_FIND_LINKS=WHEELS cargo test)",
        venv = venv.display(),
        req = requirements.display(),
        stamp = stamp.display(),
    );
    eprintln!(
        "making the test virtualenv {} from {} (a minute or so, once)",
        venv.display(),
        requirements.display()
    );
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
            .arg(&requirements),
        &format!(
            "pip install -r tests/python/{} (needs PyPI or PIP_FIND_LINKS)",
            env.requirements
        ),
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
