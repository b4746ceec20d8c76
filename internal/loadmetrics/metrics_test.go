package loadmetrics_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/internal/loadmetrics"
	"github.com/enrollsim/enrollsim/internal/refserver"
	"github.com/enrollsim/enrollsim/internal/transport"
	"github.com/enrollsim/enrollsim/load"
	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
	"github.com/enrollsim/enrollsim/sim/keys"
	"github.com/enrollsim/enrollsim/sim/secret"
)

const master = "metrics-test-master"

func target(t *testing.T, n int, faults ...string) sim.Target {
	t.Helper()
	srv, err := refserver.Start(refserver.Config{Faults: faults, Accounts: refserver.PatternAccounts{Count: n, Master: master}})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	client, err := transport.New(transport.Options{Timeout: 10 * time.Second, RootCAs: srv.CertPool(), ConnectTo: []string{"::" + srv.Addr()}})
	require.NoError(t, err)
	return sim.Target{Name: "embedded", AxMURL: srv.AxMURL(), AxMDeclared: true, Doer: client, StockRoots: srv.StockPool(), Keys: keys.Reused}
}

// scrape reads /metrics the way Prometheus does and parses it.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	require.NoError(t, err, "the exposition does not parse")
	return fams
}

func find(fam *dto.MetricFamily, labels map[string]string) *dto.Metric {
	if fam == nil {
		return nil
	}
next:
	for _, m := range fam.Metric {
		got := map[string]string{}
		for _, l := range m.Label {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range labels {
			if got[k] != v {
				continue next
			}
		}
		return m
	}
	return nil
}

// A load's counts, step histograms and tripped checks reach a scrape, with
// the shard label on every series; the scrape is made over loopback HTTP.
func TestLoadIsScrapedAsPrometheusMetrics(t *testing.T) {
	for _, tc := range []struct {
		name     string
		device   string
		faults   []string
		outcome  string
		check    string
		webLogin bool
	}{
		{name: "conforming", device: "iphone@18.2", outcome: event.OutcomeEnrolled, webLogin: true},
		// 18.1 has no fallback to the AxM-registered URL: discovery fails.
		{name: "well-known 404", device: "iphone@18.1", faults: []string{refserver.FaultWellKnown404}, outcome: event.OutcomeDiscoveryFailed, check: "WK-001"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 6
			m := loadmetrics.New(map[string]string{"shard": "1/1"})
			srv, err := loadmetrics.Serve("127.0.0.1:0", m)
			require.NoError(t, err)
			defer srv.Close()
			before := scrape(t, srv.URL())
			assert.Equal(t, 0.0, find(before["enrollsim_load_cases_total"], map[string]string{"outcome": event.OutcomeEnrolled}).GetCounter().GetValue(),
				"the enrolled series exists at 0 before the first case")

			mix, err := load.ParseMix(tc.device + ":1")
			require.NoError(t, err)
			res, err := load.Run(context.Background(), &sim.Engine{}, load.Config{Devices: n, Concurrency: 3, Mix: mix,
				Accounts: load.Accounts{Pattern: load.DefaultPattern, Count: n, Master: secret.New(master)},
				Target:   target(t, n, tc.faults...), Until: event.UntilProfile, Observer: m}, nil)
			require.NoError(t, err)
			fams := scrape(t, srv.URL())

			assert.Equal(t, float64(n), fams["enrollsim_load_cases_started_total"].Metric[0].GetCounter().GetValue())
			assert.Equal(t, 0.0, fams["enrollsim_load_cases_in_flight"].Metric[0].GetGauge().GetValue())
			assert.Equal(t, float64(res.Outcomes[tc.outcome]), find(fams["enrollsim_load_cases_total"], map[string]string{"outcome": tc.outcome}).GetCounter().GetValue())
			assert.Equal(t, float64(n), find(fams["enrollsim_load_cases_total"], map[string]string{"outcome": tc.outcome}).GetCounter().GetValue())
			assert.Equal(t, uint64(n), fams["enrollsim_load_case_duration_seconds"].Metric[0].GetHistogram().GetSampleCount())
			wl := find(fams["enrollsim_load_step_duration_seconds"], map[string]string{"step": string(event.StepWebLogin), "status": string(event.StepOK)})
			if tc.webLogin {
				require.NotNil(t, wl, "no web-login histogram")
				assert.Equal(t, uint64(res.Steps[event.StepWebLogin].Count()), wl.GetHistogram().GetSampleCount())
			} else {
				assert.Nil(t, wl, "no case got to the web login")
			}
			for name, fam := range fams {
				if strings.HasPrefix(name, "enrollsim_load_") {
					for _, s := range fam.Metric {
						assert.NotNil(t, find(&dto.MetricFamily{Metric: []*dto.Metric{s}}, map[string]string{"shard": "1/1"}), "%s without the shard label", name)
					}
				}
			}
			checks := fams["enrollsim_load_checks_total"]
			if tc.check == "" {
				for _, c := range checks.GetMetric() {
					assert.Fail(t, "a check tripped on a conforming server", "%v", c.Label)
				}
				return
			}
			got := find(checks, map[string]string{"check": tc.check, "status": string(check.Fail)})
			require.NotNil(t, got, "%s not counted", tc.check)
			assert.Equal(t, float64(res.Checks[tc.check].Fail), got.GetCounter().GetValue())
			assert.Equal(t, float64(n), got.GetCounter().GetValue())
		})
	}
}

func TestServeNamesATakenAddress(t *testing.T) {
	a, err := loadmetrics.Serve("127.0.0.1:0", loadmetrics.New(nil))
	require.NoError(t, err)
	defer a.Close()
	addr := strings.TrimSuffix(strings.TrimPrefix(a.URL(), "http://"), "/metrics")
	_, err = loadmetrics.Serve(addr, loadmetrics.New(nil))
	require.Error(t, err)
	assert.Contains(t, err.Error(), addr)
	assert.Contains(t, err.Error(), "--metrics-addr")
}
