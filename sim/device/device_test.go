package device

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCapabilityThresholds(t *testing.T) {
	tests := []struct {
		ref  string
		cap  Capability
		want bool
		why  string
	}{
		{"iphone@14.8", CapUserEnrollment, false, "account-driven user enrollment needs iOS 15.0 or later (this device runs 14.8)"},
		{"iphone@15.0", CapUserEnrollment, true, ""},
		{"iphone@16.7", CapDeviceEnrollment, false, "account-driven device enrollment needs iOS 17.0 or later (this device runs 16.7)"},
		{"iphone@17.0", CapDeviceEnrollment, true, ""},
		{"iphone@15.0", CapOAuth2, false, "the apple-oauth2 sign-in needs iOS 16.0 or later (this device runs 15.0)"},
		{"iphone@16.7", CapOAuth2, true, ""},
		{"iphone@17.4", CapWellKnownFailed, false, "the com.apple.well-known.failed rejection body needs iOS 17.5 or later (this device runs 17.4)"},
		{"iphone@17.5", CapWellKnownFailed, true, ""},
		{"iphone@18.1", CapAxMFallback, false, "the Apple Business Manager discovery fallback needs iOS 18.2 or later (this device runs 18.1)"},
		{"iphone@18.2", CapAxMFallback, true, ""},
		{"iphone@26.1", CapAxMFallback, true, ""},
		{"ipad@18.1", CapAxMFallback, false, "the Apple Business Manager discovery fallback needs iPadOS 18.2 or later (this device runs 18.1)"},
		{"ipad@18.2", CapAxMFallback, true, ""},
		{"mac@13.6", CapUserEnrollment, false, "account-driven user enrollment needs macOS 14.0 or later (this device runs 13.6)"},
		{"mac@14.0", CapDeviceEnrollment, true, ""},
		{"mac@14.4", CapWellKnownFailed, false, "the com.apple.well-known.failed rejection body needs macOS 14.5 or later (this device runs 14.4)"},
		{"mac@15.1", CapAxMFallback, false, "the Apple Business Manager discovery fallback needs macOS 15.2 or later (this device runs 15.1)"},
		{"mac@15.2", CapAxMFallback, true, ""},
		{"mac@26.1", CapESSO, false, "enrollment single sign-on is not available on macOS"},
		{"vision@1.0", CapUserEnrollment, false, "account-driven user enrollment needs visionOS 1.1 or later (this device runs 1.0)"},
		{"vision@1.1", CapDeviceEnrollment, true, ""},
		{"vision@1.1", CapWellKnownFailed, false, "the com.apple.well-known.failed rejection body needs visionOS 1.2 or later (this device runs 1.1)"},
		{"vision@2.1", CapAxMFallback, false, "the Apple Business Manager discovery fallback needs visionOS 2.2 or later (this device runs 2.1)"},
		{"vision@2.2", CapAxMFallback, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.ref+"/"+string(tt.cap), func(t *testing.T) {
			d, err := LookupDevice(tt.ref)
			require.NoError(t, err)
			got, why := d.Can(tt.cap)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.why, why)
		})
	}
}

func TestLookupDevice(t *testing.T) {
	tests := []struct {
		ref, product, os, build string
		err                     string
	}{
		{ref: "iphone@18.2", product: "iPhone17,3", os: "18.2", build: "22C152"},
		{ref: "iPhone@18.2", product: "iPhone17,3", os: "18.2", build: "22C152"},
		{ref: "iPhone17,2@26.1", product: "iPhone17,2", os: "26.1", build: "23B85"},
		{ref: "mac@15.2", product: "Mac16,1", os: "15.2", build: "24C101"},
		{ref: "vision@2.2", product: "RealityDevice14,1", os: "2.2", build: "22N842"},
		{ref: "visionos@26.1", product: "RealityDevice17,1", os: "26.1", build: "23N49"},
		{ref: "ipad@26.1", product: "iPad16,1", os: "26.1", build: "23B85"},
		// A bare family is not "the newest": that would change with the build.
		{ref: "ipad", err: "no OS version; say which, e.g. ipad@27.0"},
		// The 27 devices are catalogue entries, no longer 26.1 ones.
		{ref: "iphone@27.0", product: "iPhone18,1", os: "27.0", build: "24A437"},
		{ref: "ipad@27.0", product: "iPad17,1", os: "27.0", build: "24A437"},
		{ref: "mac@27.0", product: "Mac17,2", os: "27.0", build: "26A425"},
		{ref: "vision@27.0", product: "RealityDevice17,1", os: "27.0", build: "24M5355a"},
		{ref: "iPhone18,1@27.0", product: "iPhone18,1", os: "27.0", build: "24A437"},
		// Not in the catalogue: the nearest lower product plays the version.
		{ref: "iphone@27.1", product: "iPhone18,1", os: "27.1", build: "24A437"},
		{ref: "mac@27.0.1", product: "Mac17,2", os: "27.0.1", build: "26A425"},
		{ref: "iphone@26.9", product: "iPhone17,2", os: "26.9", build: "23B85"},
		{ref: "iphone@18.3.1", product: "iPhone17,3", os: "18.3.1", build: "22C152"},
		{ref: "iphone@12.0", product: "iPhone12,1", os: "12.0", build: "18H17"},
		{ref: "watch@10.0", err: `unknown family or product "watch"`},
		{ref: "iphone@x", err: `want MAJOR[.MINOR[.PATCH]]`},
		{ref: "@18.2", err: "accepted: FAMILY@VERSION"},
		{ref: "iphone@1.2.3.4", err: "want MAJOR[.MINOR[.PATCH]]"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			d, err := LookupDevice(tt.ref)
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.product, d.Product)
			assert.Equal(t, tt.os, d.OS.String())
			assert.Equal(t, tt.build, d.Build)
		})
	}
}

func TestCatalogueCoversThresholds(t *testing.T) {
	for _, r := range capRules {
		for fam, since := range r.since {
			min, err := ParseVersion(since)
			require.NoError(t, err)
			var at, below bool
			for _, d := range Catalogue() {
				if d.Family != fam {
					continue
				}
				if d.OS == min {
					at = true
				}
				if d.OS.Less(min) {
					below = true
				}
			}
			assert.True(t, at, "%s %s: no catalogue device at %s", fam, r.cap, since)
			if r.cap != CapESSO && r.cap != CapOAuth2 {
				assert.True(t, below, "%s %s: no catalogue device below %s", fam, r.cap, since)
			}
		}
	}
	refs := map[string]bool{}
	for _, d := range Catalogue() {
		assert.False(t, refs[d.Ref()], "duplicate reference %s", d.Ref())
		refs[d.Ref()] = true
	}
}

func TestCatalogue27(t *testing.T) {
	n := 0
	for _, d := range Catalogue() {
		if d.OS.Major != 27 {
			continue
		}
		n++
		old, err := LookupDevice(d.Family.Short() + "@26.1")
		require.NoError(t, err)
		for _, c := range AllCapabilities() {
			assert.Equal(t, old.Has(c), d.Has(c), "%s %s", d.Ref(), c)
		}
		assert.NotEmpty(t, d.Note, "%s: its build is not Apple's published data", d.Ref())
		assert.Equal(t, "27.0", d.OS.String())
	}
	assert.Equal(t, 4, n, "one 27.0 device per family")
	d, err := LookupDevice("vision@27.0")
	require.NoError(t, err)
	assert.Contains(t, d.Note, "beta 6")
	d, err = LookupDevice("ipad@27.2")
	require.NoError(t, err)
	assert.Contains(t, d.Note, "third parties")
	for _, d := range Catalogue() {
		if d.OS.Major < 27 {
			assert.Empty(t, d.Note, "%s: Apple's published build needs no note", d.Ref())
		}
	}
}
