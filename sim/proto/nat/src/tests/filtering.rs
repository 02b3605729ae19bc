//! The nine mapping × filtering combinations (RFC 4787 §4.1 × §5) against unsolicited and
//! solicited inbound traffic.
//!
//! In every combination HOST has sent one datagram to SERVER, creating mapping `ext`. Then:
//! * unsolicited: a packet to a public port no mapping uses;
//! * exact remote: SERVER answers on `ext`;
//! * same IP, other port / other IP, same port: strangers try `ext`;
//! * after HOST also sends to SERVER_OTHER_PORT, that remote tries `ext` (here the mapping
//!   behaviour matters: EIM and ADM reuse `ext` and give it the permission, APDM creates a
//!   new mapping and `ext` gains nothing).

use super::*;

const D: bool = true;
const F: bool = false;

fn expect(delivered_ok: bool, from: SocketAddr) -> Verdict {
    if delivered_ok {
        delivered(from, HOST)
    } else {
        FILTERED
    }
}

macro_rules! combination {
    ($module:ident, $mapping:ident, $filtering:ident,
     same_ip_other_port: $other_port:expr,
     other_ip_same_port: $other_ip:expr,
     other_port_after_host_sent_to_it: $punched:expr) => {
        mod $module {
            use super::*;

            fn mapped() -> (Nat, SocketAddr) {
                let mut nat = nat_with(Behaviour::$mapping, Behaviour::$filtering);
                let ext = sent(&mut nat, at(0), HOST, SERVER);
                (nat, ext)
            }

            #[test]
            fn nat_unmapped_inbound_unsolicited_no_mapping() {
                let mut nat = nat_with(Behaviour::$mapping, Behaviour::$filtering);
                let ext = SocketAddr::new(PUB1, 5000);
                assert_eq!(recv(&mut nat, at(0), SERVER, ext), NO_MAPPING);
                let (mut nat, ext) = mapped();
                let unused = SocketAddr::new(PUB1, ext.port() + 1);
                assert_eq!(recv(&mut nat, at(1), SERVER, unused), NO_MAPPING);
            }

            #[test]
            fn nat_mapped_inbound_exact_remote_delivered() {
                let (mut nat, ext) = mapped();
                assert_eq!(recv(&mut nat, at(1), SERVER, ext), delivered(SERVER, HOST));
            }

            #[test]
            fn nat_mapped_inbound_same_ip_other_port_follows_filtering() {
                let (mut nat, ext) = mapped();
                let from = SERVER_OTHER_PORT;
                assert_eq!(recv(&mut nat, at(1), from, ext), expect($other_port, from));
            }

            #[test]
            fn nat_mapped_inbound_other_ip_same_port_follows_filtering() {
                let (mut nat, ext) = mapped();
                let from = OTHER_IP_SAME_PORT;
                assert_eq!(recv(&mut nat, at(1), from, ext), expect($other_ip, from));
            }

            #[test]
            fn nat_mapped_sent_to_other_port_inbound_from_it_follows_both_behaviours() {
                let (mut nat, ext) = mapped();
                let second = sent(&mut nat, at(1), HOST, SERVER_OTHER_PORT);
                let from = SERVER_OTHER_PORT;
                assert_eq!(recv(&mut nat, at(2), from, ext), expect($punched, from));
                // Its own mapping always lets it in.
                assert_eq!(recv(&mut nat, at(2), from, second), delivered(from, HOST));
            }
        }
    };
}

// Full cone.
combination!(eim_eif, EndpointIndependent, EndpointIndependent,
    same_ip_other_port: D, other_ip_same_port: D, other_port_after_host_sent_to_it: D);
// Restricted cone.
combination!(eim_adf, EndpointIndependent, AddressDependent,
    same_ip_other_port: D, other_ip_same_port: F, other_port_after_host_sent_to_it: D);
// Port-restricted cone.
combination!(eim_apdf, EndpointIndependent, AddressAndPortDependent,
    same_ip_other_port: F, other_ip_same_port: F, other_port_after_host_sent_to_it: D);
combination!(adm_eif, AddressDependent, EndpointIndependent,
    same_ip_other_port: D, other_ip_same_port: D, other_port_after_host_sent_to_it: D);
combination!(adm_adf, AddressDependent, AddressDependent,
    same_ip_other_port: D, other_ip_same_port: F, other_port_after_host_sent_to_it: D);
// ADM keys by remote IP, so the send to the other port refreshes `ext` and permits that port.
combination!(adm_apdf, AddressDependent, AddressAndPortDependent,
    same_ip_other_port: F, other_ip_same_port: F, other_port_after_host_sent_to_it: D);
combination!(apdm_eif, AddressAndPortDependent, EndpointIndependent,
    same_ip_other_port: D, other_ip_same_port: D, other_port_after_host_sent_to_it: D);
// `ext` holds the address permission for SERVER's IP from the first send.
combination!(apdm_adf, AddressAndPortDependent, AddressDependent,
    same_ip_other_port: D, other_ip_same_port: F, other_port_after_host_sent_to_it: D);
// Symmetric: the send to the other port went out through a different mapping.
combination!(apdm_apdf, AddressAndPortDependent, AddressAndPortDependent,
    same_ip_other_port: F, other_ip_same_port: F, other_port_after_host_sent_to_it: F);
