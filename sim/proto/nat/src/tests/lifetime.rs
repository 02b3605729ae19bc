//! Mapping refresh and expiry (RFC 4787 §4.3, REQ-5 and REQ-6), permission expiry, and the
//! purge that keeps memory bounded.

use super::*;

#[test]
fn nat_mapped_idle_inbound_before_and_at_timeout() {
    let mut nat = nat_with(
        Behaviour::EndpointIndependent,
        Behaviour::EndpointIndependent,
    );
    let ext = sent(&mut nat, at(0), HOST, SERVER);
    let just_before = SimInstant::from_micros(120_000_000 - 1);
    assert_eq!(
        recv(&mut nat, just_before, SERVER, ext),
        delivered(SERVER, HOST)
    );
    assert_eq!(recv(&mut nat, at(120), SERVER, ext), NO_MAPPING);
}

#[test]
fn nat_mapped_outbound_keepalive_refreshes() {
    let mut nat = nat_with(
        Behaviour::EndpointIndependent,
        Behaviour::AddressAndPortDependent,
    );
    let ext = sent(&mut nat, at(0), HOST, SERVER);
    assert_eq!(sent(&mut nat, at(100), HOST, SERVER), ext);
    assert_eq!(
        recv(&mut nat, at(219), SERVER, ext),
        delivered(SERVER, HOST)
    );
    assert_eq!(recv(&mut nat, at(220), SERVER, ext), NO_MAPPING);
}

#[test]
fn nat_mapped_inbound_without_refresh_expires_on_schedule() {
    let mut nat = nat_with(
        Behaviour::EndpointIndependent,
        Behaviour::EndpointIndependent,
    );
    assert!(
        !nat.config().inbound_refresh,
        "default is outbound-only refresh"
    );
    let ext = sent(&mut nat, at(0), HOST, SERVER);
    for t in [30, 60, 90, 119] {
        assert_eq!(recv(&mut nat, at(t), SERVER, ext), delivered(SERVER, HOST));
    }
    assert_eq!(recv(&mut nat, at(120), SERVER, ext), NO_MAPPING);
}

#[test]
fn nat_mapped_inbound_with_refresh_extends_lifetime() {
    let mut cfg = config(
        Behaviour::EndpointIndependent,
        Behaviour::EndpointIndependent,
    );
    cfg.inbound_refresh = true;
    let mut nat = nat(cfg);
    let ext = sent(&mut nat, at(0), HOST, SERVER);
    for t in [100, 200, 300] {
        assert_eq!(recv(&mut nat, at(t), SERVER, ext), delivered(SERVER, HOST));
    }
    assert_eq!(nat.poll_timeout(), Some(at(420)));
    assert_eq!(recv(&mut nat, at(420), SERVER, ext), NO_MAPPING);
}

#[test]
fn nat_inbound_refresh_filtered_packet_does_not_refresh() {
    let mut cfg = config(
        Behaviour::EndpointIndependent,
        Behaviour::AddressAndPortDependent,
    );
    cfg.inbound_refresh = true;
    let mut nat = nat(cfg);
    let ext = sent(&mut nat, at(0), HOST, SERVER);
    assert_eq!(recv(&mut nat, at(100), OTHER_IP_SAME_PORT, ext), FILTERED);
    assert_eq!(nat.poll_timeout(), Some(at(120)));
    assert_eq!(recv(&mut nat, at(120), SERVER, ext), NO_MAPPING);
}

#[test]
fn nat_adf_permission_expires_while_mapping_lives() {
    // The mapping is kept alive by traffic to another remote; SERVER's permission is not.
    let mut nat = nat_with(Behaviour::EndpointIndependent, Behaviour::AddressDependent);
    let ext = sent(&mut nat, at(0), HOST, SERVER);
    assert_eq!(sent(&mut nat, at(100), HOST, OTHER_IP_SAME_PORT), ext);
    assert_eq!(
        recv(&mut nat, at(119), SERVER_OTHER_PORT, ext),
        delivered(SERVER_OTHER_PORT, HOST)
    );
    assert_eq!(recv(&mut nat, at(120), SERVER, ext), FILTERED);
    assert_eq!(
        recv(&mut nat, at(120), OTHER_IP_SAME_PORT, ext),
        delivered(OTHER_IP_SAME_PORT, HOST)
    );
}

#[test]
fn nat_apdf_permission_refreshed_per_remote_endpoint() {
    let mut nat = nat_with(
        Behaviour::EndpointIndependent,
        Behaviour::AddressAndPortDependent,
    );
    let ext = sent(&mut nat, at(0), HOST, SERVER);
    sent(&mut nat, at(50), HOST, SERVER_OTHER_PORT);
    sent(&mut nat, at(100), HOST, SERVER);
    // SERVER_OTHER_PORT was last sent to at 50 s; SERVER at 100 s.
    assert_eq!(recv(&mut nat, at(170), SERVER_OTHER_PORT, ext), FILTERED);
    assert_eq!(
        recv(&mut nat, at(170), SERVER, ext),
        delivered(SERVER, HOST)
    );
}

#[test]
fn nat_inbound_refresh_does_not_extend_permission() {
    let mut cfg = config(
        Behaviour::EndpointIndependent,
        Behaviour::AddressAndPortDependent,
    );
    cfg.inbound_refresh = true;
    let mut nat = nat(cfg);
    let ext = sent(&mut nat, at(0), HOST, SERVER);
    assert_eq!(
        recv(&mut nat, at(100), SERVER, ext),
        delivered(SERVER, HOST)
    );
    // The mapping lives until 220 s, but SERVER's permission ended at 120 s.
    assert_eq!(recv(&mut nat, at(150), SERVER, ext), FILTERED);
    assert_eq!(nat.mapping_count(), 1);
}

#[test]
fn nat_expired_mapping_outbound_creates_fresh_mapping() {
    let mut nat = nat_with(
        Behaviour::EndpointIndependent,
        Behaviour::AddressAndPortDependent,
    );
    let ext = sent(&mut nat, at(0), HOST, SERVER);
    sent(&mut nat, at(1), HOST, SERVER_OTHER_PORT);
    // After expiry the old permissions are gone with the mapping.
    let again = sent(&mut nat, at(500), HOST, SERVER);
    assert_eq!(again, ext, "port preservation picks the freed port again");
    assert_eq!(recv(&mut nat, at(501), SERVER_OTHER_PORT, ext), FILTERED);
    assert_eq!(
        recv(&mut nat, at(501), SERVER, ext),
        delivered(SERVER, HOST)
    );
}

#[test]
fn nat_many_mappings_handle_timeout_purges_everything() {
    let mut nat = nat_with(
        Behaviour::AddressAndPortDependent,
        Behaviour::AddressAndPortDependent,
    );
    for i in 0..50u16 {
        let remote = v4(203, 0, 113, 10, 1000 + i);
        sent(&mut nat, at(u64::from(i)), HOST, remote);
    }
    assert_eq!(nat.mapping_count(), 50);
    assert_eq!(nat.poll_timeout(), Some(at(120)), "earliest expiry first");
    nat.handle_timeout(at(120));
    assert_eq!(nat.mapping_count(), 49);
    assert_eq!(nat.poll_timeout(), Some(at(121)));
    nat.handle_timeout(at(1000));
    assert_eq!(nat.mapping_count(), 0);
    assert_eq!(nat.poll_timeout(), None, "no timers left behind");
}

#[test]
fn nat_eim_apdf_stale_permissions_purged_while_mapping_lives() {
    let mut nat = nat_with(
        Behaviour::EndpointIndependent,
        Behaviour::AddressAndPortDependent,
    );
    for i in 0..20u16 {
        sent(
            &mut nat,
            at(u64::from(i) * 5),
            HOST,
            v4(203, 0, 113, 10, 1000 + i),
        );
    }
    // The mapping lives until 215 s; the first permission expires at 120 s and is the next
    // deadline: permissions are timers of their own, so they do not pile up.
    assert_eq!(nat.poll_timeout(), Some(at(120)));
    nat.handle_timeout(at(212));
    assert_eq!(nat.poll_timeout(), Some(at(215)));
    assert_eq!(nat.mapping_count(), 1);
    let ext = SocketAddr::new(PUB1, 5000);
    assert_eq!(
        recv(&mut nat, at(212), v4(203, 0, 113, 10, 1000), ext),
        FILTERED
    );
    let last = v4(203, 0, 113, 10, 1019);
    assert_eq!(recv(&mut nat, at(212), last, ext), delivered(last, HOST));
}
