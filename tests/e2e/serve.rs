//! `natlab serve` against real peers on loopback: SIPp registers with digest authentication and
//! places a call through the proxy to a SIPp UAS; a wrong password is refused; coturn's STUN
//! client gets its mapped address from `natlab serve stun`.

#![allow(clippy::expect_used)]

use crate::support::root;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Output, Stdio};

/// A running server process (`natlab serve`, kamailio, coturn), stopped when dropped.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) udp: SocketAddr,
}

impl Drop for Server {
    /// SIGTERM, so that a server with worker processes (kamailio) stops them too.
    fn drop(&mut self) {
        let term = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        if !term.is_ok_and(|s| s.success()) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

fn serve(args: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_natlab"))
        .arg("serve")
        .args(args)
        .args(["--bind", "127.0.0.1:0", "--duration", "60s"])
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("natlab serve starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let udp = loop {
        let line = lines
            .next()
            .expect("a listening line before the server stops")
            .expect("utf-8");
        if let Some(addr) = line.strip_prefix("listening udp ") {
            break addr.parse().expect("address");
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Server { child, udp }
}

/// A UDP port free on loopback right now.
pub(crate) fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("bind")
        .port()
}

fn sipp(args: &[&str]) -> Output {
    Command::new("sipp")
        .args(args)
        .args([
            "-i",
            "127.0.0.1",
            "-m",
            "1",
            "-timeout",
            "15s",
            "-timeout_error",
            "-nostdin",
        ])
        .current_dir(root())
        .stdin(Stdio::null())
        .output()
        .expect("sipp is installed (scripts/install-deps installs sip-tester)")
}

fn accounts() -> std::path::PathBuf {
    let path = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("serve-accounts.txt");
    std::fs::write(&path, "# test accounts\n1001:secret\n1002:other\n").expect("write accounts");
    path
}

fn register(server: SocketAddr, user: &str, password: &str, port: u16) -> Output {
    sipp(&[
        &server.to_string(),
        "-sf",
        "tests/e2e/sipp/register.xml",
        "-s",
        user,
        "-au",
        user,
        "-ap",
        password,
        "-p",
        &port.to_string(),
    ])
}

#[test]
fn serve_sip_sipp_registers_with_digest_and_a_wrong_password_is_refused() {
    let accounts = accounts();
    let server = serve(&[
        "sip",
        "--accounts",
        accounts.to_str().expect("utf-8"),
        "--domain",
        "127.0.0.1",
    ]);
    let ok = register(server.udp, "1001", "secret", free_port());
    assert_eq!(
        ok.status.code(),
        Some(0),
        "REGISTER, 401, REGISTER with credentials, 200:\n{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    let wrong = register(server.udp, "1002", "not-the-password", free_port());
    assert_ne!(
        wrong.status.code(),
        Some(0),
        "the second REGISTER gets a fresh 401, not the 200 the scenario waits for"
    );
    let unknown = register(server.udp, "9999", "secret", free_port());
    assert_ne!(unknown.status.code(), Some(0), "an unknown user is refused");
}

#[test]
fn serve_sip_proxies_a_sipp_call_to_a_registered_sipp_uas() {
    let accounts = accounts();
    let server = serve(&[
        "sip",
        "--accounts",
        accounts.to_str().expect("utf-8"),
        "--domain",
        "127.0.0.1",
    ]);
    let uas_port = free_port();
    let reg = register(server.udp, "1001", "secret", uas_port);
    assert_eq!(
        reg.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&reg.stdout)
    );
    let uas = Command::new("sipp")
        .args([
            "-sn",
            "uas",
            "-i",
            "127.0.0.1",
            "-p",
            &uas_port.to_string(),
            "-m",
            "1",
        ])
        .args(["-timeout", "20s", "-timeout_error", "-nostdin"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("sipp uas starts");
    // The UAS listens once its socket is bound; the UAC retransmits its INVITE meanwhile.
    let uac = sipp(&[
        &server.udp.to_string(),
        "-sn",
        "uac",
        "-s",
        "1001",
        "-p",
        &free_port().to_string(),
    ]);
    let uas = uas.wait_with_output().expect("uas ends");
    assert_eq!(
        uac.status.code(),
        Some(0),
        "INVITE/100/180/200/ACK/BYE/200 through the proxy:\n{}",
        String::from_utf8_lossy(&uac.stdout)
    );
    assert_eq!(uas.status.code(), Some(0), "the UAS saw the whole call");
}

#[test]
fn serve_stun_answers_coturns_stun_client_with_the_mapped_address() {
    let server = serve(&["stun"]);
    let out = Command::new("turnutils_stunclient")
        .args(["-p", &server.udp.port().to_string(), "127.0.0.1"])
        .output()
        .expect("turnutils_stunclient is installed (scripts/install-deps installs coturn)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("127.0.0.1"),
        "the mapped address is loopback:\n{text}"
    );
}

fn softphone(server: SocketAddr, user: &str, password: &str, call: Option<&str>) -> Output {
    let server = server.to_string();
    let mut args = vec![
        "softphone",
        "--server",
        &server,
        "--user",
        user,
        "--password",
        password,
        "--hangup-after",
        "1s",
        "--timeout",
        "30s",
    ];
    if let Some(to) = call {
        args.extend(["--call", to]);
    }
    Command::new(env!("CARGO_BIN_EXE_natlab"))
        .args(&args)
        .current_dir(root())
        .output()
        .expect("natlab softphone runs")
}

/// A SIPp UAS registered as `user` (digest when `password` is given), answering one call.
fn sipp_uas(server: SocketAddr, user: &str, password: Option<&str>) -> Child {
    let port = free_port();
    let reg = match password {
        Some(pw) => register(server, user, pw, port),
        None => sipp(&[
            &server.to_string(),
            "-sf",
            "scripts/bench-sip/register-noauth.xml",
            "-s",
            user,
            "-p",
            &port.to_string(),
        ]),
    };
    assert_eq!(
        reg.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&reg.stdout)
    );
    Command::new("sipp")
        .args([
            "-sn",
            "uas",
            "-i",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-m",
            "1",
        ])
        .args(["-timeout", "20s", "-timeout_error", "-nostdin"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("sipp uas starts")
}

#[test]
fn softphone_live_registers_and_calls_through_natlab_to_a_sipp_uas() {
    let accounts = accounts();
    let server = serve(&[
        "sip",
        "--accounts",
        accounts.to_str().expect("utf-8"),
        "--domain",
        "127.0.0.1",
    ]);
    let uas = sipp_uas(server.udp, "1002", Some("other"));
    let out = softphone(server.udp, "1001", "secret", Some("1002"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    for callback in [
        "onRegisterSuccess 200",
        "onInviteRinging 180",
        "onInviteAnswered 200",
        "onInviteConnected",
    ] {
        assert!(text.contains(callback), "missing {callback}:\n{text}");
    }
    assert_eq!(
        uas.wait_with_output().expect("uas").status.code(),
        Some(0),
        "the UAS saw INVITE and BYE"
    );
    let wrong = softphone(server.udp, "1001", "not-it", None);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&wrong.stdout).contains("onRegisterFailure 401"));
}

/// kamailio in the foreground with configuration `cfg`, listening on loopback `port`; its files
/// go in `dir`.
pub(crate) fn spawn_kamailio(dir: &std::path::Path, cfg: &str, port: u16) -> Server {
    std::fs::write(dir.join("kamailio.cfg"), cfg).expect("write cfg");
    let child = Command::new("kamailio")
        .arg("-f")
        .arg(dir.join("kamailio.cfg"))
        .arg("-P")
        .arg(dir.join("kamailio.pid"))
        .arg("-w")
        .arg(dir)
        .args(["-DD", "-E"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("kamailio is installed (scripts/install-deps installs it)");
    Server {
        child,
        udp: SocketAddr::from(([127, 0, 0, 1], port)),
    }
}

#[test]
fn softphone_live_registers_and_calls_through_kamailio_to_a_sipp_uas() {
    let port = free_port();
    let dir =
        std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("kamailio-{port}"));
    std::fs::create_dir_all(&dir).expect("dir");
    let cfg = std::fs::read_to_string(root().join("scripts/bench-sip/kamailio.cfg"))
        .expect("kamailio.cfg")
        .replace("KAMAILIO_PORT", &port.to_string());
    let kamailio = spawn_kamailio(&dir, &cfg, port);
    // REGISTER is retransmitted (Timer E) until kamailio listens.
    let uas = sipp_uas(kamailio.udp, "1002", None);
    let out = softphone(kamailio.udp, "1001", "any", Some("1002"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("onInviteAnswered 200"), "{text}");
    assert_eq!(uas.wait_with_output().expect("uas").status.code(), Some(0));
}
