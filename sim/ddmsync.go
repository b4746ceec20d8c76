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
	if !m.ddmRequested {
		// Only a case that goes until ddm comes here without the command.
		msg := fmt.Sprintf("the server sent no DeclarativeManagement command in the first commands (%d answered): a device syncs only after it, so nothing could be synced; "+
			"turn declarative management on for this enrollment (the embedded server: --ddm), or go --until commands", len(m.commands))
		return &stop{event.OutcomeError, msg}, event.StepError, msg
	}
	o := &check.DDM{UserEnrollment: m.userEnrollment}
	r.obs.DDM = o
	defer func() {
		r.judged(check.JudgeDDM(*o))
		r.judged(check.JudgeStaged(&r.obs))
	}()
	dev := r.ddmDevice()
	st := &ddm.State{}
	if r.esso != nil {
		// What Enrollment SSO installed is the device's until a sync
		// says otherwise.
		o.Staged = r.esso.declarations
		for _, d := range r.esso.staged {
			st.Apply(d, dev)
		}
	}
	tokens, ok := r.ddmFirstTokens(o)
	if !ok {
		return nil, event.StepFailed, "the tokens endpoint gave no DeclarationsToken"
	}
	o.Token = tokens.DeclarationsToken
	items, applied, ok := r.ddmSync(o, st, dev)
	if !ok {
		return nil, event.StepFailed, "declaration-items: " + o.ItemsBad
	}
	o.StagedMissing = notListed(o.Staged, items)
	if err := r.ddmReport(o, st, dev, true); err != nil {
		return nil, event.StepError, "the simulator could not write its status report: " + err.Error()
	}
	msg := fmt.Sprintf("synced %d declarations (%d listed), status report sent", applied, len(items.All()))
	if o.FromCommand {
		msg += "; tokens from the command's Data"
	}
	if !r.c.NoProbes {
		msg += r.ddmProbes(o, st, dev)
	}
	return nil, event.StepOK, msg
}

// ddmFirstTokens are the tokens the first sync starts from: the
// DeclarativeManagement command's Data when it carries a TokensResponse
// (the device then skips the tokens endpoint, as Apple describes), else
// the tokens endpoint's answer.
func (r *runner) ddmFirstTokens(o *check.DDM) (ddm.Tokens, bool) {
	if data := r.mdm.ddmData; data != nil {
		t, err := ddm.ParseTokens(data)
		if err == nil && t.DeclarationsToken != "" {
			o.FromCommand = true
			return t, true
		}
		o.DataBad = "the DeclarativeManagement command's Data is no TokensResponse: " + truncate(firstNonEmpty(errText(err), "no DeclarationsToken"), 200)
	}
	return r.ddmTokens(o, ddm.EndpointTokens)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// ddmSync is one sync after the tokens: declaration-items, a fetch of each
// new or changed declaration, the removal of those no longer listed (or
// answered 404); applied counts the declarations fetched and stored.
func (r *runner) ddmSync(o *check.DDM, st *ddm.State, dev ddm.Device) (items ddm.Items, applied int, ok bool) {
	items, ok = r.ddmItems(o)
	if !ok {
		return items, 0, false
	}
	fetch, remove := st.Plan(items)
	for _, it := range fetch {
		d, status, ok := r.ddmDeclaration(o, it)
		switch {
		case ok:
			st.Apply(d, dev)
			applied++
			if r.mdm.userEnrollment && ddm.ForbiddenInUserEnrollment(d.Type, dev) {
				o.ForbiddenInUE = append(o.ForbiddenInUE, d.Type+" ("+d.Identifier+")")
			}
			o.MissingConfigs = append(o.MissingConfigs, missingConfigs(d, items)...)
		case status == http.StatusNotFound:
			remove = append(remove, it.Identifier) // Apple: the device removes its copy
		}
	}
	st.Remove(remove...)
	st.Synced(items)
	return items, applied, true
}

// ddmReport sends the status report: every subscribed item when full,
// else what changed since the last one.
func (r *runner) ddmReport(o *check.DDM, st *ddm.State, dev ddm.Device, full bool) error {
	report, err := st.StatusReport(dev, full)
	if err != nil {
		return err
	}
	r.ddmSend(o, ddm.EndpointStatus, report, false)
	return nil
}

// notListed are the identifiers among ids that items does not list.
func notListed(ids []string, items ddm.Items) []string {
	listed := map[string]bool{}
	for _, it := range items.All() {
		listed[it.Identifier] = true
	}
	var out []string
	for _, id := range ids {
		if !listed[id] {
			out = append(out, id)
		}
	}
	return out
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

func (r *runner) ddmDeclaration(o *check.DDM, it ddm.Item) (ddm.Declaration, int, bool) {
	resp, x := r.ddmSend(o, ddm.DeclarationPath(it.Kind, it.Identifier), nil, false)
	if x.Status != http.StatusOK {
		o.Unfetchable = append(o.Unfetchable, fmt.Sprintf("%s %s answered %d", it.Kind, it.Identifier, x.Status))
		return ddm.Declaration{}, x.Status, false
	}
	d, err := ddm.ParseDeclaration(resp.body)
	if err != nil {
		x.Bad = truncate(err.Error(), 300)
		o.Unfetchable = append(o.Unfetchable, fmt.Sprintf("%s %s: %s", it.Kind, it.Identifier, x.Bad))
		return ddm.Declaration{}, x.Status, false
	}
	return d, x.Status, true
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

// ddmProbes are DDM-004's unknown declaration, DDM-002's token reads
// (again with nothing changed, and after the target's declarations hook
// added one) and DDM-009's connects after each change: the device follows
// the server's DeclarativeManagement command and syncs again. The
// declaration added is removed again, so the server is left as found;
// the summary says so, or says what could not be undone.
func (r *runner) ddmProbes(o *check.DDM, st *ddm.State, dev ddm.Device) string {
	_, x := r.ddmSend(o, ddm.DeclarationPath(ddm.KindConfiguration, ddmProbeIdentifier), nil, true)
	o.UnknownStatus = x.Status
	if o.FromCommand {
		// DDM-002 compares the tokens endpoint with itself.
		if t, ok := r.ddmTokens(o, ddm.EndpointTokens); ok {
			o.Token = t.DeclarationsToken
		}
	}
	if t, ok := r.ddmTokens(o, ddm.EndpointTokens); ok {
		o.Again = t.DeclarationsToken
	}
	hook := r.c.Target.Admin.Declarations
	if hook == "" {
		o.ChangeSkipped = "the target has no declarations hook"
		return ""
	}
	body := fmt.Sprintf(`{"Type":"com.apple.configuration.management.test","Identifier":%q,"ServerToken":"1","Payload":{"Echo":"enrollsim"}}`, ddmChangeIdentifier)
	if why := r.ddmHook(http.MethodPost, hook, []byte(body), "add a declaration"); why != "" {
		o.ChangeSkipped = why
		return ""
	}
	var after string
	if t, ok := r.ddmTokens(o, ddm.EndpointTokens); ok {
		o.AfterChange, after = t.DeclarationsToken, t.DeclarationsToken
	}
	o.Changes = append(o.Changes, r.ddmFollow(o, st, dev, "added "+ddmChangeIdentifier, after))
	if why := r.ddmHook(http.MethodDelete, withQuery(hook, "identifier", ddmChangeIdentifier), nil, "remove the declaration it added"); why != "" {
		return "; could not remove the declaration the tester added (" + why + "): remove " + ddmChangeIdentifier + " by hand"
	}
	if t, ok := r.ddmTokens(o, ddm.EndpointTokens); ok {
		after = t.DeclarationsToken
	}
	o.Changes = append(o.Changes, r.ddmFollow(o, st, dev, "removed "+ddmChangeIdentifier, after))
	resynced := 0
	for _, c := range o.Changes {
		if c.Resynced {
			resynced++
		}
	}
	return fmt.Sprintf("; synced again after %d of the tester's 2 changes", resynced)
}

// ddmFollowCommands bounds the commands one connect after a change
// answers.
const ddmFollowCommands = 5

// ddmFollow is the device's connect right after the tester changed the
// set: it answers what the server queued and, when a DeclarativeManagement
// command came whose tokens differ from the ones it synced, syncs again
// and reports what changed.
func (r *runner) ddmFollow(o *check.DDM, st *ddm.State, dev ddm.Device, what, token string) check.DDMChange {
	m := r.mdm
	c := check.DDMChange{What: what, Token: token}
	before := m.ddmCommands
	body := m.connectMessage(m.ids, false, "Idle")
	cdev := r.commandDevice()
	for i := 0; i < ddmFollowCommands; i++ {
		x, resp := r.exchangeMDM(m.cfg.serverURL, ctConnect, "connect (after the tester "+what+")", body, mdmOpts{purpose: "connect: after a DDM change (probe DDM-009)"})
		cmd, done, bad := readCommand(x, resp)
		if c.Why = firstNonEmpty(x.Why, bad); c.Why == "" && (!x.OK || x.Unenroll) {
			c.Why = x.Refusal().Actual
		}
		if c.Why != "" || done {
			break
		}
		body = m.answerMessage(cmd, cdev)
	}
	c.Commands = m.ddmCommands - before
	if c.Why != "" || c.Commands == 0 {
		return c
	}
	t := ddm.Tokens{DeclarationsToken: token}
	if data := m.ddmData; data != nil {
		if dt, err := ddm.ParseTokens(data); err == nil {
			c.DataToken, t = dt.DeclarationsToken, dt
		}
	}
	if !st.NeedsSync(t) {
		return c
	}
	if _, _, ok := r.ddmSync(o, st, dev); ok {
		c.Resynced = true
		if err := r.ddmReport(o, st, dev, false); err != nil {
			c.Why = "the simulator could not write its status report: " + err.Error()
		}
	}
	return c
}

// withQuery adds key=value to a hook URL template's query.
func withQuery(tmpl, key, value string) string {
	sep := "?"
	if strings.Contains(tmpl, "?") {
		sep = "&"
	}
	return tmpl + sep + key + "=" + url.QueryEscape(value)
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
