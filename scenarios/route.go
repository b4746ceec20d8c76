package scenarios

import "github.com/enrollsim/enrollsim/route"

// A scenario names its routing overrides as data; the command layer builds
// the transport from them. The syntax is checked here with the transport's
// own parser, so a mistake is reported with its line like any other.

// CheckResolve checks curl's --resolve syntax HOST:PORT:ADDR.
func CheckResolve(s string) error { return checkRoute(route.ParseResolve, s) }

// CheckConnectTo checks curl's --connect-to syntax
// HOST:PORT:CONNECT-HOST:CONNECT-PORT.
func CheckConnectTo(s string) error { return checkRoute(route.ParseConnectTo, s) }

func checkRoute[R any](parse func(string) (R, error), s string) error {
	_, err := parse(s)
	return err
}
