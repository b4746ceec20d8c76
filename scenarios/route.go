package scenarios

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// A scenario names its routing overrides as data; the command layer builds
// the transport from them. The syntax is curl's, checked here so that a
// mistake is reported with its line like any other, and kept in step with
// the transport's own parser by a test in internal/cli.

const (
	resolveUsage   = "want HOST:PORT:ADDR, e.g. acme.test:443:127.0.0.1"
	connectToUsage = "want HOST:PORT:CONNECT-HOST:CONNECT-PORT, e.g. acme.test:443:127.0.0.1:8443"
)

// CheckResolve checks curl's --resolve syntax HOST:PORT:ADDR; ADDR is an IP
// address, IPv6 in brackets or not. The error says what is wrong and what
// is accepted.
func CheckResolve(s string) error {
	host, rest, ok := cutField(s)
	if !ok {
		return fmt.Errorf("%s", resolveUsage)
	}
	portStr, addrStr, ok := cutField(rest)
	if !ok || addrStr == "" {
		return fmt.Errorf("%s", resolveUsage)
	}
	if host == "" {
		return fmt.Errorf("HOST is empty, use * for any host (%s)", resolveUsage)
	}
	if port, err := parsePort(portStr); err != nil || port == 0 {
		return fmt.Errorf("port %q is not a number from 1 to 65535 (%s)", portStr, resolveUsage)
	}
	if _, err := netip.ParseAddr(unbracket(addrStr)); err != nil {
		return fmt.Errorf("%q is not an IP address (%s)", addrStr, resolveUsage)
	}
	return nil
}

// CheckConnectTo checks curl's --connect-to syntax
// HOST:PORT:CONNECT-HOST:CONNECT-PORT; empty fields mean any (or keep).
func CheckConnectTo(s string) error {
	_, rest, ok1 := cutField(s)
	portStr, rest, ok2 := cutField(rest)
	_, connectPortStr, ok3 := cutField(rest)
	if !ok1 || !ok2 || !ok3 || strings.Contains(connectPortStr, ":") {
		return fmt.Errorf("%s", connectToUsage)
	}
	if _, err := parsePort(portStr); err != nil {
		return fmt.Errorf("port %q is not a number from 1 to 65535 (%s)", portStr, connectToUsage)
	}
	if _, err := parsePort(connectPortStr); err != nil {
		return fmt.Errorf("connect port %q is not a number from 1 to 65535 (%s)", connectPortStr, connectToUsage)
	}
	return nil
}

// cutField splits at the first colon outside brackets: "[::1]:443" is
// "::1" and "443".
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

// parsePort reads "" as 0 (any, or keep).
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
