// Package loadmetrics exports a running load as Prometheus metrics, for
// Grafana users who watch a load next to their server's own dashboards
// (enrollsim load --metrics-addr).
package loadmetrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/enrollsim/enrollsim/load"
	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
)

// Buckets of the latency histograms, in seconds: 1 ms to about 65 s,
// doubling, which covers a loopback server and a slow identity provider.
var buckets = prometheus.ExponentialBuckets(0.001, 2, 17)

// Metrics is a load.Observer that keeps Prometheus metrics in a registry of
// its own (not the process-wide default, so two loads in one process, or a
// test, never share counters).
type Metrics struct {
	Registry *prometheus.Registry

	started  prometheus.Counter
	inFlight prometheus.Gauge
	dropped  prometheus.Counter
	cases    *prometheus.CounterVec
	caseDur  prometheus.Histogram
	steps    *prometheus.HistogramVec
	checks   *prometheus.CounterVec
}

var _ load.Observer = (*Metrics)(nil)

// New makes the metrics; labels (such as shard="2/3") are added to every
// series, so shards scraped side by side stay apart.
func New(labels prometheus.Labels) *Metrics {
	reg := prometheus.NewRegistry()
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	m := &Metrics{Registry: reg}
	m.started = prometheus.NewCounter(prometheus.CounterOpts{Name: "enrollsim_load_cases_started_total",
		Help: "Enrollments started.", ConstLabels: labels})
	m.inFlight = prometheus.NewGauge(prometheus.GaugeOpts{Name: "enrollsim_load_cases_in_flight",
		Help: "Enrollments running now.", ConstLabels: labels})
	m.dropped = prometheus.NewCounter(prometheus.CounterOpts{Name: "enrollsim_load_arrivals_dropped_total",
		Help: "Open-model arrivals not started because --max-in-flight cases were running.", ConstLabels: labels})
	m.cases = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "enrollsim_load_cases_total",
		Help: "Enrollments ended, by outcome (enrolled is success).", ConstLabels: labels}, []string{"outcome"})
	m.caseDur = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "enrollsim_load_case_duration_seconds",
		Help: "Whole enrollments, first request to last.", ConstLabels: labels, Buckets: buckets})
	m.steps = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "enrollsim_load_step_duration_seconds",
		Help: "Enrollment steps (discovery, web-login, profile...), by how they ended.", ConstLabels: labels, Buckets: buckets},
		[]string{"step", "status"})
	m.checks = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "enrollsim_load_checks_total",
		Help: "Conformance checks that failed, warned or could not be judged, by check ID.", ConstLabels: labels},
		[]string{"check", "status"})
	f(m.started)
	f(m.inFlight)
	f(m.dropped)
	f(m.cases)
	f(m.caseDur)
	f(m.steps)
	f(m.checks)
	f(collectors.NewGoCollector())
	f(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Outcomes that matter on a dashboard exist from the first scrape, at
	// 0, so a rate() over them is defined before the first failure.
	for _, o := range []string{event.OutcomeEnrolled, event.OutcomeError} {
		m.cases.WithLabelValues(o)
	}
	return m
}

func (m *Metrics) CaseStarted() { m.started.Inc(); m.inFlight.Inc() }

func (m *Metrics) StepDone(step event.Step, status event.StepStatus, d time.Duration) {
	m.steps.WithLabelValues(string(step), string(status)).Observe(d.Seconds())
}

func (m *Metrics) CheckTripped(id string, status check.Status) {
	m.checks.WithLabelValues(id, string(status)).Inc()
}

func (m *Metrics) CaseDone(outcome string, d time.Duration) {
	m.inFlight.Dec()
	m.cases.WithLabelValues(outcome).Inc()
	m.caseDur.Observe(d.Seconds())
}

func (m *Metrics) Dropped() { m.dropped.Inc() }

// Handler serves the registry in Prometheus's text (or OpenMetrics) format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Timeout: 10 * time.Second, MaxRequestsInFlight: 4})
}

// Server serves /metrics on an address while a load runs.
type Server struct {
	srv *http.Server
	ln  net.Listener
	err chan error
}

// Serve listens on addr (":9090", "127.0.0.1:0") and serves /metrics.
func Serve(addr string, m *Metrics) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics on %s: %w (is the port taken? give another with --metrics-addr)", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "enrollsim load serves its metrics at /metrics", http.StatusNotFound)
	})
	s := &Server{ln: ln, err: make(chan error, 1), srv: &http.Server{Handler: mux,
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute,
		MaxHeaderBytes: 16 << 10}}
	go func() { s.err <- s.srv.Serve(ln) }()
	return s, nil
}

// URL is where the metrics are.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() + "/metrics" }

// Close stops serving, letting a scrape in progress end (at most 5 s).
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if e := <-s.err; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}
