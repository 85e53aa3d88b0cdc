package webhook

import (
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
)

// cgnat is the shared address space of RFC 6598, private in practice.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// privateAddr reports whether ip is loopback, private, link-local,
// unspecified or multicast: places a webhook must not reach by default.
func privateAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || cgnat.Contains(ip)
}

// CheckURL accepts an absolute http(s) URL. Unless allowPrivate, a URL whose
// host is a loopback or private address, or localhost, is refused (SSRF);
// names are checked again when the delivery connects.
func CheckURL(param, raw string, allowPrivate bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return invalid(param, "invalid_url", "%s must be an absolute http or https URL", param)
	}
	if u.User != nil {
		return invalid(param, "invalid_url", "%s must not carry credentials", param)
	}
	if allowPrivate {
		return nil
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return invalid(param, "url_not_allowed", "%s points at this machine; loopback and private addresses need --webhook-allow-private", param)
	}
	if ip, err := netip.ParseAddr(host); err == nil && privateAddr(ip) {
		return invalid(param, "url_not_allowed", "%s is a loopback or private address; these need --webhook-allow-private", param)
	}
	return nil
}

// refusePrivate is a net.Dialer Control that refuses loopback and private
// addresses, whatever name resolved to them (DNS rebinding).
func refusePrivate(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || privateAddr(ip) {
		return errPrivateAddress
	}
	return nil
}
