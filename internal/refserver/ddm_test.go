package refserver

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/internal/apns"
)

// startDDM runs a server with declarative management for one test, its
// clock at fixedNow until the test moves it.
func startDDM(t *testing.T, faults ...string) *Server {
	t.Helper()
	clk := &testClock{now: fixedNow}
	s := startCfg(t, Config{Faults: faults, Now: clk.Now, DDM: true})
	testClocks.Store(s, clk)
	t.Cleanup(func() { testClocks.Delete(s) })
	return s
}

type tokensBody struct {
	SyncTokens struct{ DeclarationsToken, Timestamp string }
}

type itemsBody struct {
	Declarations      map[string][]struct{ Identifier, ServerToken string }
	DeclarationsToken string
}

// kindOfItems maps declaration-items' arrays to the endpoint's kinds.
var kindOfItems = map[string]string{"Activations": "activation", "Configurations": "configuration", "Assets": "asset", "Management": "management"}

// ddmJSON checks a 200 application/json answer and decodes it into v.
func ddmJSON(t *testing.T, rec *httptest.ResponseRecorder, v any) {
	t.Helper()
	require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body.String())
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), v), rec.Body.String())
}

// sync plays the device's side: tokens, declaration-items, then every
// declaration listed; it returns the DeclarationsToken and the
// declarations by identifier.
func (d *mdmDevice) sync() (string, map[string]Declaration) {
	t := d.t
	t.Helper()
	var tok tokensBody
	ddmJSON(t, d.ddm("tokens", nil), &tok)
	_, err := time.Parse(time.RFC3339, tok.SyncTokens.Timestamp)
	assert.NoError(t, err, "Timestamp is RFC 3339")
	var items itemsBody
	ddmJSON(t, d.ddm("declaration-items", nil), &items)
	assert.Equal(t, tok.SyncTokens.DeclarationsToken, items.DeclarationsToken)
	assert.ElementsMatch(t, slices.Collect(maps.Keys(kindOfItems)), slices.Collect(maps.Keys(items.Declarations)), "every kind's array, empty ones too")
	got := map[string]Declaration{}
	for key, list := range items.Declarations {
		for _, it := range list {
			var decl Declaration
			ddmJSON(t, d.ddm("declaration/"+kindOfItems[key]+"/"+it.Identifier, nil), &decl)
			assert.Equal(t, it.Identifier, decl.Identifier)
			assert.Equal(t, it.ServerToken, decl.ServerToken)
			assert.Equal(t, kindOfItems[key], decl.Kind())
			assert.NotNil(t, decl.Payload)
			got[decl.Identifier] = decl
		}
	}
	return tok.SyncTokens.DeclarationsToken, got
}

// statusReport is a device's status report (statusreport.yaml).
func statusReport(family string) []byte {
	b, _ := json.Marshal(map[string]any{
		"StatusItems": map[string]any{"device": map[string]any{
			"model":            map[string]any{"family": family},
			"operating-system": map[string]any{"version": "18.2"},
		}},
		"Errors": []any{}, "FullReport": true,
	})
	return b
}

// assertActivationsResolve checks that every activation names only
// configurations of the set.
func assertActivationsResolve(t *testing.T, decls map[string]Declaration) {
	t.Helper()
	for _, d := range decls {
		for _, ref := range standardConfigurations(d) {
			assert.Equal(t, "configuration", decls[ref].Kind(), "%s names %s", d.Identifier, ref)
		}
	}
}

// The clean sync on each family and enrollment type: the command after the
// first five, then tokens, items, every declaration, a 404 for an unknown
// one and the status report.
func TestDDMSync(t *testing.T) {
	for _, tc := range []struct{ name, product, kind, user string }{
		{"iphone-byod", "iPhone17,3", KindBYOD, "alice@acme.test"},
		{"iphone-adde", "iPhone17,3", KindADDE, "carol@acme.test"},
		{"mac-byod", "Mac16,1", KindBYOD, "alice@acme.test"},
		{"mac-adde", "Mac16,1", KindADDE, "carol@acme.test"},
		{"vision-byod", "RealityDevice14,1", KindBYOD, "alice@acme.test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startDDM(t)
			d := newDevice(t, s, tc.product, tc.kind, webToken(t, s, tc.user))
			d.enroll()
			types, cmds := d.drain(send{})
			assert.Equal(t, append(slices.Clone(wantCommands), "DeclarativeManagement"), types)
			var fromCommand tokensBody
			data, ok := cmds["DeclarativeManagement"]["Data"].([]byte)
			require.True(t, ok, "Data is data")
			require.NoError(t, json.Unmarshal(data, &fromCommand))

			token, decls := d.sync()
			assert.Equal(t, fromCommand.SyncTokens.DeclarationsToken, token)
			assert.ElementsMatch(t, []string{ddmActivationID, ddmSubscriptionsID, ddmTestID}, slices.Collect(maps.Keys(decls)))
			assert.Equal(t, "com.apple.activation.simple", decls[ddmActivationID].Type)
			assert.ElementsMatch(t, []string{ddmSubscriptionsID, ddmTestID}, standardConfigurations(decls[ddmActivationID]))
			assertActivationsResolve(t, decls)
			var names []string
			for _, it := range decls[ddmSubscriptionsID].Payload["StatusItems"].([]any) {
				names = append(names, it.(map[string]any)["Name"].(string))
			}
			want := slices.Clone(subscribedStatusItems)
			if tc.kind == KindADDE {
				want = append(want, subscribedSoftwareUpdate...)
			}
			assert.Equal(t, want, names, "software-update items for a device enrollment only")
			_, stored, _ := s.Declarations(d.id)
			assert.Equal(t, stored, token)

			assertRefused(t, d.ddm("declaration/configuration/com.acme.never-listed", nil), http.StatusNotFound, "no configuration declaration")
			_, ok = s.DDMStatus(d.id)
			assert.False(t, ok, "no report yet")
			report := statusReport("iPhone")
			assertEmptyOK(t, d.ddm("status", report))
			got, ok := s.DDMStatus(d.id)
			require.True(t, ok)
			assert.JSONEq(t, string(report), string(got))
			_, statusURL := s.DDMAdminURLs()
			rec := serve(t, s, http.MethodGet, strings.ReplaceAll(statusURL, "{id}", d.id))
			ddmJSON(t, rec, new(map[string]any))
			assert.JSONEq(t, string(report), rec.Body.String())

			again, _ := d.sync()
			assert.Equal(t, token, again, "the token holds while the set does")
		})
	}
}

// A device without declarative management gets no set and no command.
func TestDDMOnlyWhereTheOSHasIt(t *testing.T) {
	for _, tc := range []struct {
		product, version string
		want             bool
	}{
		{"iPhone17,3", "14.8", false}, {"iPhone17,3", "15.0", true}, {"iPad16,3", "18.2", true},
		{"Mac16,1", "12.7.6", false}, {"Mac16,1", "13.0", true}, {"RealityDevice14,1", "1.0", false},
		{"RealityDevice14,1", "1.1", true}, {"iPhone17,3", "", true}, {"iPhone17,3", "x", true},
	} {
		assert.Equal(t, tc.want, ddmSupported(tc.product, tc.version), "%s %s", tc.product, tc.version)
	}
	s := startDDM(t)
	d := newDevice(t, s, "iPhone17,3", KindBYOD, webToken(t, s, "alice@acme.test"))
	msg := d.authenticateMsg()
	msg["OSVersion"] = "14.8"
	assertOK(t, d.checkin(msg, send{}))
	assertOK(t, d.checkin(d.tokenUpdateMsg(false), send{}))
	types, _ := d.drain(send{})
	assert.Equal(t, wantCommands, types)
	assertRefused(t, d.ddm("tokens", nil), http.StatusBadRequest, "has no declarative management")
}

// adminDeclaration posts a declaration for id and returns the answer.
func adminDeclaration(t *testing.T, s *Server, id, query, body string) *httptest.ResponseRecorder {
	t.Helper()
	decls, _ := s.DDMAdminURLs()
	return serve(t, s, http.MethodPost, strings.ReplaceAll(decls, "{id}", id)+query, withBody(body))
}

func adminRemove(t *testing.T, s *Server, id, identifier string) *httptest.ResponseRecorder {
	t.Helper()
	decls, _ := s.DDMAdminURLs()
	return serve(t, s, http.MethodDelete, strings.ReplaceAll(decls, "{id}", id)+"&identifier="+identifier)
}

const secondTest = `{"Type":"com.apple.configuration.management.test","Identifier":"com.acme.ddm.second","Payload":{"Echo":"second","N":12345678901234567}}`

// tokenOfCommand drains the queue, expecting exactly one
// DeclarativeManagement, and returns the DeclarationsToken it carries.
func (d *mdmDevice) tokenOfCommand() string {
	d.t.Helper()
	types, cmds := d.drain(send{})
	require.Equal(d.t, []string{"DeclarativeManagement"}, types)
	var tok tokensBody
	require.NoError(d.t, json.Unmarshal(cmds["DeclarativeManagement"]["Data"].([]byte), &tok))
	return tok.SyncTokens.DeclarationsToken
}

// The DeclarationsToken changes exactly when the set does, and each change
// queues the DeclarativeManagement command.
func TestDDMTokenFollowsTheSet(t *testing.T) {
	s := startDDM(t)
	d := aliceDevice(t, s)
	d.drain(send{})
	tok0, _ := d.sync()

	var put map[string]string
	ddmJSON(t, adminDeclaration(t, s, d.id, "", secondTest), &put)
	assert.NotEqual(t, tok0, put["DeclarationsToken"])
	assert.NotEmpty(t, put["ServerToken"])
	assert.Equal(t, put["DeclarationsToken"], d.tokenOfCommand())
	tok1, decls := d.sync()
	assert.Equal(t, put["DeclarationsToken"], tok1)
	assert.Contains(t, standardConfigurations(decls[ddmActivationID]), "com.acme.ddm.second", "activated")
	assert.Contains(t, d.ddm("declaration/configuration/com.acme.ddm.second", nil).Body.String(), `"N":12345678901234567`, "integers stay exact")

	// The same declaration again changes nothing, and sends nothing.
	ddmJSON(t, adminDeclaration(t, s, d.id, "", secondTest), &put)
	assert.Equal(t, tok1, put["DeclarationsToken"])
	assertEmptyOK(t, d.connect("Idle", nil, send{}))

	// Two changes before the device connects: one command, the latest token.
	ddmJSON(t, adminDeclaration(t, s, d.id, "&activate=false",
		`{"Type":"com.apple.configuration.management.test","Identifier":"com.acme.ddm.idle","Payload":{"Echo":"idle"}}`), &put)
	require.Equal(t, http.StatusNoContent, adminRemove(t, s, d.id, "com.acme.ddm.second").Code)
	tok2, decls := d.sync()
	assert.Equal(t, tok2, d.tokenOfCommand())
	assert.NotEqual(t, tok1, tok2)
	assert.Contains(t, decls, "com.acme.ddm.idle")
	assert.NotContains(t, decls, "com.acme.ddm.second")
	assert.NotContains(t, standardConfigurations(decls[ddmActivationID]), "com.acme.ddm.idle", "activate=false")
	assert.NotContains(t, standardConfigurations(decls[ddmActivationID]), "com.acme.ddm.second", "removed from the activation")
	assertActivationsResolve(t, decls)
	assertRefused(t, d.ddm("declaration/configuration/com.acme.ddm.second", nil), http.StatusNotFound, "no configuration declaration")
	assertRefused(t, adminRemove(t, s, d.id, "com.acme.ddm.second"), http.StatusNotFound, "no such declaration")
}

// A change pushes, as a queued command does.
func TestDDMChangePushes(t *testing.T) {
	standIn, err := apns.Start("127.0.0.1:0", apns.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { standIn.Close() })
	clk := &testClock{now: fixedNow}
	s := startCfg(t, Config{Now: clk.Now, DDM: true, APNs: &APNs{URL: standIn.URL(), Roots: standIn.CertPool()}})
	testClocks.Store(s, clk)
	t.Cleanup(func() { testClocks.Delete(s) })
	d := newDevice(t, s, "iPhone17,3", KindBYOD, webToken(t, s, "alice@acme.test"))
	box := standIn.Subscribe([]byte("push-token-" + d.id))
	d.enroll()
	require.Len(t, box.Pushes(), 1, "the first commands")
	d.drain(send{})
	ddmJSON(t, adminDeclaration(t, s, d.id, "", secondTest), new(map[string]string))
	assert.Len(t, box.Pushes(), 2, "the change")
	d.tokenOfCommand()
}

// The admin API takes only what a conforming server may serve.
func TestDDMAdminRefuses(t *testing.T) {
	s := startDDM(t)
	alice := aliceDevice(t, s)
	carol := newDevice(t, s, "iPhone17,3", KindADDE, webToken(t, s, "carol@acme.test"))
	carol.enroll()
	su := `{"Type":"com.apple.configuration.softwareupdate.enforcement.specific","Identifier":"com.acme.su","Payload":{"TargetOSVersion":"26.1","TargetLocalDateTime":"2026-12-31T20:00:00"}}`
	assertRefused(t, adminDeclaration(t, s, alice.id, "", su), http.StatusBadRequest, "forbidden in user enrollment")
	ddmJSON(t, adminDeclaration(t, s, carol.id, "", su), new(map[string]string))
	for body, want := range map[string]string{
		`{"Type":"com.apple.activation.simple","Identifier":"a","Payload":{"StandardConfigurations":["com.acme.nope"]}}`: "no configuration of the set",
		`{"Type":"com.apple.activation.simple","Identifier":"a","Payload":{}}`:                                           "needs StandardConfigurations",
		`{"Type":"com.example.thing","Identifier":"x","Payload":{}}`:                                                     "is not com.apple.",
		`{"Type":"com.apple.configuration.management.test","Payload":{"Echo":"x"}}`:                                      "needs an Identifier",
		`{"Type":"com.apple.configuration.management.test","Identifier":"x"}`:                                            "needs a Payload",
		`{"Type":"com.apple.asset.data","Identifier":"` + ddmTestID + `","Payload":{}}`:                                  "is a configuration declaration",
		`not json`: "no declaration",
	} {
		assertRefused(t, adminDeclaration(t, s, alice.id, "", body), http.StatusBadRequest, want)
	}
	assertRefused(t, adminDeclaration(t, s, "nobody", "", secondTest), http.StatusNotFound, "no such enrollment")
	decls, status := s.DDMAdminURLs()
	assertRefused(t, serve(t, s, http.MethodGet, strings.ReplaceAll(status, "{id}", alice.id)), http.StatusNotFound, "no status report")
	assertRefused(t, serve(t, s, http.MethodGet, strings.ReplaceAll(decls, "{id}", "nobody")), http.StatusNotFound, "no enrollment")
	var list struct {
		Declarations      []Declaration
		DeclarationsToken string
	}
	ddmJSON(t, serve(t, s, http.MethodGet, strings.ReplaceAll(decls, "{id}", alice.id)), &list)
	assert.Len(t, list.Declarations, 3)
	assert.NotEmpty(t, list.DeclarationsToken)
}

// The DeclarativeManagement check-in refuses what it cannot read, after
// the same admission as every check-in.
func TestDDMCheckinRefuses(t *testing.T) {
	s := startDDM(t)
	d := aliceDevice(t, s)
	msg := d.message("DeclarativeManagement", false, nil)
	assertRefused(t, d.checkin(msg, send{}), http.StatusBadRequest, "needs Endpoint")
	assertRefused(t, d.ddm("manifest", nil), http.StatusBadRequest, `unknown Endpoint "manifest"`)
	assertRefused(t, d.ddm("declaration/profile/x", nil), http.StatusBadRequest, "declaration/<kind>/<identifier>")
	assertRefused(t, d.ddm("declaration/configuration/", nil), http.StatusBadRequest, "declaration/<kind>/<identifier>")
	assertRefused(t, d.ddm("declaration/activation/"+ddmTestID, nil), http.StatusNotFound, "no activation declaration")
	assertRefused(t, d.ddm("status", nil), http.StatusBadRequest, "needs Data")
	assertRefused(t, d.ddm("status", []byte("[1]")), http.StatusBadRequest, "not a JSON object")
	tokens := d.message("DeclarativeManagement", false, map[string]any{"Endpoint": "tokens"})
	assertChallenge(t, d.checkin(tokens, send{noToken: true}), webChallenge)
	stranger := newDevice(t, s, "iPhone17,3", KindBYOD, d.token)
	assertUnrecognized(t, stranger.ddm("tokens", nil))
}

// judyDevice is judy's iPhone on osVersion, enrolled through Enrollment
// SSO, checked in.
func judyDevice(t *testing.T, s *Server, osVersion string) *mdmDevice {
	t.Helper()
	d := newDevice(t, s, "iPhone17,3", KindBYOD, webToken(t, s, "judy@acme.test"))
	msg := d.authenticateMsg()
	msg["OSVersion"] = osVersion
	assertOK(t, d.checkin(msg, send{}))
	assertOK(t, d.checkin(d.tokenUpdateMsg(false), send{}))
	return d
}

// An Enrollment SSO enrollment on a device that reads the document's
// declarations gets declarative management with them pre-staged, the
// same ServerTokens as the document's, even with Config.DDM off; one on
// an older OS, and other accounts, get none.
func TestESSODeclarationsArePrestaged(t *testing.T) {
	s := start(t)
	d := judyDevice(t, s, "26.1")
	types, _ := d.drain(send{})
	assert.Equal(t, append(slices.Clone(wantCommands), "DeclarativeManagement"), types)
	_, decls := d.sync()
	for _, want := range essoDeclarationSet(false) {
		got, ok := decls[want.Identifier]
		if assert.True(t, ok, "%s pre-staged", want.Identifier) {
			assert.Equal(t, want.ServerToken, got.ServerToken, "the document's token: no fetch needed")
		}
	}
	assert.Contains(t, decls, ddmActivationID, "the default set too")
	var doc struct{ Declarations []string }
	require.NoError(t, json.Unmarshal(serve(t, s, http.MethodGet, essoDocumentURL).Body.Bytes(), &doc))
	require.Len(t, doc.Declarations, 3)

	old := judyDevice(t, s, "18.2")
	types, _ = old.drain(send{})
	assert.Equal(t, wantCommands, types, "18.2 does not read Declarations")
	alice := aliceDevice(t, s)
	types, _ = alice.drain(send{})
	assert.Equal(t, wantCommands, types)
}

// Without Config.DDM nothing changes: the first five commands, and
// DeclarativeManagement is a MessageType the server does not know.
func TestDDMOffByDefault(t *testing.T) {
	s := start(t)
	d := aliceDevice(t, s)
	types, _ := d.drain(send{})
	assert.Equal(t, wantCommands, types)
	assertRefused(t, d.ddm("tokens", nil), http.StatusBadRequest, "has no declarative management")
	assertRefused(t, adminDeclaration(t, s, d.id, "", secondTest), http.StatusNotFound, "declarative management is off")
	_, _, ok := s.Declarations(d.id)
	assert.False(t, ok)
}

// ddmFaultEffects show each DDM fault on a server running only it (which
// turns DDM on): what the device's sync meets.
var ddmFaultEffects = map[string]func(t *testing.T, s *Server){
	FaultDDMContentType: func(t *testing.T, s *Server) {
		d := aliceDevice(t, s)
		for _, ep := range []string{"tokens", "declaration-items", "declaration/configuration/" + ddmTestID} {
			rec := d.ddm(ep, nil)
			assert.Equal(t, http.StatusOK, rec.Code)
			assert.Equal(t, "text/plain; charset=utf-8", rec.Header().Get("Content-Type"), ep)
			assert.True(t, json.Valid(rec.Body.Bytes()), "the JSON is right: %s", ep)
		}
		assertEmptyOK(t, d.ddm("status", statusReport("iPhone")))
	},
	FaultDDMTokenNeverChanges: func(t *testing.T, s *Server) {
		d := aliceDevice(t, s)
		d.drain(send{})
		tok0, _ := d.sync()
		ddmJSON(t, adminDeclaration(t, s, d.id, "", secondTest), new(map[string]string))
		assert.Equal(t, tok0, d.tokenOfCommand(), "the command comes, with the old token")
		var items itemsBody
		ddmJSON(t, d.ddm("declaration-items", nil), &items)
		assert.Equal(t, tok0, items.DeclarationsToken)
		assert.Len(t, items.Declarations["Configurations"], 3, "the set did change")
	},
	FaultDDMItemNotFetchable: func(t *testing.T, s *Server) {
		d := aliceDevice(t, s)
		var items itemsBody
		ddmJSON(t, d.ddm("declaration-items", nil), &items)
		var ids []string
		for _, it := range items.Declarations["Configurations"] {
			ids = append(ids, it.Identifier)
		}
		assert.Contains(t, ids, ddmUnfetchableID)
		assertRefused(t, d.ddm("declaration/configuration/"+ddmUnfetchableID, nil), http.StatusNotFound, "no configuration declaration")
		ddmJSON(t, d.ddm("declaration/configuration/"+ddmTestID, nil), new(Declaration))
	},
	FaultDDMUnknown500: func(t *testing.T, s *Server) {
		d := aliceDevice(t, s)
		rec := d.ddm("declaration/configuration/com.acme.never-listed", nil)
		assert.Equal(t, http.StatusInternalServerError, rec.Code)
		_, decls := d.sync()
		assert.Len(t, decls, 3, "listed ones are served")
	},
	FaultDDMStatusBody: func(t *testing.T, s *Server) {
		d := aliceDevice(t, s)
		rec := d.ddm("status", statusReport("iPhone"))
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.NotEmpty(t, rec.Body.String())
		_, ok := s.DDMStatus(d.id)
		assert.True(t, ok, "the report is kept all the same")
	},
	FaultDDMSoftwareUpdateBYOD: func(t *testing.T, s *Server) {
		_, decls := aliceDevice(t, s).sync()
		assert.Equal(t, "com.apple.configuration.softwareupdate.enforcement.specific", decls[ddmSoftwareUpdateID].Type)
		assert.Contains(t, standardConfigurations(decls[ddmActivationID]), ddmSoftwareUpdateID, "activated")
		carol := newDevice(t, s, "iPhone17,3", KindADDE, webToken(t, s, "carol@acme.test"))
		carol.enroll()
		_, decls = carol.sync()
		assert.NotContains(t, decls, ddmSoftwareUpdateID, "a device enrollment is not the fault's business")
	},
	FaultDDMESSONotPrestaged: func(t *testing.T, s *Server) {
		_, decls := judyDevice(t, s, "26.1").sync()
		assert.Contains(t, decls, ddmActivationID)
		for _, d := range essoDeclarationSet(false) {
			assert.NotContains(t, decls, d.Identifier)
		}
	},
	FaultDDMNoResyncCommand: func(t *testing.T, s *Server) {
		d := aliceDevice(t, s)
		d.drain(send{})
		tok0, _ := d.sync()
		ddmJSON(t, adminDeclaration(t, s, d.id, "", secondTest), new(map[string]string))
		types, _ := d.drain(send{})
		assert.Empty(t, types, "no command after the change")
		tok1, _ := d.sync()
		assert.NotEqual(t, tok0, tok1, "the set and its token did change")
	},
	FaultDDMActivationMissingConfig: func(t *testing.T, s *Server) {
		d := aliceDevice(t, s)
		_, decls := d.sync()
		assert.Contains(t, standardConfigurations(decls[ddmActivationID]), ddmMissingID)
		assert.NotContains(t, decls, ddmMissingID)
		assertRefused(t, d.ddm("declaration/configuration/"+ddmMissingID, nil), http.StatusNotFound, "no configuration declaration")
	},
}

func TestDDMFaultEffects(t *testing.T) {
	for name, effect := range ddmFaultEffects {
		t.Run(name, func(t *testing.T) {
			require.True(t, faultIndex[name], "%s is in the fault table", name)
			effect(t, start(t, name))
		})
	}
	for _, f := range Faults() {
		if slices.ContainsFunc(f.Trips, func(id string) bool { return strings.HasPrefix(id, "DDM-") }) {
			assert.Contains(t, ddmFaultEffects, f.Name, "every DDM fault has a row")
		}
	}
}
