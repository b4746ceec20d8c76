package mdmcmd

import (
	"fmt"

	"github.com/enrollsim/enrollsim/sim/profile"
)

// managedApp is an app InstallApplication asked for. The simulated device
// can fetch nothing (no App Store account, no network beyond the MDM
// server), so every install fails.
type managedApp struct {
	flags            int64
	hasConfiguration bool
}

// Apple's application.install.yaml and application.managed.list.yaml
// (responsekeys) give the states the simulator uses:
//   - InstallApplication answers State "Queued" ("The app is scheduled for
//     installation") with the bundle Identifier: the device accepted the
//     request; fetching comes after the answer.
//   - The fetch fails, so the next ManagedApplicationList reports the app
//     with Status "Failed" ("The app installation failed"), one of the
//     statuses Apple lists as transient, reported only once: "Once they are
//     reported to the server, the entries for the apps are removed from the
//     next query." The entry then goes.
//
// Apple is silent on what a device answers when it cannot even learn which
// app it was asked for (an iTunesStoreID or a ManifestURL without
// Identifier, with no store and no manifest to read): the simulator answers
// State "Failed" with RejectionReason "CouldNotVerifyAppID" (macOS: "Other",
// the only reason Apple says macOS returns) and records nothing. That is the
// simulator's choice.
const (
	appQueued = "Queued"
	appFailed = "Failed"
)

// installApplication answers InstallApplication.
func (s *State) installApplication(c Command, p platform) map[string]any {
	body := profile.Dict(c.Body)
	for _, k := range []struct{ key, want string }{
		{"Identifier", "string"}, {"ManifestURL", "string"}, {"iTunesStoreID", "integer"},
		{"ManagementFlags", "integer"}, {"Options", "dictionary"}, {"Configuration", "dictionary"}, {"Attributes", "dictionary"},
	} {
		if why := wrongType(body, k.key, k.want); why != "" {
			return formatError(c.RequestType, why)
		}
	}
	id, _ := body.String("Identifier")
	if id == "" && !body.Has("iTunesStoreID") && !body.Has("ManifestURL") {
		return formatError(c.RequestType, "it names no app (no Identifier, iTunesStoreID or ManifestURL)")
	}
	if id == "" {
		reason := "CouldNotVerifyAppID"
		if p == platformMacOS {
			reason = "Other"
		}
		return map[string]any{"Status": "Acknowledged", "State": appFailed, "RejectionReason": reason}
	}
	flags, _ := body.Int("ManagementFlags")
	if s.apps == nil {
		s.apps = map[string]*managedApp{}
	}
	s.apps[id] = &managedApp{flags: flags, hasConfiguration: body.Has("Configuration")}
	return map[string]any{"Status": "Acknowledged", "Identifier": id, "State": appQueued}
}

// wrongType says why an optional key has the wrong plist type; "" when it is
// absent or right.
func wrongType(d profile.Dict, key, want string) string {
	if !d.Has(key) {
		return ""
	}
	ok := false
	switch want {
	case "string":
		_, ok = d.String(key)
	case "integer":
		_, ok = d.Int(key)
	case "dictionary":
		_, ok = d.Dict(key)
	}
	if ok {
		return ""
	}
	return fmt.Sprintf("%s is %s, not %s", key, d.TypeOf(key), article(want))
}

func article(s string) string {
	if s != "" && (s[0] == 'a' || s[0] == 'i') {
		return "an " + s
	}
	return "a " + s
}

// managedApplicationList answers ManagedApplicationList
// (application.managed.list.yaml): every app InstallApplication queued, with
// Status "Failed", once; Identifiers narrows the list (and an app left out
// keeps its entry for a later query).
func (s *State) managedApplicationList(c Command, p platform) map[string]any {
	only, err := stringSet(c, "Identifiers")
	if err != nil {
		return formatError(c.RequestType, err.Error())
	}
	list := map[string]any{}
	for _, id := range sortedKeys(s.apps) {
		if only != nil && !only[id] {
			continue
		}
		a := s.apps[id]
		item := map[string]any{
			"Status":           appFailed,
			"ManagementFlags":  a.flags,
			"HasConfiguration": a.hasConfiguration,
			"HasFeedback":      false,
		}
		if p != platformMacOS { // IsValidated: introduced n/a on macOS
			item["IsValidated"] = false
		}
		// ExternalVersionIdentifier and UnusedRedemptionCode come from the
		// store, which the device never reached: left out.
		list[id] = item
		delete(s.apps, id) // Failed is transient: reported once
	}
	return map[string]any{"Status": "Acknowledged", "ManagedApplicationList": list}
}
