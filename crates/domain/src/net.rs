//! Which network addresses an outgoing request of the platform (webhooks, and any future one) may
//! reach: public ones only. Loopback, private, link-local (cloud metadata at 169.254.169.254),
//! shared (carrier-grade NAT), multicast, broadcast, documentation and reserved ranges are the
//! platform's own network or nobody's.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_unspecified()
        || a == 0
        || (a == 100 && (64..=127).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (18..=19).contains(&b))
        || a >= 240)
}

fn public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return public_v4(v4);
    }
    let s = ip.segments();
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00
        || (s[0] & 0xffc0) == 0xfe80
        || (s[0] == 0x2001 && s[1] == 0x0db8)
        // NAT64 and IPv4-compatible forms reach IPv4 space: judged as such.
        || (s[0] == 0x0064 && s[1] == 0xff9b && !public_v4(Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8)))
        || (s[..6] == [0, 0, 0, 0, 0, 0]))
}

/// Whether an outgoing request may go to this address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => public_v6(v6),
    }
}

#[cfg(test)]
mod tests {
    use super::is_public;

    fn ok(s: &str) -> bool {
        is_public(s.parse().expect("address"))
    }

    #[test]
    fn the_platform_s_own_network_is_never_reached() {
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2001:db8::1",
        ] {
            assert!(!ok(a), "{a} must be refused");
        }
    }

    #[test]
    fn public_addresses_are_reached() {
        for a in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700:4700::1111",
            "::ffff:93.184.216.34",
        ] {
            assert!(ok(a), "{a} must be allowed");
        }
    }
}
