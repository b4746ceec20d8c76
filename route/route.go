// Package route reads curl's --resolve and --connect-to overrides. They are
// data a scenario file holds as much as flags of the transport that obeys
// them, so the one parser lives here, below both.
package route

import (
	"errors"
	"fmt"
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
// an IP address; IPv6 addresses may be written in brackets. The error says
// what is wrong and what is accepted; callers name the flag or key.
func ParseResolve(s string) (ResolveRule, error) {
	fail := func(why string) (ResolveRule, error) { return ResolveRule{}, errors.New(why) }
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
	fail := func(why string) (ConnectToRule, error) { return ConnectToRule{}, errors.New(why) }
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
