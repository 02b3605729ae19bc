//! SIP registration at scale: softphones behind NATs (100 per NAT, port-restricted cones)
//! register with digest authentication to one registrar for 600 s (so each refreshes before
//! expiry, about every 10 min) and run for one simulated hour. Each configuration runs in its own
//! process so that its peak memory (VmHWM) is its own. Prints one table row per configuration.
//!
//! ```text
//! cargo bench -p sim-world --bench sip_register            # 100, 1,000 and 10,000 phones
//! cargo bench -p sim-world --bench sip_register -- 10000   # one configuration
//! ```

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used
)]

mod common;

use common::peak_rss_mib;
use sim_core::{Seed, SimInstant};
use sim_nat::{Behaviour, NatConfig};
use sim_sip::{SipServerConfig, SoftphoneConfig};
use sim_world::fabric::{LinkConfig, NetworkId, NodeId};
use sim_world::watch::{EventMatch, WatchSpec, Window};
use sim_world::world::{NatPlan, NodeKind, NodePlan, SipAction, Timed, WorldAction};
use sim_world::{WorldSpec, run};
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Command;
use std::time::{Duration, Instant};

const PER_NAT: usize = 100;
const HOUR: Duration = Duration::from_secs(3600);
const EXPIRES: u32 = 600;

fn spec(phones: usize) -> WorldSpec {
    let link = LinkConfig {
        latency: Duration::from_millis(10),
        ..LinkConfig::default()
    };
    let server: SocketAddr = "203.0.113.10:5060".parse().unwrap();
    let users: Vec<(String, String)> = (0..phones)
        .map(|i| (format!("{}", 100_000 + i), format!("pw-{i}")))
        .collect();
    let accounts: Vec<(&str, &str)> = users
        .iter()
        .map(|(u, p)| (u.as_str(), p.as_str()))
        .collect();
    let mut registrar = SipServerConfig::new("example.net", &accounts);
    registrar.transports = vec![sim_core::Protocol::Udp];
    let mut nodes = vec![NodePlan {
        name: "pbx".into(),
        aliases: Vec::new(),
        network: NetworkId(0),
        ip: server.ip(),
        link: link.clone(),
        kind: NodeKind::SipServer {
            config: Box::new(registrar),
            mute: false,
        },
    }];
    let mut timeline = Vec::new();
    for (i, (user, password)) in users.iter().enumerate() {
        let host = i % PER_NAT;
        let mut phone = SoftphoneConfig::new(user, password, "example.net", server);
        phone.register_expires = EXPIRES;
        let id = nodes.len() as u32;
        nodes.push(NodePlan {
            name: format!("phone-{i}"),
            aliases: Vec::new(),
            network: NetworkId((i / PER_NAT) as u32 + 1),
            ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, host as u8 + 2)),
            link: link.clone(),
            kind: NodeKind::Softphone(Box::new(phone)),
        });
        // Spread the first registrations over the first 60 s, deterministically.
        let offset = Duration::from_micros((i as u64 * 7_919_993) % 60_000_000);
        timeline.push(Timed {
            at: SimInstant::from_duration(offset),
            action: WorldAction::Sip(NodeId(id), SipAction::Register),
            label: format!("register {i}"),
        });
    }
    timeline.sort_by_key(|t| t.at);
    let nats = (0..phones.div_ceil(PER_NAT))
        .map(|n| NatPlan {
            name: format!("nat-{n}"),
            config: NatConfig::new(
                Behaviour::EndpointIndependent,
                Behaviour::AddressAndPortDependent,
                vec![IpAddr::V4(Ipv4Addr::new(
                    198,
                    51,
                    100 + (n / 250) as u8,
                    (n % 250 + 1) as u8,
                ))],
            ),
            upstream: NetworkId(0),
            link: link.clone(),
            drop_fragments: false,
            sip_alg: false,
            lan_description: format!("LAN {n}"),
        })
        .collect();
    let ok = |name: &'static str| WatchSpec::Event {
        node: NodeId(0),
        event: EventMatch {
            name,
            code: None,
            status: None,
            detail: None,
        },
        window: Window::default(),
    };
    WorldSpec {
        seed: Seed::new(1),
        tick: Duration::from_secs(1),
        duration: HOUR,
        capture: None,
        events: None,
        public_name: "wan".into(),
        nats,
        nodes,
        timeline,
        watches: vec![ok("sip-registered"), ok("sip-auth-failed")],
        observers: BTreeSet::new(),
        keep_log: None,
    }
}

fn one(phones: usize) {
    let spec = spec(phones);
    let start = Instant::now();
    let out = run(&spec).expect("run");
    let wall = start.elapsed().as_secs_f64();
    assert!(out.issues.is_empty(), "{:?}", out.issues);
    let registered = out.watches[0].tally.count;
    let refused = out.watches[1].tally.count;
    // A first registration, then a refresh shortly before every expiry.
    let per_phone = HOUR.as_secs() / u64::from(EXPIRES);
    assert!(
        registered >= phones as u64 * per_phone,
        "{registered} registrations for {phones} phones"
    );
    assert_eq!(refused, 0, "no credentials refused");
    println!(
        "| {phones:>6} | {:>4} | {:>9} | {:>9} | {:>8.2} s | {:>8.0} MiB |",
        spec.nats.len(),
        out.stats.sent,
        registered,
        wall,
        peak_rss_mib(),
    );
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if let [phones] = args.as_slice() {
        one(phones.parse().expect("phone count"));
        return;
    }
    println!(
        "softphones behind NATs (100 per NAT) register with digest for {EXPIRES} s and refresh \
         for 1 simulated hour; release build"
    );
    println!("| phones | NATs | packets | registrations | wall | peak RSS |");
    println!("|---|---|---|---|---|---|");
    let me = std::env::current_exe().expect("bench binary");
    for phones in [100, 1_000, 10_000] {
        let status = Command::new(&me)
            .arg(phones.to_string())
            .status()
            .expect("spawn bench configuration");
        if !status.success() {
            eprintln!("configuration {phones} phones failed: {status}");
        }
    }
}
