//! The simulated world: turmoil hosts, the NAT fabric, link models, faults and capture
