package scenarios_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/internal/refserver"
	"github.com/enrollsim/enrollsim/scenarios"
	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
)

func TestBuiltInList(t *testing.T) {
	list := scenarios.BuiltIn(opts(nil))
	var names []string
	byName := map[string]scenarios.SuiteInfo{}
	for _, info := range list {
		names = append(names, info.Name)
		byName[info.Name] = info
		assert.NotEmpty(t, info.Description, info.Name)
		assert.Positive(t, info.Scenarios, info.Name)
		assert.GreaterOrEqual(t, info.Cases, info.Scenarios, info.Name)
	}
	assert.Equal(t, []string{"conformance", "demo", "negative", "thresholds", "tls27"}, names)
	assert.Equal(t, scenarios.SuiteInfo{Name: "conformance", Description: byName["conformance"].Description, Scenarios: 4, Cases: 4 * len(device.Catalogue())}, byName["conformance"])
	assert.Equal(t, 7, byName["demo"].Scenarios)
	assert.Equal(t, 7, byName["demo"].Cases)
	assert.Equal(t, len(refserver.Faults()), byName["negative"].Scenarios)
	assert.Equal(t, len(refserver.Faults()), byName["negative"].Cases)
	assert.Equal(t, 10, byName["thresholds"].Scenarios)
	assert.Equal(t, 5, byName["tls27"].Scenarios)
	assert.Equal(t, 10, byName["tls27"].Cases)
}

// Every built-in suite loads, and each of its scenarios turns into cases
// against the embedded server without any environment.
func TestBuiltInSuitesLoad(t *testing.T) {
	for _, info := range scenarios.BuiltIn(opts(nil)) {
		t.Run(info.Name, func(t *testing.T) {
			s, err := scenarios.Load(info.Name, opts(nil))
			require.NoError(t, err)
			assert.True(t, s.BuiltIn)
			assert.Equal(t, info.Name, s.Name)
			assert.Equal(t, info.Description, s.Description)
			cases := 0
			for _, sc := range s.Scenarios {
				assert.Equal(t, info.Name, sc.Suite)
				assert.NotEmpty(t, sc.Description, sc.Name)
				specs, err := sc.Cases(func(string) string { return "" })
				require.NoError(t, err, sc.Name)
				for _, sp := range specs {
					assert.True(t, sp.Embedded, sp.Case.Name)
					assert.True(t, strings.HasPrefix(sp.Case.Name, sc.Name+"/"), sp.Case.Name)
					assert.Equal(t, info.Name, sp.Case.Suite)
				}
				cases += len(specs)
			}
			assert.Equal(t, info.Cases, cases)
		})
	}
	_, err := scenarios.BuiltInSuite("nope", opts(nil))
	assert.EqualError(t, err, "nope: no built-in suite of that name (accepted: conformance, demo, negative, thresholds, tls27)")
}

func TestDemoSuite(t *testing.T) {
	s, err := scenarios.BuiltInSuite("demo", opts(nil))
	require.NoError(t, err)
	got := map[string]sim.Case{}
	faults := map[string][]string{}
	for _, sc := range s.Scenarios {
		specs, err := sc.Cases(nil)
		require.NoError(t, err)
		require.Len(t, specs, 1)
		got[specs[0].Case.Name] = specs[0].Case
		faults[specs[0].Case.Name] = specs[0].Faults
	}
	tests := []struct {
		name, device, account, outcome string
		typ                            sim.EnrollmentType
		faults, trips                  []string
		facts                          map[string]string
	}{
		{"byod-iphone/iphone@26.1", "iphone@26.1", "alice@acme.test", event.OutcomeEnrolled, sim.TypeUser, nil, nil,
			map[string]string{"redirects": "1", "server": "mdm-byod", "via": "well-known", "method": "apple-as-web", "enrollment_mode": "BYOD", "assigned": "alice@acme.test"}},
		{"byod-iphone-javascript/iphone@26.1", "iphone@26.1", "grace@acme.test", event.OutcomeEnrolled, sim.TypeUser, nil, nil,
			map[string]string{"server": "mdm-byod", "via": "well-known", "enrollment_mode": "BYOD", "assigned": "grace@acme.test"}},
		{"adde-mac-idp/mac@15.2", "mac@15.2", "carol@acme.test", event.OutcomeEnrolled, sim.TypeDevice, nil, nil,
			map[string]string{"server": "mdm-adde", "via": "well-known", "method": "apple-as-web", "enrollment_mode": "ADDE", "assigned": "carol@acme.test"}},
		{"axm-fallback-iphone/iphone@18.2", "iphone@18.2", "alice@acme.test", event.OutcomeEnrolled, sim.TypeUser, []string{"wellknown-404"}, nil,
			map[string]string{"via": "axm-fallback"}},
		{"no-fallback-iphone/iphone@18.1", "iphone@18.1", "alice@acme.test", event.OutcomeDiscoveryFailed, sim.TypeUser, []string{"wellknown-404"}, []string{"WK-001"}, nil},
		{"adde-refused-ipad/ipad@16.7", "ipad@16.7", "carol@acme.test", event.OutcomeRefused, sim.TypeDevice, nil, nil, nil},
		{"oauth-vision/vision@2.2", "vision@2.2", "erin@acme.test", event.OutcomeEnrolled, sim.TypeUser, nil, nil,
			map[string]string{"method": "apple-oauth2", "enrollment_mode": "BYOD", "assigned": "erin@acme.test"}},
	}
	require.Len(t, got, len(tests))
	for _, tt := range tests {
		c, ok := got[tt.name]
		require.True(t, ok, tt.name)
		assert.Equal(t, tt.device, c.Device.Ref(), tt.name)
		assert.Equal(t, tt.account, c.Account.Identifier, tt.name)
		assert.Equal(t, tt.typ, c.Type, tt.name)
		assert.Equal(t, tt.outcome, c.Expect.Outcome, tt.name)
		assert.Equal(t, tt.trips, c.Expect.Trips, tt.name)
		assert.Equal(t, tt.facts, c.Expect.Facts, tt.name)
		assert.Equal(t, tt.faults, faults[tt.name], tt.name)
		assert.True(t, c.Expect.Enroll, tt.name)
	}
}

// formFaults are the faults the form driver can play. Those that need the
// browser driver wait for scenarios to choose their driver (issue 13).
// The negative suite has one scenario per fault, built from the fault table.
func TestNegativeSuite(t *testing.T) {
	s, err := scenarios.BuiltInSuite("negative", opts(nil))
	require.NoError(t, err)
	faults := refserver.Faults()
	require.Len(t, s.Scenarios, len(faults))
	for i, f := range faults {
		sc := s.Scenarios[i]
		assert.Equal(t, f.Name, sc.Name)
		assert.Equal(t, f.Doc, sc.Description)
		assert.Equal(t, f.Probe, sc.Device)
		assert.Equal(t, f.Account, sc.Account.Identifier)
		assert.Equal(t, scenarios.Target{Embedded: true, Faults: []string{f.Name}}, sc.Target)
		wantOutcome := scenarios.OutcomeAny
		if f.Outcome != "" {
			wantOutcome = f.Outcome
		}
		assert.Equal(t, wantOutcome, sc.Expect.Outcome)
		wantType := sim.TypeUser
		if f.Account == "carol@acme.test" || f.Account == "frank@acme.test" {
			wantType = sim.TypeDevice
		}
		assert.Equal(t, wantType, sc.Type, f.Name)
		var want []string
		for _, id := range f.Trips {
			spec, ok := check.Lookup(id)
			require.True(t, ok, id)
			if spec.Level != check.Info {
				want = append(want, id)
			}
		}
		assert.Equal(t, want, sc.Expect.Fail, f.Name)
		// Only a fault whose every check is INFO leaves enrollment unexpected.
		assert.Equal(t, len(want) > 0 || len(f.Trips) == 0, sc.Expect.Enroll, f.Name)
		specs, err := sc.Cases(nil)
		require.NoError(t, err)
		require.Len(t, specs, 1)
		assert.Equal(t, f.Name+"/"+f.Probe, specs[0].Case.Name)
		if f.Outcome == "" {
			assert.Equal(t, "", specs[0].Case.Expect.Outcome, "any: the outcome is not checked")
		} else {
			assert.Equal(t, f.Outcome, specs[0].Case.Expect.Outcome)
		}
		assert.Equal(t, []string{f.Name}, specs[0].Faults)
		if slices.Contains(f.Trips, "AUTH-017") {
			assert.Equal(t, sim.DriverForm, specs[0].Case.Login.Driver, "%s: a JavaScript fault is the form driver's verdict", f.Name)
		}
	}
	// Some fault has an INFO check in its list, so the filter is exercised.
	info := false
	for _, f := range faults {
		for _, id := range f.Trips {
			if spec, _ := check.Lookup(id); spec.Level == check.Info {
				info = true
			}
		}
	}
	assert.True(t, info)
}

// Each threshold pair straddles its capability: the last version without it
// and the first with it.
func TestThresholdsSuite(t *testing.T) {
	s, err := scenarios.BuiltInSuite("thresholds", opts(nil))
	require.NoError(t, err)
	pairs := map[string]device.Capability{
		"adue":             device.CapUserEnrollment,
		"adde":             device.CapDeviceEnrollment,
		"axm-fallback":     device.CapAxMFallback,
		"wellknown-failed": device.CapWellKnownFailed,
		"oauth2":           device.CapOAuth2,
	}
	byName := map[string]scenarios.Scenario{}
	for _, sc := range s.Scenarios {
		byName[sc.Name] = sc
	}
	for prefix, capability := range pairs {
		below, at := byName[prefix+"-below"], byName[prefix+"-at"]
		require.NotEmpty(t, below.Name, prefix)
		require.NotEmpty(t, at.Name, prefix)
		require.Equal(t, len(below.Devices), len(at.Devices), prefix)
		for i := range below.Devices {
			b, err := device.LookupDevice(below.Devices[i])
			require.NoError(t, err)
			a, err := device.LookupDevice(at.Devices[i])
			require.NoError(t, err)
			assert.Equal(t, b.Family, a.Family, prefix)
			assert.False(t, b.Has(capability), "%s: %s should lack %s", prefix, b.Ref(), capability)
			assert.True(t, a.Has(capability), "%s: %s should have %s", prefix, a.Ref(), capability)
		}
		assert.NotEqual(t, scenarios.OutcomeAuto, below.Expect.Outcome, "%s: thresholds say their outcomes", prefix)
		assert.NotEqual(t, scenarios.OutcomeAuto, at.Expect.Outcome, "%s: thresholds say their outcomes", prefix)
	}
}
