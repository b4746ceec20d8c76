package transport

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/enrollsim/enrollsim/route"
)

// ResolveRule and ConnectToRule are the overrides the dialer obeys.
type (
	ResolveRule   = route.ResolveRule
	ConnectToRule = route.ConnectToRule
)

// ParseResolve parses one --resolve entry; the error names the flag.
func ParseResolve(s string) (ResolveRule, error) {
	r, err := route.ParseResolve(s)
	if err != nil {
		return r, fmt.Errorf("--resolve %q: %w", s, err)
	}
	return r, nil
}

// ParseConnectTo parses one --connect-to entry; the error names the flag.
func ParseConnectTo(s string) (ConnectToRule, error) {
	r, err := route.ParseConnectTo(s)
	if err != nil {
		return r, fmt.Errorf("--connect-to %q: %w", s, err)
	}
	return r, nil
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
