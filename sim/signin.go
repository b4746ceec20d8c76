package sim

import (
	"fmt"
	"strings"

	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
)

// signIn is §2.1: the user types the identifier; the device parses it and
// decides whether it can enroll at all. Nothing goes on the wire.
func (r *runner) signIn() (*stop, event.StepStatus, string) {
	d, c := r.c.Device, r.c
	need := device.CapUserEnrollment
	switch c.Type {
	case TypeDevice:
		need = device.CapDeviceEnrollment
	case TypeAuto:
		// Either kind will do: the server decides in discovery.
		if !d.Has(device.CapUserEnrollment) && d.Has(device.CapDeviceEnrollment) {
			need = device.CapDeviceEnrollment
		}
	}
	if ok, why := d.Can(need); !ok {
		return &stop{event.OutcomeRefused, why}, event.StepRefused, "the device refuses: " + why
	}
	user, domain, err := ParseIdentifier(c.Account.Identifier, c.Options.ExactlyOneAt)
	if err != nil {
		return &stop{event.OutcomeRefused, err.Error()}, event.StepRefused, "the device refuses: " + err.Error()
	}
	r.user, r.domain = user, domain
	where := "Settings > General > VPN & Device Management > Sign In to Work or School Account"
	if d.Family == device.Mac {
		where = "System Settings > General > Device Management > Sign In"
	}
	return nil, event.StepOK, fmt.Sprintf("%s: %s signs in as %s (organisation domain %s)", where, d.Name, c.Account.Identifier, domain)
}

// ParseIdentifier splits a typed identifier the way Apple documents (at the
// last '@', both sides non-empty, the right side a fully qualified domain
// name) or, with exactlyOneAt, the way the iOS 26.1 client does.
func ParseIdentifier(id string, exactlyOneAt bool) (user, domain string, err error) {
	n := strings.Count(id, "@")
	if n == 0 {
		return "", "", fmt.Errorf("identifier %q has no '@': type it as user@domain", id)
	}
	if exactlyOneAt && n > 1 {
		return "", "", fmt.Errorf("identifier %q has %d '@' signs; this device (like the iOS 26.1 client) accepts exactly one", id, n)
	}
	i := strings.LastIndex(id, "@")
	user, domain = id[:i], id[i+1:]
	if user == "" {
		return "", "", fmt.Errorf("identifier %q has nothing before the '@'", id)
	}
	if !isFQDN(domain) {
		return "", "", fmt.Errorf("identifier %q: %q is not a fully qualified domain name", id, domain)
	}
	return user, strings.ToLower(domain), nil
}

func isFQDN(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if len(s) == 0 || len(s) > 253 || !strings.Contains(s, ".") {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
