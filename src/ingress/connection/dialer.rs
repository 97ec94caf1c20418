//! Opening one WebSocket: DNS, TCP with a timeout, TLS (rustls, ring, webpki roots) for
//! `wss://`, then the WebSocket handshake, all blocking and all bounded.

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use tungstenite::client::IntoClientRequest;

use super::handshake::client_handshake;
use super::options::ConnectionOptions;
use super::transport::Transport;
use super::ws_stream::WsStream;

/// A live client socket, plain or TLS.
pub type Socket = WsStream<Transport>;

/// Everything needed to open sockets for one connection; cheap to clone (the TLS config is
/// shared), so a rotation helper thread can take its own.
#[derive(Clone)]
pub struct Dialer {
    tls: Result<Arc<ClientConfig>, String>,
    max_message: usize,
    connect_timeout: Duration,
    read_tick: Duration,
}

impl Dialer {
    /// A dialer for `options`. The TLS config names the ring provider itself, so it works
    /// whether or not `main` installed a process-wide default provider (tests do not).
    pub fn new(options: &ConnectionOptions) -> Dialer {
        Dialer {
            tls: tls_config(&options.extra_root_certs),
            max_message: options.max_message_bytes.max(1),
            connect_timeout: options.connect_timeout,
            read_tick: options.tick(),
        }
    }

    /// Opens `url` (`ws://` or `wss://`). Each TCP connect and the whole TLS + WebSocket
    /// handshake are bounded by the connect timeout; `stop` is checked every read tick of the
    /// handshake. The returned socket has TCP_NODELAY, the read tick as its read timeout (a
    /// timed-out read is the heartbeat, not an error) and the connect timeout as its write
    /// timeout (a peer that takes nothing for that long is dead).
    pub fn dial(&self, url: &str, stop: &AtomicBool) -> Result<Socket, String> {
        let request = url
            .into_client_request()
            .map_err(|e| format!("bad url: {e}"))?;
        let uri = request.uri();
        let tls = match uri.scheme_str() {
            Some("wss") => true,
            Some("ws") => false,
            other => return Err(format!("unsupported scheme {other:?}")),
        };
        let host = uri.host().ok_or("url has no host")?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let authority = uri.authority().map_or(host, |a| a.as_str());
        let deadline = Instant::now() + self.connect_timeout;
        let tcp = self.connect_tcp(host, port)?;
        let mut transport = if tls {
            Transport::Tls(Box::new(self.tls_session(host, tcp, deadline, stop)?))
        } else {
            Transport::Plain(tcp)
        };
        let tail = client_handshake(&mut transport, authority, path, deadline, stop)?;
        Ok(WsStream::new(transport, &tail, self.max_message))
    }

    /// The TLS handshake with `host` over `tcp`, bounded by `deadline`.
    fn tls_session(
        &self,
        host: &str,
        mut tcp: TcpStream,
        deadline: Instant,
        stop: &AtomicBool,
    ) -> Result<StreamOwned<ClientConnection, TcpStream>, String> {
        let config = self.tls.clone()?;
        let name = ServerName::try_from(host.to_owned())
            .map_err(|e| format!("handshake: tls: bad server name {host}: {e}"))?;
        let mut session =
            ClientConnection::new(config, name).map_err(|e| format!("handshake: tls: {e}"))?;
        while session.is_handshaking() {
            match session.complete_io(&mut tcp) {
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) =>
                {
                    if stop.load(Ordering::Relaxed) {
                        return Err("stopped during handshake".to_owned());
                    }
                    if Instant::now() >= deadline {
                        return Err(format!("handshake took over {:?}", self.connect_timeout));
                    }
                }
                Err(e) => return Err(format!("handshake: tls: {e}")),
            }
        }
        Ok(StreamOwned::new(session, tcp))
    }

    fn connect_tcp(&self, host: &str, port: u16) -> Result<TcpStream, String> {
        let addrs: Vec<SocketAddr> = (host, port)
            .to_socket_addrs()
            .map_err(|e| format!("resolve {host}: {e}"))?
            .collect();
        let mut last_error = format!("{host} resolved to no address");
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, self.connect_timeout) {
                Ok(tcp) => {
                    tcp.set_nodelay(true)
                        .and_then(|()| tcp.set_read_timeout(Some(self.read_tick)))
                        .and_then(|()| tcp.set_write_timeout(Some(self.connect_timeout)))
                        .map_err(|e| format!("socket options: {e}"))?;
                    return Ok(tcp);
                }
                Err(e) => last_error = format!("connect {addr}: {e}"),
            }
        }
        Err(last_error)
    }
}

/// One client config per connection: webpki roots (plus any extra anchors), ring provider,
/// safe protocol versions.
fn tls_config(extra_roots: &[CertificateDer<'static>]) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for cert in extra_roots {
        roots
            .add(cert.clone())
            .map_err(|e| format!("tls config: extra root certificate: {e}"))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("tls config: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_config_builds_without_a_process_default_provider() {
        assert!(tls_config(&[]).is_ok());
    }

    #[test]
    fn bad_urls_fail_without_panicking() {
        let dialer = Dialer::new(&ConnectionOptions::default());
        let stop = AtomicBool::new(false);
        for url in ["http://127.0.0.1:1/x", "not a url", "ws:///nohost"] {
            assert!(dialer.dial(url, &stop).is_err(), "{url}");
        }
    }

    #[test]
    fn a_tls_handshake_against_a_non_tls_peer_fails_cleanly() {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let peer = std::thread::spawn(move || {
            let (mut tcp, _) = listener.accept().unwrap();
            let mut hello = [0u8; 512];
            let _ = tcp.read(&mut hello);
            let _ = tcp.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        });
        let dialer = Dialer::new(&ConnectionOptions::default());
        let error = dialer
            .dial(
                &format!("wss://127.0.0.1:{port}/x"),
                &AtomicBool::new(false),
            )
            .unwrap_err();
        assert!(error.starts_with("handshake"), "{error}");
        peer.join().unwrap();
    }

    #[test]
    fn refused_connects_fail_fast() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let dialer = Dialer::new(&ConnectionOptions::default());
        let error = dialer
            .dial(&format!("ws://127.0.0.1:{port}/x"), &AtomicBool::new(false))
            .unwrap_err();
        assert!(error.contains("connect"), "{error}");
    }
}
