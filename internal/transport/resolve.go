package transport

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

const (
	resolveUsage   = "want HOST:PORT:ADDR, e.g. acme.test:443:127.0.0.1"
	connectToUsage = "want HOST:PORT:CONNECT-HOST:CONNECT-PORT, e.g. acme.test:443:127.0.0.1:8443"
)

// ResolveRule is one --resolve entry: connections to Host:Port dial
// Addr:Port instead of looking Host up.
type ResolveRule struct {
	Host string // lower case; "*" matches any host
	Port int
	Addr netip.Addr
}

// ConnectToRule is one --connect-to entry: connections to Host:Port dial
// ConnectHost:ConnectPort instead. An empty Host or zero Port matches any;
// an empty ConnectHost or zero ConnectPort keeps the original.
type ConnectToRule struct {
	Host        string // lower case
	Port        int
	ConnectHost string
	ConnectPort int
}

// ParseResolve parses curl's --resolve syntax HOST:PORT:ADDR. ADDR must be
// an IP address; IPv6 addresses may be written in brackets.
func ParseResolve(s string) (ResolveRule, error) {
	fail := func(why string) (ResolveRule, error) {
		return ResolveRule{}, fmt.Errorf("--resolve %q: %s", s, why)
	}
	host, rest, ok := cutField(s)
	if !ok {
		return fail(resolveUsage)
	}
	portStr, addrStr, ok := cutField(rest)
	if !ok || addrStr == "" {
		return fail(resolveUsage)
	}
	if host == "" {
		return fail("HOST is empty, use * for any host (" + resolveUsage + ")")
	}
	port, err := parsePort(portStr)
	if err != nil || port == 0 {
		return fail(fmt.Sprintf("port %q is not a number from 1 to 65535 (%s)", portStr, resolveUsage))
	}
	addr, err := netip.ParseAddr(unbracket(addrStr))
	if err != nil {
		return fail(fmt.Sprintf("%q is not an IP address (%s)", addrStr, resolveUsage))
	}
	return ResolveRule{Host: strings.ToLower(host), Port: port, Addr: addr}, nil
}

// ParseConnectTo parses curl's --connect-to syntax
// HOST:PORT:CONNECT-HOST:CONNECT-PORT. IPv6 hosts must be written in brackets.
func ParseConnectTo(s string) (ConnectToRule, error) {
	fail := func(why string) (ConnectToRule, error) {
		return ConnectToRule{}, fmt.Errorf("--connect-to %q: %s", s, why)
	}
	host, rest, ok1 := cutField(s)
	portStr, rest, ok2 := cutField(rest)
	connectHost, connectPortStr, ok3 := cutField(rest)
	if !ok1 || !ok2 || !ok3 || strings.Contains(connectPortStr, ":") {
		return fail(connectToUsage)
	}
	port, err := parsePort(portStr)
	if err != nil {
		return fail(fmt.Sprintf("port %q is not a number from 1 to 65535 (%s)", portStr, connectToUsage))
	}
	connectPort, err := parsePort(connectPortStr)
	if err != nil {
		return fail(fmt.Sprintf("connect port %q is not a number from 1 to 65535 (%s)", connectPortStr, connectToUsage))
	}
	return ConnectToRule{
		Host:        strings.ToLower(host),
		Port:        port,
		ConnectHost: connectHost,
		ConnectPort: connectPort,
	}, nil
}

// cutField splits s at the first colon that is not inside brackets, so that
// "[::1]:443" yields "::1" and "443". ok reports whether a colon was found.
func cutField(s string) (field, rest string, ok bool) {
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]")
		if end < 0 || !strings.HasPrefix(s[end+1:], ":") {
			return "", "", false
		}
		return s[1:end], s[end+2:], true
	}
	return strings.Cut(s, ":")
}

func unbracket(s string) string {
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		return s[1 : len(s)-1]
	}
	return s
}

// parsePort accepts "" as 0, meaning "any" or "keep" depending on the rule.
func parsePort(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, strconv.ErrRange
	}
	return int(n), nil
}

// dialer rewrites the address it is asked to dial. Doing this below TLS,
// rather than rewriting the request URL, keeps the URL's host name for SNI,
// certificate verification and the Host header.
type dialer struct {
	net.Dialer
	resolve   []ResolveRule
	connectTo []ConnectToRule
}

func (d *dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	target := d.route(addr)
	conn, err := d.Dialer.DialContext(ctx, network, target)
	if err != nil && target != addr {
		// Say where we really went; otherwise a refused connection to the
		// override reads as if the original host refused it.
		return nil, fmt.Errorf("%s (redirected by --connect-to/--resolve): %w", addr, err)
	}
	return conn, err
}

// route applies the first matching --connect-to rule and then --resolve to
// the result, which is the order curl uses.
func (d *dialer) route(addr string) string {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return addr // let the dialer report the malformed address
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return addr
	}
	for _, r := range d.connectTo {
		if (r.Host == "" || strings.EqualFold(r.Host, host)) && (r.Port == 0 || r.Port == port) {
			if r.ConnectHost != "" {
				host = r.ConnectHost
			}
			if r.ConnectPort != 0 {
				port = r.ConnectPort
			}
			break
		}
	}
	if a, ok := d.lookup(host, port); ok {
		host = a.String()
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// lookup prefers an exact host match over "*" whatever the order, so a
// catch-all entry can be combined with specific ones.
func (d *dialer) lookup(host string, port int) (netip.Addr, bool) {
	var wildcard *ResolveRule
	for i, r := range d.resolve {
		if r.Port != port {
			continue
		}
		if strings.EqualFold(r.Host, host) {
			return r.Addr, true
		}
		if r.Host == "*" && wildcard == nil {
			wildcard = &d.resolve[i]
		}
	}
	if wildcard != nil {
		return wildcard.Addr, true
	}
	return netip.Addr{}, false
}
