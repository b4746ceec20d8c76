package sim

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/enrollsim/enrollsim/sim/ats"
	"github.com/enrollsim/enrollsim/sim/check"
)

// tlsProber is a Doer that learns from handshakes alone what a device on
// the 27 releases would refuse of a host (internal/transport's Client).
type tlsProber interface {
	Strict27Findings(ctx context.Context, u *url.URL) ([]ats.Finding, bool)
}

// outlook27 remembers a prober's answer per host for a minute: one look
// serves every case of a run (a load plays thousands against one server),
// and a long-lived process still sees a server's changed settings.
var outlook27 sync.Map // outlookKey → outlookEntry

type outlookKey struct {
	prober tlsProber
	host   string
}

type outlookEntry struct {
	at       time.Time
	findings []ats.Finding
}

const outlookTTL = time.Minute

var atsExpected = map[ats.Rule]string{
	ats.RuleSuite:       "TLS 1.3, or TLS 1.2 with an ECDHE AES-GCM suite (SHA-256 or better)",
	ats.RuleEMS:         "the Extended Master Secret extension on TLS 1.2",
	ats.RuleCertificate: "certificates with RSA keys of 2048 bits or more or ECDSA keys of 256 or more, signed with SHA-256 or better",
}

// judgeATS is SEC-004..006: the TLS rules of the device's OS over every
// host it connected to (SCEP excluded). A 27 device's own transport
// refuses what breaks them, so its findings come from the refusals; an
// older device connected, and what a 27 device would refuse of the same
// hosts is a warning, learnt from a handshake that offers what a 27 device
// offers (one per host and run) or, without a prober, from what this
// connection negotiated.
func (r *runner) judgeATS() {
	policy := r.c.Device.TLSPolicy()
	byRule := map[ats.Rule][]string{}
	refuses := map[ats.Rule]bool{}
	always := map[ats.Rule]bool{}
	seen := map[string]bool{}
	for _, d := range r.deviceResps {
		u := d.resp.url
		if d.classicTLS || u == nil || u.Scheme != "https" || seen[u.Host] {
			continue
		}
		var fs []ats.Finding
		if refused, ok := ats.Refused(d.resp.err); ok {
			fs = refused.Findings
		} else if d.resp.tls != nil {
			fs = ats.Judge(d.resp.tls)
			if policy == ats.Classic {
				fs = r.outlook27(u, fs)
			}
		} else {
			continue // no handshake with this host yet
		}
		seen[u.Host] = true
		for _, f := range fs {
			byRule[f.Rule] = append(byRule[f.Rule], u.Hostname()+": "+f.Detail)
			if f.Applies(policy) {
				refuses[f.Rule] = true
			}
			always[f.Rule] = always[f.Rule] || f.Always
		}
	}
	for _, rule := range []ats.Rule{ats.RuleSuite, ats.RuleEMS, ats.RuleCertificate} {
		id := string(rule)
		actual := strings.Join(byRule[rule], "; ")
		switch {
		case len(seen) == 0:
			r.skip(id, "no TLS connection to judge")
		case actual == "":
			r.check(id, true, "", "")
		case always[rule]:
			r.check(id, false, atsExpected[rule], actual+"; Apple devices refuse it since iOS 13 and macOS 10.15 (support.apple.com/103769)")
		case refuses[rule]:
			r.check(id, false, atsExpected[rule], actual+"; the 27 releases refuse it")
		default:
			res := check.Verdict(id, false, atsExpected[rule], actual+"; this "+r.c.Device.Family.Platform()+" "+r.c.Device.OS.String()+" device connects, but devices on the 27 releases (iOS, iPadOS, macOS, visionOS 27) refuse it")
			res.Status = Warn
			r.report(res)
		}
	}
}

// outlook27 is what a 27 device would refuse of u's host, for a device
// that connected under the classic rules: the prober's answer when the
// Doer has one (the negotiated suite alone may be the server's preference
// among several, some of which a 27 device would take), else fs.
func (r *runner) outlook27(u *url.URL, fs []ats.Finding) []ats.Finding {
	p, ok := r.doer().(tlsProber)
	if !ok {
		return fs
	}
	key := outlookKey{p, u.Host}
	now := time.Now()
	if v, ok := outlook27.Load(key); ok && now.Sub(v.(outlookEntry).at) < outlookTTL {
		return v.(outlookEntry).findings
	}
	ctx, cancel := context.WithTimeout(r.ctx, r.lim.Timeout)
	defer cancel()
	found, ok := p.Strict27Findings(ctx, u)
	if !ok {
		return fs
	}
	outlook27.Store(key, outlookEntry{at: now, findings: found})
	return found
}
