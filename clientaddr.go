package funcauth

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// clientAddressing finds and groups client addresses.
type clientAddressing struct {
	trusted    []netip.Prefix
	ipv6Prefix int
}

func newClientAddressing(cfg *ClientAddress) (*clientAddressing, error) {
	c := &clientAddressing{ipv6Prefix: cfg.IPv6Prefix}
	if c.ipv6Prefix == 0 {
		c.ipv6Prefix = 64
	}
	if c.ipv6Prefix < 16 || c.ipv6Prefix > 128 {
		return nil, fieldError("client_address.ipv6_prefix", "must lie between 16 and 128 (default 64)")
	}
	var err error
	c.trusted, err = parsePrefixes(cfg.TrustedProxies, "client_address.trusted_proxies")
	if err != nil {
		return nil, err
	}
	return c, nil
}

// parsePrefixes parses addresses and CIDRs.
func parsePrefixes(list []string, field string) ([]netip.Prefix, error) {
	var prefixes []netip.Prefix
	for i, s := range list {
		s = strings.TrimSpace(s)
		var p netip.Prefix
		var err error
		if strings.Contains(s, "/") {
			p, err = netip.ParsePrefix(s)
			p = p.Masked()
		} else {
			var a netip.Addr
			a, err = netip.ParseAddr(s)
			if err == nil {
				a = a.Unmap()
				p = netip.PrefixFrom(a, a.BitLen())
			}
		}
		if err != nil {
			return nil, fieldError(field+"["+strconv.Itoa(i)+"]", strconv.Quote(s)+" is not an IP address or CIDR")
		}
		prefixes = append(prefixes, p)
	}
	return prefixes, nil
}

func containsAddr(prefixes []netip.Prefix, a netip.Addr) bool {
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// addressOf returns the client's address: the peer's, or, when the peer is a
// trusted proxy, the right-most X-Forwarded-For hop that is not itself a
// trusted proxy. Hops are read as Caddy reads them: an address with or
// without a port, brackets or an IPv6 zone ("203.0.113.7:51234",
// "[2001:db8::1]:443").
//
// A hop that is no address at all was written by a trusted proxy (every
// hop to its right is one), so it stands for the client: it becomes the
// client's identity, as a short digest (unparsedHop). Falling back to the
// proxy's own address instead would put every client behind it under one
// ban key, so that one attacker could ban them all.
func addressOf(c *clientAddressing, r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if len(c.trusted) > 0 {
		return c.addressBehind(r, host)
	}
	if strings.IndexByte(host, ':') < 0 {
		// An IPv4 address is its canonical text (netip accepts no other),
		// and what is no address at all is returned as it is: either way
		// host, without parsing it (under Yaegi each call costs a frame).
		return host
	}
	return canonicalIPv6(host)
}

// canonicalIPv6 returns host, with a colon, as the canonical text of its
// IPv6 address, without a zone, and an IPv4-mapped address as IPv4; or as
// it is when it is no address. (A function of its own, so that the usual
// IPv4 client's path holds none of its values: see calls.go.)
func canonicalIPv6(host string) string {
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	return peer.Unmap().WithZone("").String()
}

// addressBehind is address for a Guard with trusted proxies.
func (c *clientAddressing) addressBehind(r *http.Request, host string) string {
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	peer = peer.Unmap().WithZone("")
	if !containsAddr(c.trusted, peer) {
		return peer.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		if hop == "" {
			continue
		}
		a, ok := parseHop(hop)
		if !ok {
			return unparsedHop(hop)
		}
		client = a
		if !containsAddr(c.trusted, client) {
			break
		}
	}
	return client.String()
}

// parseHop reads one X-Forwarded-For hop: an IP address, with or without a
// port, in brackets or not, with or without an IPv6 zone (dropped).
func parseHop(hop string) (netip.Addr, bool) {
	if host, _, err := net.SplitHostPort(hop); err == nil {
		hop = host
	} else if len(hop) > 2 && hop[0] == '[' && hop[len(hop)-1] == ']' {
		hop = hop[1 : len(hop)-1]
	}
	if i := strings.IndexByte(hop, '%'); i >= 0 {
		hop = hop[:i]
	}
	a, err := netip.ParseAddr(hop)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// unparsedHop is the client identity of a hop that is no address: a
// fixed-size digest, so that neither the ban tables nor the logs hold
// what the header said, whatever its length.
func unparsedHop(hop string) string {
	sum := sha256.Sum256([]byte(hop))
	return "unparsed-xff-" + hex.EncodeToString(sum[:8])
}

// peerTrusted reports whether the request comes straight from a trusted proxy.
func (c *clientAddressing) peerTrusted(r *http.Request) bool {
	if len(c.trusted) == 0 {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	return err == nil && containsAddr(c.trusted, peer.Unmap().WithZone(""))
}

// group returns the key bans and rate limits use for a client address:
// the address itself for IPv4, its prefix (/64 by default) for IPv6, so
// one host cannot rotate through its subnet.
func (c *clientAddressing) group(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	if a.Is4() {
		return addr // netip accepts only the canonical dotted form
	}
	a = a.Unmap().WithZone("")
	if a.Is4() || c.ipv6Prefix >= 128 {
		return a.String()
	}
	p, err := a.Prefix(c.ipv6Prefix)
	if err != nil {
		return a.String()
	}
	return p.String()
}
