//! Shared by the built-in service types (`postgresql`, `redis`, `nats`): each starts a server on a free
//! loopback port with `detach` and keeps what it needs for `ready`/`stop` in the state string.
//! [`http`] and [`notice`] serve the built-ins that talk to web APIs.

pub mod http;
pub mod notice;

use pikoci_sdk::process::{self, Command};
use pikoci_sdk::{Error, Result};
use wasi::sockets::network::{ErrorCode, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Network};
use wasi::sockets::tcp::TcpSocket;

/// A TCP socket bound to a free port of 127.0.0.1 through wasi:sockets (the plugin needs the
/// `net:127.0.0.1` grant), with the network it was bound in.
fn loopback_socket() -> Result<(TcpSocket, Network)> {
    let network = wasi::sockets::instance_network::instance_network();
    let socket = wasi::sockets::tcp_create_socket::create_tcp_socket(IpAddressFamily::Ipv4)
        .map_err(|e| Error::CapabilityDenied(format!("open a TCP socket on 127.0.0.1 ({e:?})")))?;
    let any = IpSocketAddress::Ipv4(Ipv4SocketAddress { port: 0, address: (127, 0, 0, 1) });
    socket.start_bind(&network, any).map_err(|e| Error::CapabilityDenied(format!("bind a TCP port on 127.0.0.1 ({e:?})")))?;
    socket.subscribe().block();
    socket.finish_bind().map_err(|e| Error::failed(format!("cannot bind a TCP port on 127.0.0.1: {e:?}")))?;
    Ok((socket, network))
}

/// A loopback TCP port nobody listens on right now, found by binding port 0 and letting it go
/// again. Another process could take it before the server binds it; the server then fails to
/// start, loudly.
pub fn free_port() -> Result<u16> {
    let (socket, _) = loopback_socket()?;
    match socket.local_address() {
        Ok(IpSocketAddress::Ipv4(a)) if a.port != 0 => Ok(a.port),
        other => Err(Error::failed(format!("no port was assigned: {other:?}"))),
    }
}

/// Whether a server accepts TCP connections on the loopback `port` now: the readiness of a
/// server with no client program to ask. The socket is bound to loopback first: left unbound,
/// connecting binds it to 0.0.0.0, which no grant allows.
pub fn accepts_connections(port: u16) -> Result<bool> {
    let (socket, network) = loopback_socket()?;
    let address = IpSocketAddress::Ipv4(Ipv4SocketAddress { port, address: (127, 0, 0, 1) });
    socket.start_connect(&network, address).map_err(|e| Error::CapabilityDenied(format!("connect to 127.0.0.1:{port} ({e:?})")))?;
    socket.subscribe().block();
    match socket.finish_connect() {
        // The streams are the socket's children: they go before it does.
        Ok((input, output)) => {
            drop((input, output));
            Ok(true)
        }
        Err(ErrorCode::ConnectionRefused) => Ok(false),
        Err(e) => Err(Error::failed(format!("cannot connect to 127.0.0.1:{port}: {e:?}"))),
    }
}

/// Remove a directory a service made for itself (`dir` starts with its `prefix`, under /tmp),
/// best effort: a leftover in /tmp is no reason to fail the job.
pub fn remove_own_dir(dir: &str, prefix: &str) {
    if dir.starts_with(prefix) && !dir.contains("..") {
        let _ = Command::new("rm").args(["-rf", "--", dir]).capture().run();
    }
}

/// Run a setup step, its output shown (through `explain`) only when it fails: database setup
/// tools are chatty.
pub fn run_quietly(cmd: Command, what: &str, explain: fn(&str) -> String) -> Result<()> {
    let done = cmd.capture().run()?;
    if done.success() {
        return Ok(());
    }
    let mut output = done.stdout;
    output.extend_from_slice(&done.stderr);
    Err(Error::failed(format!("{what} failed: {}", explain(String::from_utf8_lossy(&output).trim()))))
}

/// The port a service's params fix, else a free one.
pub fn port_or_free(fixed: Option<u16>) -> Result<u16> {
    match fixed {
        Some(port) => Ok(port),
        None => free_port(),
    }
}

/// What a service's `start` hands the host, given back to `ready` and `stop`.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
pub struct State {
    /// The detached server's handle for `is_running`/`stop_detached`.
    pub handle: u32,
    pub port: u16,
    /// A directory the service created and `stop` removes (a PostgreSQL data directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<String>,
}

impl State {
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("state serialises")
    }

    pub fn decode(text: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|e| Error::failed(format!("this service's state `{text}` is not one its start wrote: {e}")))
    }

    /// Fail when the server died before it got ready: polling it further is pointless, and its
    /// own error is already in the log.
    pub fn ensure_running(&self, what: &str) -> Result<()> {
        if process::is_running(self.handle) {
            return Ok(());
        }
        Err(Error::failed(format!("{what} exited before it was ready; its output is in the log above")))
    }

    /// Kill the detached server with its process group and reap it. A handle the host no longer
    /// holds (the build already ended and killed it) is no error: the server is gone either way.
    pub fn kill(&self) {
        let _ = process::stop_detached(self.handle);
    }
}

/// Run `cmd` for a yes/no answer (a readiness probe): exit code 0 is yes.
pub fn probe(cmd: Command) -> Result<bool> {
    Ok(cmd.capture().run()?.success())
}

/// PATH for the servers' children: the worker's, when granted (`env:PATH`), else the usual one.
pub fn worker_path() -> String {
    std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into())
}

/// `text` percent-encoded for the user-info part of a URL (`postgresql://user:PASSWORD@...`).
pub fn userinfo_encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(byte as char),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// The user-info of a database URL: `user`, or `user:PASSWORD` percent-encoded.
pub fn url_credentials(user: &str, password: Option<&str>) -> String {
    match password {
        Some(p) => format!("{user}:{}", userinfo_encode(p)),
        None => user.to_string(),
    }
}

/// A random 64-bit number from the host, for names that must not collide between builds.
pub fn nonce() -> u64 {
    wasi::random::random::get_random_u64()
}
