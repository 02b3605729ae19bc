//! `natlab aae` live on loopback: two AAE endpoints register with digest authentication to
//! kamailio (the relay SIP server), one makes a tunnel to the other with coturn as STUN/TURN
//! server, ICE connects, and 64 kB cross the tunnel intact (SHA-256 on both sides).

#![allow(clippy::expect_used)]

use crate::serve::{Server, free_port, spawn_kamailio};
use crate::support::root;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

const BYTES: u64 = 65_536;
const TURN_USER: &str = "natlab";
const TURN_PASSWORD: &str = "turn-secret";

/// kamailio on a free loopback port, with `accounts` (device id, ticket) for digest.
fn kamailio(accounts: &[(&str, &str)]) -> Server {
    let port = free_port();
    let dir =
        std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("aae-kamailio-{port}"));
    std::fs::create_dir_all(&dir).expect("dir");
    let table: String = accounts
        .iter()
        .map(|(id, ticket)| format!("    $sht(devices=>{id}) = \"{ticket}\";\n"))
        .collect();
    let cfg = std::fs::read_to_string(root().join("tests/e2e/aae/kamailio.cfg"))
        .expect("kamailio.cfg")
        .replace("KAMAILIO_PORT", &port.to_string())
        .replace("DEVICE_ACCOUNTS\n", &table);
    spawn_kamailio(&dir, &cfg, port)
}

/// coturn on a free loopback port: STUN and TURN (UDP) with one static long-term user; loopback
/// peers allowed (both endpoints are on 127.0.0.1).
fn coturn() -> Server {
    let port = free_port();
    let child = Command::new("turnserver")
        .args([
            "-n",
            "--no-cli",
            "--no-tls",
            "--no-dtls",
            "--lt-cred-mech",
            "--fingerprint",
        ])
        .args(["--listening-ip", "127.0.0.1", "--relay-ip", "127.0.0.1"])
        .args(["--listening-port", &port.to_string()])
        .args([
            "--realm",
            "natlab",
            "--user",
            &format!("{TURN_USER}:{TURN_PASSWORD}"),
        ])
        .args([
            "--allow-loopback-peers",
            "--log-file",
            "stdout",
            "--simple-log",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("turnserver is installed (scripts/install-deps installs coturn)");
    Server {
        child,
        udp: SocketAddr::from(([127, 0, 0, 1], port)),
    }
}

/// A running `natlab aae`, its output lines arriving on a channel; killed when dropped.
struct Endpoint {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Endpoint {
    fn start(args: &[String]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_natlab"))
            .arg("aae")
            .args(args)
            .current_dir(root())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("natlab aae starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Reads lines until one contains `what` (true) or the output ends or `within` passes.
    fn wait_for(&mut self, what: &str, within: Duration) -> bool {
        let until = Instant::now() + within;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let hit = line.contains(what);
                    self.seen.push(line);
                    if hit {
                        return true;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return false,
            }
        }
    }

    /// Every line until the process ends (bounded by `within`), and its exit code.
    fn finish(mut self, within: Duration) -> (Vec<String>, Option<i32>) {
        let ended = self.wait_for("summary:", within);
        let code = if ended {
            self.child.wait().ok().and_then(|s| s.code())
        } else {
            None
        };
        (std::mem::take(&mut self.seen), code)
    }
}

/// The SDK event codes of the output, in order.
fn codes(lines: &[String]) -> Vec<u32> {
    lines
        .iter()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let _time = words.next()?;
            let name = words.next()?;
            name.starts_with("NATNL_")
                .then(|| words.next()?.parse().ok())
                .flatten()
        })
        .collect()
}

/// Whether `want` appears in `got` in this order (other codes may come between).
fn in_order(got: &[u32], want: &[u32]) -> bool {
    let mut it = got.iter();
    want.iter().all(|w| it.any(|g| g == w))
}

/// The sha256 a `tunnel-data`/`tunnel-data-sent` line with `bytes` carries.
fn digest(lines: &[String], event: &str, bytes: u64) -> Option<String> {
    let tag = format!(" bytes={bytes} sha256=");
    lines
        .iter()
        .filter(|l| l.split_whitespace().nth(1) == Some(event))
        .find_map(|l| l.split_once(&tag).map(|(_, h)| h.trim().to_owned()))
}

fn common(sip: &Server, turn: &Server, id: &str, ticket: &str) -> Vec<String> {
    [
        "--server",
        &sip.udp.to_string(),
        "--device-id",
        id,
        "--ticket",
        ticket,
        "--stun",
        &turn.udp.to_string(),
        "--turn",
        &turn.udp.to_string(),
        "--turn-user",
        TURN_USER,
        "--turn-password",
        TURN_PASSWORD,
        "--timeout",
        "40s",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

fn tunnel(extra: &[&str], tnl_type: &str) {
    let sip = kamailio(&[("aaedev1", "ticket-one"), ("aaedev2", "ticket-two")]);
    let turn = coturn();
    let mut callee_args = common(&sip, &turn, "aaedev2", "ticket-two");
    callee_args.extend(["--expect-bytes".to_owned(), BYTES.to_string()]);
    callee_args.extend(extra.iter().map(|s| (*s).to_owned()));
    let mut callee = Endpoint::start(&callee_args);
    // REGISTER is retransmitted (Timer E) until kamailio listens.
    assert!(
        callee.wait_for("NATNL_TNL_EVENT_INIT_OK", Duration::from_secs(30)),
        "the callee initialises:\n{}",
        callee.seen.join("\n")
    );
    let mut caller_args = common(&sip, &turn, "aaedev1", "ticket-one");
    caller_args.extend(
        [
            "--call",
            "aaedev2",
            "--port",
            "0:8080",
            "--send",
            &BYTES.to_string(),
        ]
        .iter()
        .map(|s| (*s).to_owned()),
    );
    caller_args.extend(extra.iter().map(|s| (*s).to_owned()));
    let caller = Endpoint::start(&caller_args);
    let (caller_lines, caller_code) = caller.finish(Duration::from_secs(45));
    let (callee_lines, callee_code) = callee.finish(Duration::from_secs(45));
    let show = format!(
        "caller:\n{}\ncallee:\n{}",
        caller_lines.join("\n"),
        callee_lines.join("\n")
    );
    assert_eq!(caller_code, Some(0), "{show}");
    assert_eq!(callee_code, Some(0), "{show}");
    let caller_codes = codes(&caller_lines);
    assert!(
        in_order(
            &caller_codes,
            &[60000, 60109, 60100, 1, 3, 4, 5, 60003, 60104]
        ),
        "caller order {caller_codes:?}\n{show}"
    );
    assert!(caller_codes.contains(&60005), "NAT type detected\n{show}");
    let callee_codes = codes(&callee_lines);
    assert!(
        in_order(&callee_codes, &[60000, 60100, 2, 3, 4, 5, 60003]),
        "callee order {callee_codes:?}\n{show}"
    );
    let made = caller_lines
        .iter()
        .find(|l| l.contains("NATNL_TNL_EVENT_MAKECALL_OK"))
        .expect("60104");
    assert!(made.contains(tnl_type), "{made}\n{show}");
    let sent = digest(&caller_lines, "tunnel-data-sent", BYTES).expect("all bytes written");
    let got = digest(&callee_lines, "tunnel-data", BYTES).expect("all bytes arrived");
    assert_eq!(sent, got, "the bytes arrived intact\n{show}");
    drop((sip, turn));
}

#[test]
fn aae_live_tunnel_over_host_candidates_through_kamailio_and_coturn() {
    tunnel(&[], "tnl_type=3 UDP");
}

#[test]
fn aae_live_tunnel_relayed_through_coturn_with_ice_policy_relay() {
    tunnel(
        &["--ice-policy", "relay"],
        "tnl_type=2 TURN turn_mapped=127.0.0.1:",
    );
}
