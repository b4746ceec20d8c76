package ddm

import (
	"encoding/json"
	"sort"
	"strings"
)

// supportedVersions is management.client-capabilities' supported-versions: the protocol
// version Apple's examples give for server-capabilities (inferred; Apple's schema lists no
// value).
var supportedVersions = []string{"1.0.0"}

// StatusReport is the Data of the status check-in (Apple's StatusReport: StatusItems, Errors,
// FullReport). Like a device, it reports only the status items it is subscribed to
// (Subscribed), and of those only the ones this device has (the platform, the OS version and
// the enrollment, from Apple's status schema) and the simulator knows a value for:
// device.identifier.*, device.model.*, device.operating-system.*,
// management.client-capabilities, management.declarations, and softwareupdate.* as an
// up-to-date device with no update pending reports them. A subscribed item the device lacks
// is left out, with no error. Names with dots nest (device.model.family is
// StatusItems.device.model.family).
//
// full sends every subscribed item; otherwise only the items, and the declarations, whose
// value changed since the last report, and nothing when none did (items is then empty).
// After a declaration was removed (Remove), management.declarations goes whole, every
// remaining entry, as Apple's item has no removal marker: the server sees what is gone by
// its absence. The report is recorded as sent. FullReport appears where the platform and OS
// have it (iOS 17, macOS 14).
func (s *State) StatusReport(dev Device, full bool) ([]byte, error) {
	vals := s.statusValues(dev)
	if s.reported == nil {
		s.reported = map[string]string{}
	}
	subscribed := map[string]bool{}
	for _, name := range s.Subscribed() {
		subscribed[name] = true
	}
	items := map[string]any{}
	names := make([]string, 0, len(vals))
	for name := range vals {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		v := vals[name]
		switch {
		case !subscribed[name]:
			// A later subscription then reports the value, changed or not.
			s.forget(name)
			continue
		case name == "management.declarations":
			v = s.declarationsDelta(v.(map[string][]map[string]any), full || s.removed)
			s.removed = false
			if v == nil {
				continue
			}
		case !s.changed(name, v) && !full:
			continue
		}
		nest(items, name, v)
	}
	report := map[string]any{"StatusItems": items, "Errors": []any{}}
	if ok, _ := dev.has(statusReportKeys["FullReport"]); ok {
		report["FullReport"] = full
	}
	return json.Marshal(report)
}

// Subscribed is the status items the device is subscribed to, sorted: the union of the
// Payload.StatusItems of the stored com.apple.configuration.management.status-subscriptions
// declarations that are valid and active, and management.client-capabilities, whose
// subscription Apple makes implicit ("An implicit status subscription for this status item
// is always present", management.client-capabilities.yaml). It may name items this device
// lacks; StatusReport leaves those out.
func (s *State) Subscribed() []string {
	set := map[string]bool{"management.client-capabilities": true}
	for id, r := range s.resolve() {
		if r.Type != typeStatusSubscriptions || r.Valid != ValidValid || !r.Active {
			continue
		}
		names, _ := subscribedItems(s.decls[id].decl)
		for _, name := range names {
			set[name] = true
		}
	}
	out := make([]string, 0, len(set))
	for name := range set {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// emptyIsValue lists the status items whose empty string is a value, not "unknown":
// softwareupdate.beta-enrollment is "an empty string if there is no enrolled beta program".
var emptyIsValue = map[string]bool{"softwareupdate.beta-enrollment": true}

// statusValues is the value of every status item this device has and the simulator knows.
// The softwareupdate.* values are an up-to-date device's with no update pending (Apple's
// status schema for each); softwareupdate.device-id is left out, as the simulator knows no
// software-update device ID for its device.
func (s *State) statusValues(dev Device) map[string]any {
	all := map[string]any{
		"device.identifier.udid":                dev.UDID,
		"device.identifier.serial-number":       dev.SerialNumber,
		"device.model.family":                   dev.Family,
		"device.model.identifier":               dev.Product,
		"device.model.marketing-name":           dev.MarketingName,
		"device.operating-system.family":        dev.osFamily(),
		"device.operating-system.version":       dev.OSVersion,
		"device.operating-system.build-version": dev.BuildVersion,
		"management.client-capabilities":        capabilities(dev),
		"management.declarations":               s.declarationStatus(),
		"softwareupdate.install-state":          "none",
		"softwareupdate.pending-version":        map[string]string{"os-version": "", "build-version": ""},
		"softwareupdate.failure-reason":         map[string]int{"count": 0},
		"softwareupdate.install-reason":         map[string][]string{"reason": {}},
		"softwareupdate.beta-enrollment":        "",
	}
	out := map[string]any{}
	for name, v := range all {
		if str, ok := v.(string); ok && str == "" && !emptyIsValue[name] {
			continue
		}
		if ok, _ := dev.has(statusItems[name]); ok {
			out[name] = v
		}
	}
	return out
}

// capabilities is management.client-capabilities: the declaration types and status items
// this device has, from Apple's schema.
func capabilities(dev Device) map[string]any {
	decls := map[string][]string{KindActivation + "s": {}, KindConfiguration + "s": {}, KindAsset + "s": {}, KindManagement: {}}
	for typ, t := range declarationTypes {
		if ok, _ := dev.has(t.OS); ok {
			k := listOf(t.Kind)
			decls[k] = append(decls[k], typ)
		}
	}
	for _, l := range decls {
		sort.Strings(l)
	}
	var items []string
	for name, o := range statusItems {
		if ok, _ := dev.has(o); ok {
			items = append(items, name)
		}
	}
	sort.Strings(items)
	return map[string]any{
		"supported-versions": supportedVersions,
		"supported-features": map[string]any{},
		"supported-payloads": map[string]any{"declarations": decls, "status-items": items},
	}
}

// declarationStatus is management.declarations: each stored declaration under its kind's list
// (activations, configurations, assets, management), by identifier.
func (s *State) declarationStatus() map[string][]map[string]any {
	out := map[string][]map[string]any{"activations": {}, "configurations": {}, "assets": {}, "management": {}}
	for _, r := range s.Results() {
		e := map[string]any{"identifier": r.Identifier, "server-token": r.ServerToken, "valid": r.Valid, "active": r.Active}
		if len(r.Reasons) > 0 {
			e["reasons"] = r.Reasons
		}
		k := listOf(r.Kind)
		out[k] = append(out[k], e)
	}
	return out
}

// listOf is the management.declarations list a declaration of kind goes in.
func listOf(kind string) string {
	if kind == KindManagement {
		return KindManagement
	}
	return kind + "s"
}

// declarationKey is where changed records a management.declarations entry.
func declarationKey(list, identifier string) string {
	return "management.declarations/" + list + "/" + identifier
}

// declarationsDelta is management.declarations as this report sends it: every entry when
// whole, else the entries that changed since the last report (nil when none did). Apple:
// a full report has "the full set of items in any status array item (not just the changes)".
func (s *State) declarationsDelta(all map[string][]map[string]any, whole bool) any {
	out := map[string][]map[string]any{}
	some := false
	for list, entries := range all {
		out[list] = []map[string]any{}
		for _, e := range entries {
			if s.changed(declarationKey(list, e["identifier"].(string)), e) || whole {
				out[list] = append(out[list], e)
				some = true
			}
		}
	}
	if !some && !whole {
		return nil
	}
	return out
}

// forget drops what the last reports sent of a status item (and, for
// management.declarations, of every entry).
func (s *State) forget(name string) {
	delete(s.reported, name)
	if name != "management.declarations" {
		return
	}
	for key := range s.reported {
		if strings.HasPrefix(key, "management.declarations/") {
			delete(s.reported, key)
		}
	}
}

// changed records v as the last reported value of key and says whether it differs from the
// one before.
func (s *State) changed(key string, v any) bool {
	b, _ := json.Marshal(v)
	if s.reported[key] == string(b) {
		return false
	}
	s.reported[key] = string(b)
	return true
}

// nest puts v at a dotted status item name in items.
func nest(items map[string]any, name string, v any) {
	parts := strings.Split(name, ".")
	m := items
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = v
}
