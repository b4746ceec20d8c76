package sim

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/ddm"
	"github.com/enrollsim/enrollsim/sim/event"
)

// The declarative-management sync (issue 26): after acknowledging the
// DeclarativeManagement command, the device PUTs DeclarativeManagement
// check-ins to the CheckInURL: tokens, declaration-items, each new or
// changed declaration, then its status report. package sim/ddm knows the
// shapes; this step talks to the server and judges DDM-001..007.

// ddmProbeIdentifier names a declaration no server lists (DDM-004).
const ddmProbeIdentifier = "enrollsim-probe-no-such-declaration"

// ddmChangeIdentifier names the declaration the DDM-002 probe adds through
// the target's declarations hook, and removes again.
const ddmChangeIdentifier = "enrollsim-probe-token-change"

// ddmLimit caps a DeclarativeManagement answer (sim/ddm's own limit).
const ddmLimit = 1 << 20

func (r *runner) ddmStep() (*stop, event.StepStatus, string) {
	m := r.mdm
	o := &check.DDM{UserEnrollment: m.userEnrollment}
	r.obs.DDM = o
	defer func() { r.judged(check.JudgeDDM(*o)) }()
	dev := r.ddmDevice()
	st := &ddm.State{}
	tokens, ok := r.ddmTokens(o, "tokens")
	if !ok {
		return nil, event.StepFailed, "the tokens endpoint gave no DeclarationsToken"
	}
	o.Token = tokens.DeclarationsToken
	items, ok := r.ddmItems(o)
	if !ok {
		return nil, event.StepFailed, "declaration-items: " + o.ItemsBad
	}
	fetch, _ := st.Plan(items)
	applied := 0
	for _, it := range fetch {
		if d, ok := r.ddmDeclaration(o, it); ok {
			st.Apply(d, dev)
			applied++
			if m.userEnrollment && ddm.ForbiddenInUserEnrollment(d.Type, dev) {
				o.ForbiddenInUE = append(o.ForbiddenInUE, d.Type+" ("+d.Identifier+")")
			}
			o.MissingConfigs = append(o.MissingConfigs, missingConfigs(d, items)...)
		}
	}
	st.Synced(items)
	if !r.c.NoProbes {
		r.ddmProbes(o)
	}
	report, err := st.StatusReport(dev, true)
	if err != nil {
		return nil, event.StepError, "the simulator could not write its status report: " + err.Error()
	}
	r.ddmSend(o, ddm.EndpointStatus, report, false)
	return nil, event.StepOK, fmt.Sprintf("synced %d declarations (%d listed), status report sent", applied, len(items.All()))
}

// ddmDevice is the simulated device as sim/ddm sees it.
func (r *runner) ddmDevice() ddm.Device {
	d, m := r.c.Device, r.mdm
	dev := ddm.Device{Family: string(d.Family), OSVersion: d.OS.String(), BuildVersion: d.Build, Product: d.Product,
		MarketingName: d.Name, UserEnrollment: m.userEnrollment}
	if !m.userEnrollment {
		dev.UDID, dev.SerialNumber = m.ids.udid, m.ids.serial
	}
	return dev
}

// ddmSend PUTs one DeclarativeManagement check-in and records it.
func (r *runner) ddmSend(o *check.DDM, endpoint string, data []byte, probe bool) (*response, *check.DDMExchange) {
	m := r.mdm
	msg := ddm.CheckIn(endpoint, data)
	for k, v := range m.idKeys(m.ids, false) {
		msg[k] = v
	}
	what := "ddm: " + endpoint
	if probe {
		what = "probe DDM-004: " + endpoint
	}
	resp := r.checkIn(msg, mdmOpts{purpose: what, probe: probe})
	x := check.DDMExchange{Endpoint: endpoint, Probe: probe}
	switch {
	case resp.timeout || resp.tooLarge || resp.overLimit != "":
		x.Why = firstNonEmpty(resp.overLimit, "the tester's timeout or size limit")
	case resp.err != nil:
		x.Bad = "no answer: " + resp.err.Error()
	default:
		x.Status, x.ContentType, x.BodyLen = resp.status, resp.header.Get("Content-Type"), len(bytes.TrimSpace(resp.body))
	}
	o.Exchanges = append(o.Exchanges, x)
	return resp, &o.Exchanges[len(o.Exchanges)-1]
}

func (r *runner) ddmTokens(o *check.DDM, endpoint string) (ddm.Tokens, bool) {
	resp, x := r.ddmSend(o, endpoint, nil, false)
	if x.Status != http.StatusOK {
		return ddm.Tokens{}, false
	}
	t, err := ddm.ParseTokens(resp.body)
	if err != nil {
		x.Bad = truncate(err.Error(), 300)
		return ddm.Tokens{}, false
	}
	return t, t.DeclarationsToken != ""
}

func (r *runner) ddmItems(o *check.DDM) (ddm.Items, bool) {
	resp, x := r.ddmSend(o, ddm.EndpointDeclarationItems, nil, false)
	if x.Status != http.StatusOK {
		o.ItemsBad = fmt.Sprintf("answered %d", x.Status)
		return ddm.Items{}, false
	}
	items, err := ddm.ParseItems(resp.body)
	if err != nil {
		x.Bad = truncate(err.Error(), 300)
		o.ItemsBad = x.Bad
		return ddm.Items{}, false
	}
	return items, true
}

func (r *runner) ddmDeclaration(o *check.DDM, it ddm.Item) (ddm.Declaration, bool) {
	resp, x := r.ddmSend(o, ddm.DeclarationPath(it.Kind, it.Identifier), nil, false)
	if x.Status != http.StatusOK {
		o.Unfetchable = append(o.Unfetchable, fmt.Sprintf("%s %s answered %d", it.Kind, it.Identifier, x.Status))
		return ddm.Declaration{}, false
	}
	d, err := ddm.ParseDeclaration(resp.body)
	if err != nil {
		x.Bad = truncate(err.Error(), 300)
		o.Unfetchable = append(o.Unfetchable, fmt.Sprintf("%s %s: %s", it.Kind, it.Identifier, x.Bad))
		return ddm.Declaration{}, false
	}
	return d, true
}

// missingConfigs are the configurations an activation names that the
// items do not list (DDM-007).
func missingConfigs(d ddm.Declaration, items ddm.Items) []string {
	if d.Type != "com.apple.activation.simple" {
		return nil
	}
	listed := map[string]bool{}
	for _, c := range items.Configurations {
		listed[c.Identifier] = true
	}
	var out []string
	refs, _ := d.Payload["StandardConfigurations"].([]any)
	for _, ref := range refs {
		if id, ok := ref.(string); ok && !listed[id] {
			out = append(out, fmt.Sprintf("%s (in %s)", id, d.Identifier))
		}
	}
	return out
}

// ddmProbes are DDM-004's unknown declaration and DDM-002's token reads:
// again with nothing changed, and after the target's declarations hook
// added one (removed again right after, so the server is left as found).
func (r *runner) ddmProbes(o *check.DDM) {
	_, x := r.ddmSend(o, ddm.DeclarationPath(ddm.KindConfiguration, ddmProbeIdentifier), nil, true)
	o.UnknownStatus = x.Status
	if t, ok := r.ddmTokens(o, ddm.EndpointTokens); ok {
		o.Again = t.DeclarationsToken
	}
	hook := r.c.Target.Admin.Declarations
	if hook == "" {
		o.ChangeSkipped = "the target has no declarations hook"
		return
	}
	body := fmt.Sprintf(`{"Type":"com.apple.configuration.management.test","Identifier":%q,"ServerToken":"1","Payload":{"Echo":"enrollsim"}}`, ddmChangeIdentifier)
	if why := r.ddmHook(http.MethodPost, hook, []byte(body), "add a declaration"); why != "" {
		o.ChangeSkipped = why
		return
	}
	if t, ok := r.ddmTokens(o, ddm.EndpointTokens); ok {
		o.AfterChange = t.DeclarationsToken
	}
	r.ddmHook(http.MethodDelete, hook+"&identifier="+url.QueryEscape(ddmChangeIdentifier), nil, "remove the declaration it added")
}

// ddmHook calls the target's declarations hook for this enrollment.
func (r *runner) ddmHook(method, tmpl string, body []byte, what string) string {
	target := strings.ReplaceAll(tmpl, "{id}", url.QueryEscape(r.mdm.enrollmentKey()))
	h := http.Header{}
	if body != nil {
		h.Set("Content-Type", "application/json")
	}
	resp := r.do(request{method: method, url: target, header: h, body: body, purpose: "admin: " + what + " (the target's hook, DDM-002)",
		probe: true, limit: 64 << 10, classicTLS: true})
	switch {
	case resp.err != nil:
		return fmt.Sprintf("the declarations hook %s: %v", target, resp.err)
	case resp.status < 200 || resp.status > 299:
		return fmt.Sprintf("the declarations hook %s answered %d %s", target, resp.status, excerpt(resp.body, 200))
	}
	return ""
}
