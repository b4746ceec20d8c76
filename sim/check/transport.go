package check

import (
	"fmt"
	"strings"
	"time"
)

// Sane bounds of SEC-003: what a device-facing answer should never exceed.
const (
	DiscoveryBound = 64 << 10
	ProfileBound   = 1 << 20
)

// Transport is what a case saw of the connections the device itself made
// (the tester's probes excluded), gathered when the case ends.
type Transport struct {
	// Exchanges counts the device's own exchanges; with none, the case
	// never reached the network and nothing is judged.
	Exchanges int `json:"exchanges"`
	// Old are connections under TLS 1.2, each "url negotiated TLS 1.0".
	Old []string `json:"old,omitempty"`
	// Hosts counts the hosts whose certificate chain was judged; Untrusted
	// says why a stock trust store would refuse some of them.
	Hosts     int      `json:"hosts"`
	Untrusted []string `json:"untrusted,omitempty"`
	// Slow, Big and Limits are SEC-003's findings: answers past the
	// timeout, bodies over a bound or a read cap, other limits the steps
	// met. Timeout is the per-request bound that applied.
	Slow    []string      `json:"slow,omitempty"`
	Big     []string      `json:"big,omitempty"`
	Limits  []string      `json:"limits,omitempty"`
	Timeout time.Duration `json:"timeout_ns"`
	// TLS is what the ATS rules (SEC-004..006) say of each host the device
	// connected to (SCEP excluded), and Device the OS that judged them
	// ("iOS 26.1").
	TLS    []TLSHost `json:"tls,omitempty"`
	Device string    `json:"device"`
}

// TLSHost is one host's handshake as the ATS rules see it.
type TLSHost struct {
	Host     string       `json:"host"`
	Findings []TLSFinding `json:"findings,omitempty"`
}

// TLSFinding is one broken ATS rule: Rule is the check it breaks (SEC-004,
// SEC-005 or SEC-006). Refused: this device refuses it; Always: every
// device since iOS 13 does.
type TLSFinding struct {
	Rule    string `json:"rule"`
	Detail  string `json:"detail"`
	Refused bool   `json:"refused,omitempty"`
	Always  bool   `json:"always,omitempty"`
}

var transportOwns = []string{"SEC-001", "SEC-002", "SEC-003", "SEC-004", "SEC-005", "SEC-006"}

func init() {
	register(Judge{Group: "SEC", Reads: "transport", Owns: transportOwns, Run: func(o *Observations) *Verdicts {
		if o.Transport == nil {
			return nil
		}
		return JudgeTransport(*o.Transport)
	}})
}

var atsExpected = map[string]string{
	"SEC-004": "TLS 1.3, or TLS 1.2 with an ECDHE AES-GCM suite (SHA-256 or better)",
	"SEC-005": "the Extended Master Secret extension on TLS 1.2",
	"SEC-006": "certificates with RSA keys of 2048 bits or more or ECDSA keys of 256 or more, signed with SHA-256 or better",
}

// JudgeTransport is SEC-001..006 over the device's own connections of a
// case; nil when the case made none.
func JudgeTransport(t Transport) *Verdicts {
	if t.Exchanges == 0 {
		return nil
	}
	v := NewVerdicts(transportOwns...)
	v.Check("SEC-001", len(t.Old) == 0, "TLS 1.2 or later on every device-facing endpoint", strings.Join(t.Old, "; "))
	if t.Hosts == 0 {
		v.Skip("SEC-002", "no TLS certificate was seen")
	} else {
		v.Check("SEC-002", len(t.Untrusted) == 0, "certificate chains a stock device trusts (no anchor channel exists for account-driven enrollment)", strings.Join(t.Untrusted, "; "))
	}
	issues := append(append(append([]string(nil), t.Slow...), t.Big...), t.Limits...)
	v.Check("SEC-003", len(issues) == 0, fmt.Sprintf("bodies within %s (discovery) / %s (profile), answers within %s", ByteSize(DiscoveryBound), ByteSize(ProfileBound), t.Timeout), strings.Join(issues, "; "))
	judgeATS(v, t)
	return v
}

// judgeATS is SEC-004..006: the TLS rules of the device's OS over every
// host it connected to. A finding this device refuses fails; one that only
// the 27 releases refuse warns on an older device.
func judgeATS(v *Verdicts, t Transport) {
	for _, id := range []string{"SEC-004", "SEC-005", "SEC-006"} {
		var details []string
		refused, always := false, false
		for _, h := range t.TLS {
			for _, f := range h.Findings {
				if f.Rule != id {
					continue
				}
				details = append(details, h.Host+": "+f.Detail)
				refused = refused || f.Refused
				always = always || f.Always
			}
		}
		actual := strings.Join(details, "; ")
		switch {
		case len(t.TLS) == 0:
			v.Skip(id, "no TLS connection to judge")
		case actual == "":
			v.Check(id, true, "", "")
		case always:
			v.Check(id, false, atsExpected[id], actual+"; Apple devices refuse it since iOS 13 and macOS 10.15 (support.apple.com/103769)")
		case refused:
			v.Check(id, false, atsExpected[id], actual+"; the 27 releases refuse it")
		default:
			res := Verdict(id, false, atsExpected[id], actual+"; this "+t.Device+" device connects, but devices on the 27 releases (iOS, iPadOS, macOS, visionOS 27) refuse it")
			res.Status = Warn
			v.Add(res)
		}
	}
}

// ByteSize says n in the unit people read: "64 KiB", "1 MiB", "900 bytes".
func ByteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
