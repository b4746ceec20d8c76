package refserver

import (
	"fmt"
	"slices"
	"strings"
)

// Fault is one named, switchable misbehaviour of the reference server. Each
// one exists to show that the checks in Trips fire: the lead's catalogue test
// plays Probe with Account against a server running only this fault and
// expects every listed check to end fail or warn.
type Fault struct {
	Name    string
	Doc     string
	Trips   []string // check IDs (spec §4) the fault must trip
	Probe   string   // device reference, e.g. "iphone@18.1"
	Account string   // user-identifier the probe signs in with
}

// Fault names. Handlers test them with s.has so that every misbehaviour can
// be found from its constant.
const (
	FaultAxMDisagrees                 = "axm-disagrees"
	FaultAxMNeedsQuery                = "axm-needs-query"
	FaultAxMUnregistered              = "axm-unregistered"
	FaultDirectWellKnown              = "direct-wellknown"
	FaultRedirectDropsQuery           = "redirect-drops-query"
	FaultRedirectLoop                 = "redirect-loop"
	FaultRedirectNoLocation           = "redirect-no-location"
	FaultRedirectToHTTP               = "redirect-to-http"
	FaultWellKnown404                 = "wellknown-404"
	FaultWellKnownAcceptsAnyone       = "wellknown-accepts-anyone"
	FaultWellKnownADDEForAll          = "wellknown-adde-for-all"
	FaultWellKnownAnyFamily           = "wellknown-any-family"
	FaultWellKnownBadJSON             = "wellknown-bad-json"
	FaultWellKnownBadRejection        = "wellknown-bad-rejection"
	FaultWellKnownBYODForAll          = "wellknown-byod-for-all"
	FaultWellKnownCacheable           = "wellknown-cacheable"
	FaultWellKnownContentType         = "wellknown-content-type"
	FaultWellKnownEmptyServers        = "wellknown-empty-servers"
	FaultWellKnownHTTPBaseURL         = "wellknown-http-baseurl"
	FaultWellKnownMissingBaseURL      = "wellknown-missing-baseurl"
	FaultWellKnownNeedsCookie         = "wellknown-needs-cookie"
	FaultWellKnownPlistRejection      = "wellknown-plist-rejection"
	FaultWellKnownRequiresModelFamily = "wellknown-requires-model-family"
	FaultWellKnownSlow                = "wellknown-slow"
	FaultWellKnownTwoServers          = "wellknown-two-servers"
	FaultWellKnownUnknownVersion      = "wellknown-unknown-version"
)

const (
	probeOld      = "iphone@18.1" // no AxM fallback: a domain failure is final
	probeFallback = "iphone@18.2" // first iOS with the AxM fallback
	probeAlice    = "alice@acme.test"
)

// faultTable is the catalogue of faults. The "wellknown-" faults act on the
// well-known document the device fetches through the organisation domain
// (the MDM host's well-known, or acme.test itself under direct-wellknown);
// the URL registered with AxM keeps answering correctly unless an "axm-"
// fault says otherwise. Keeping the two apart lets each fault trip only its
// own checks, even on devices that also walk the fallback.
var faultTable = []Fault{
	{Name: FaultAxMDisagrees, Doc: "/mdm/service-discovery returns BaseURL https://mdm.acme.test/enroll/other, unlike the domain document",
		Trips: []string{"ABM-009"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultAxMNeedsQuery, Doc: "/mdm/service-discovery without user-identifier answers 500 instead of a clear 4xx",
		Trips: []string{"ABM-004"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultAxMUnregistered, Doc: "the server never registers its discovery URL with the AxM stand-in, so /mdmBaseURL answers 404",
		Trips: []string{"ABM-003"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultDirectWellKnown, Doc: "acme.test serves the discovery document itself instead of redirecting to the MDM host",
		Trips: []string{}, Probe: probeOld, Account: probeAlice},
	{Name: FaultRedirectDropsQuery, Doc: "acme.test redirects to the MDM well-known without the original query",
		Trips: []string{"RD-002"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultRedirectLoop, Doc: "acme.test redirects to the very URL that was requested, forever",
		Trips: []string{"WK-001", "RD-004"}, Probe: probeOld, Account: probeAlice},
	{Name: FaultRedirectNoLocation, Doc: "acme.test answers 302 without a Location header",
		Trips: []string{"WK-001", "RD-005"}, Probe: probeOld, Account: probeAlice},
	{Name: FaultRedirectToHTTP, Doc: "acme.test redirects to http://mdm.acme.test/... (a downgrade)",
		Trips: []string{"WK-001", "RD-003"}, Probe: probeOld, Account: probeAlice},
	{Name: FaultWellKnown404, Doc: "acme.test answers the well-known request with a plain-text 404",
		Trips: []string{"WK-001"}, Probe: probeOld, Account: probeAlice},
	{Name: FaultWellKnownAcceptsAnyone, Doc: "unknown users get a 200 mdm-byod document instead of the 403 rejection",
		Trips: []string{"WK-009"}, Probe: probeOld, Account: probeAlice},
	{Name: FaultWellKnownADDEForAll, Doc: "every known user gets the mdm-adde entry, whatever the account or device",
		Trips: []string{"WK-008", "WK-017", "ABM-009"}, Probe: "iphone@16.7", Account: probeAlice},
	{Name: FaultWellKnownAnyFamily, Doc: "unsupported model-family values (AppleTV, Watch, anything) get the document",
		Trips: []string{"WK-014"}, Probe: probeOld, Account: probeAlice},
	{Name: FaultWellKnownBadJSON, Doc: "the well-known 200 body is truncated JSON ({\"Servers\": [) served as application/json",
		Trips: []string{"WK-001", "WK-003"}, Probe: probeOld, Account: probeAlice},
	{Name: FaultWellKnownBadRejection, Doc: "the 403 for unknown users carries {\"code\":\"com.apple.well-known.rejected\"}",
		Trips: []string{"WK-010"}, Probe: probeOld, Account: probeAlice},
	{Name: FaultWellKnownBYODForAll, Doc: "every known user gets the mdm-byod entry, even ADDE accounts",
		Trips: []string{"WK-017", "ABM-009"}, Probe: probeOld, Account: "carol@acme.test"},
	{Name: FaultWellKnownCacheable, Doc: "the well-known document has no Cache-Control header",
		Trips: []string{"WK-016"}, Probe: probeOld, Account: probeAlice},
	{Name: FaultWellKnownContentType, Doc: "the well-known 200 document is served as text/plain",
		Trips: []string{"WK-001", "WK-002"}, Probe: probeOld, Account: probeAlice},
	{Name: FaultWellKnownEmptyServers, Doc: "the well-known document is {\"Servers\":[]}",
		Trips: []string{"WK-001", "WK-003"}, Probe: probeOld, Account: probeAlice},
	{Name: FaultWellKnownHTTPBaseURL, Doc: "the well-known document's BaseURL uses http instead of https",
		Trips: []string{"WK-007", "ABM-009"}, Probe: probeOld, Account: probeAlice},
	{Name: FaultWellKnownMissingBaseURL, Doc: "the well-known document's Servers entry has no BaseURL",
		Trips: []string{"WK-001", "WK-004"}, Probe: probeOld, Account: probeAlice},
	{Name: FaultWellKnownNeedsCookie, Doc: "the MDM well-known without a session cookie answers 302 to itself with Set-Cookie",
		Trips: []string{"WK-001", "WK-012", "RD-004"}, Probe: probeOld, Account: probeAlice},
	{Name: FaultWellKnownPlistRejection, Doc: "the 403 for unknown users is an XML plist (application/xml), which devices do not parse",
		Trips: []string{"WK-011"}, Probe: probeOld, Account: probeAlice},
	{Name: FaultWellKnownRequiresModelFamily, Doc: "the MDM well-known without model-family answers 400",
		Trips: []string{"WK-013"}, Probe: probeOld, Account: probeAlice},
	{Name: FaultWellKnownSlow, Doc: "acme.test waits Config.SlowDelay (default 20s) before redirecting",
		Trips: []string{"WK-015"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultWellKnownTwoServers, Doc: "the well-known document lists the user's entry and then an extra mdm-adde entry",
		Trips: []string{"WK-006"}, Probe: probeOld, Account: probeAlice},
	{Name: FaultWellKnownUnknownVersion, Doc: "the well-known document's Version is mdm-byod-v2 (unknown to devices)",
		Trips: []string{"WK-001", "WK-005"}, Probe: probeOld, Account: probeAlice},
}

var faultIndex = func() map[string]bool {
	m := make(map[string]bool, len(faultTable))
	for _, f := range faultTable {
		m[f.Name] = true
	}
	return m
}()

// Faults returns the fault catalogue sorted by name. The slices are copies:
// callers may change them freely.
func Faults() []Fault {
	out := make([]Fault, len(faultTable))
	for i, f := range faultTable {
		f.Trips = slices.Clone(f.Trips)
		out[i] = f
	}
	slices.SortFunc(out, func(a, b Fault) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func faultNames() []string {
	names := make([]string, 0, len(faultTable))
	for _, f := range faultTable {
		names = append(names, f.Name)
	}
	slices.Sort(names)
	return names
}

// parseFaults checks every requested name against the catalogue, reporting
// all unknown names at once so a typo in a list is fixed in one go.
func parseFaults(names []string) (map[string]bool, error) {
	set := make(map[string]bool, len(names))
	var unknown []string
	for _, n := range names {
		n = strings.TrimSpace(n)
		if !faultIndex[n] {
			unknown = append(unknown, fmt.Sprintf("%q", n))
			continue
		}
		set[n] = true
	}
	if len(unknown) > 0 {
		word := "fault"
		if len(unknown) > 1 {
			word = "faults"
		}
		return nil, fmt.Errorf("refserver: unknown %s %s; known faults: %s",
			word, strings.Join(unknown, ", "), strings.Join(faultNames(), ", "))
	}
	return set, nil
}

// has reports whether the named fault is switched on. A name outside the
// catalogue is a programming error (a fault used but never documented), so
// it panics rather than silently reading false.
func (s *Server) has(name string) bool {
	if !faultIndex[name] {
		panic("refserver: fault " + name + " is not in the fault table")
	}
	return s.faults[name]
}
