//! DNS servers of a scenario and their policies.

use sim_dns::{DnsAction, DnsPolicy, DnsServerConfig};
use sim_scenario::Node;
use sim_scenario::model::{DnsSpec, ServerPolicy};

/// A DNS server's zone and port.
pub(super) fn server(n: &Node, s: &DnsSpec) -> DnsServerConfig {
    let mut config = DnsServerConfig::new(
        s.records
            .iter()
            .map(|r| (r.name.clone(), r.address))
            .collect(),
    );
    config.port = n.port();
    config
}

/// A `server_policy` for a DNS server: `drop: true` or `rcode` for every query, `dns_names`
/// per name (the validator has checked each names one of them).
pub(super) fn policy(set: &ServerPolicy) -> DnsPolicy {
    let mut policy = if set.drop == Some(true) {
        DnsPolicy::drop_all()
    } else if let Some(rcode) = set.rcode {
        DnsPolicy::rcode(rcode)
    } else {
        DnsPolicy::normal()
    };
    for n in &set.dns_names {
        let action = match (n.drop, n.rcode) {
            (Some(true), _) => DnsAction::Drop,
            (_, Some(rcode)) => DnsAction::Rcode(rcode),
            _ => DnsAction::Normal,
        };
        policy = policy.with_name(&n.name, action);
    }
    policy
}
