// Package kubernetes_test checks the manifests of deploy/kubernetes without a
// cluster: each document decodes strictly into the Kubernetes API's Go types
// (k8s.io/api), as the API server would take it, and the objects agree with
// each other and with enrollsim's flags.
package kubernetes_test

import (
	"errors"
	"os"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// image is the reference both pods run.
const image = "ghcr.io/enrollsim/enrollsim:v0.1.0"

// servedHosts are the host names the reference server answers for
// (internal/refserver; this package imports nothing internal).
var servedHosts = []string{"acme.test", "axm.test", "idp.acme.test", "mdm.acme.test"}

// optional are the manifests the base leaves out, applied on their own.
var optional = map[string]bool{"podmonitor.yaml": true}

func TestManifestsDecodeStrictly(t *testing.T) {
	b := loadBundle(t)
	require.Equal(t, "enrollsim", b.namespace.Name)
	for _, m := range b.all {
		o, ok := m.obj.(interface{ GetNamespace() string })
		if !ok {
			continue
		}
		if optional[m.file] {
			require.Equal(t, b.namespace.Name, o.GetNamespace(), "%s: applied with kubectl apply -f, it names its namespace", m.file)
		} else {
			require.Empty(t, o.GetNamespace(), "%s: the kustomization sets the namespace", m.file)
		}
	}
}

func TestLoadJobIsIndexedAndSharded(t *testing.T) {
	b := loadBundle(t)
	job := b.job.Spec
	require.NotNil(t, job.CompletionMode)
	require.Equal(t, batchv1.IndexedCompletion, *job.CompletionMode)
	require.NotNil(t, job.Completions)
	require.NotNil(t, job.Parallelism)
	require.Equal(t, *job.Completions, *job.Parallelism, "every shard runs at once, or the start is not synchronized")
	ctr := container(t, job.Template.Spec)
	shards := env(ctr)["ENROLLSIM_SHARDS"]
	require.Equal(t, strconv.Itoa(int(*job.Completions)), shards, "ENROLLSIM_SHARDS is the Job's completions")
	require.Equal(t, "ENROLLSIM_SHARDS", ctr.Env[0].Name, "first: the runbook's scaling patch (README, On Kubernetes) replaces env/0")

	require.Equal(t, corev1.RestartPolicyNever, job.Template.Spec.RestartPolicy)
	require.NotNil(t, job.BackoffLimitPerIndex, "a failed shard fails alone, leaving the others to finish")
	require.Zero(t, *job.BackoffLimitPerIndex, "a shard replayed late measures something else")
	require.NotNil(t, job.Suspend)
	require.True(t, *job.Suspend, "no pod before the runbook sets start-at")

	c := parse(t, ctr)
	require.Equal(t, "load", c.sub)
	require.NotContains(t, c.flags, "shard", "the shard comes from JOB_COMPLETION_INDEX")
	require.Contains(t, c.flags["report"], "json=-", "the result goes to the log for report merge")
	require.Equal(t, "$(START_AT)", c.one(t, "start-at"))
	require.Equal(t, "set-me", configValue(t, b, ctr, c.one(t, "start-at")), "a Job unsuspended too early fails, not starts at a stale instant")
	devices, err := strconv.Atoi(configValue(t, b, ctr, c.one(t, "devices")))
	require.NoError(t, err)
	accounts, err := strconv.Atoi(configValue(t, b, ctr, c.one(t, "accounts")))
	require.NoError(t, err)
	require.GreaterOrEqual(t, accounts, devices, "two enrollments would share an account")

	tmpl := labels.Set(b.job.Spec.Template.Labels)
	require.Equal(t, "enrollsim", tmpl["app.kubernetes.io/name"])
	require.Equal(t, "load", tmpl["app.kubernetes.io/component"])
}

// TestArgsExpandFromTheEnv checks every $(VAR) in the args: the kubelet
// passes one it cannot resolve on as it is, without an error.
func TestArgsExpandFromTheEnv(t *testing.T) {
	b := loadBundle(t)
	used := map[string]bool{}
	for _, spec := range []corev1.PodSpec{b.server.Spec.Template.Spec, b.job.Spec.Template.Spec} {
		ctr := container(t, spec)
		for _, arg := range ctr.Args {
			for _, m := range envVarRef.FindAllString(arg, -1) {
				require.Equal(t, arg, "--"+strings.SplitN(strings.TrimPrefix(arg, "--"), "=", 2)[0]+"="+m, "%s: %s: a $(VAR) is a whole flag value", ctr.Name, arg)
				configValue(t, b, ctr, m)
			}
		}
		for _, e := range ctr.Env {
			if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil {
				used[e.ValueFrom.ConfigMapKeyRef.Key] = true
			}
		}
	}
	for k := range b.config.Data {
		require.True(t, used[k], "ConfigMap key %q feeds nothing", k)
	}
}

func TestEveryPodIsLockedDown(t *testing.T) {
	b := loadBundle(t)
	for _, spec := range []corev1.PodSpec{b.server.Spec.Template.Spec, b.job.Spec.Template.Spec} {
		ctr := container(t, spec)
		require.Equal(t, image, ctr.Image, ctr.Name)
		require.Equal(t, corev1.PullIfNotPresent, ctr.ImagePullPolicy, ctr.Name)
		require.NotNil(t, spec.AutomountServiceAccountToken, ctr.Name)
		require.False(t, *spec.AutomountServiceAccountToken, "%s: it never talks to the API server", ctr.Name)

		psc := spec.SecurityContext
		require.NotNil(t, psc, ctr.Name)
		require.NotNil(t, psc.FSGroup, "%s: the 0440 Secret files are readable through the group", ctr.Name)
		require.EqualValues(t, 65532, *psc.FSGroup)
		sc := ctr.SecurityContext
		require.NotNil(t, sc, ctr.Name)
		require.NotNil(t, sc.RunAsNonRoot, ctr.Name)
		require.True(t, *sc.RunAsNonRoot, ctr.Name)
		require.NotNil(t, sc.RunAsUser, ctr.Name)
		require.EqualValues(t, 65532, *sc.RunAsUser, "%s: the image's USER", ctr.Name)
		require.NotNil(t, sc.ReadOnlyRootFilesystem, ctr.Name)
		require.True(t, *sc.ReadOnlyRootFilesystem, ctr.Name)
		require.NotNil(t, sc.AllowPrivilegeEscalation, ctr.Name)
		require.False(t, *sc.AllowPrivilegeEscalation, ctr.Name)
		require.NotNil(t, sc.Capabilities, ctr.Name)
		require.Equal(t, []corev1.Capability{"ALL"}, sc.Capabilities.Drop, ctr.Name)
		require.Empty(t, sc.Capabilities.Add, ctr.Name)
		require.NotNil(t, sc.SeccompProfile, ctr.Name)
		require.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, sc.SeccompProfile.Type, ctr.Name)

		// With the root filesystem read-only, the only place it writes.
		require.Equal(t, "/tmp", env(ctr)["TMPDIR"], ctr.Name)
		tmp := false
		for _, m := range ctr.VolumeMounts {
			for _, v := range spec.Volumes {
				tmp = tmp || (m.MountPath == "/tmp" && v.Name == m.Name && v.EmptyDir != nil && !m.ReadOnly)
			}
		}
		require.True(t, tmp, "%s: a writable emptyDir at /tmp", ctr.Name)
		require.NotNil(t, ctr.Resources.Requests.Cpu(), ctr.Name)
		require.False(t, ctr.Resources.Limits.Memory().IsZero(), "%s: a memory limit", ctr.Name)
	}
}

// targetPort resolves a Service's targetPort, by name or number, against the
// pod's container.
func targetPort(t *testing.T, ctr corev1.Container, tp intstr.IntOrString) corev1.ContainerPort {
	t.Helper()
	for _, p := range ctr.Ports {
		if (tp.Type == intstr.String && p.Name == tp.StrVal) || (tp.Type == intstr.Int && p.ContainerPort == tp.IntVal) {
			return p
		}
	}
	t.Fatalf("targetPort %s is no port of container %s", tp.String(), ctr.Name)
	return corev1.ContainerPort{}
}

func TestServiceReachesTheServer(t *testing.T) {
	b := loadBundle(t)
	spec := b.server.Spec.Template.Spec
	ctr := container(t, spec)
	c := parse(t, ctr)
	require.Equal(t, "serve", c.sub)
	listen := port(t, c.one(t, "addr"))
	require.Contains(t, c.flags, "allow-remote", "serve refuses a non-loopback --addr without it")

	require.Len(t, b.service.Spec.Ports, 1)
	sp := b.service.Spec.Ports[0]
	require.Equal(t, listen, strconv.Itoa(int(targetPort(t, ctr, sp.TargetPort).ContainerPort)), "the Service sends to the port serve listens on")
	require.True(t, labels.SelectorFromSet(b.service.Spec.Selector).Matches(labels.Set(b.server.Spec.Template.Labels)), "the Service selects the server's pods")
	require.False(t, labels.SelectorFromSet(b.service.Spec.Selector).Matches(labels.Set(b.job.Spec.Template.Labels)), "nor the load's")
	require.Equal(t, b.server.Spec.Selector.MatchLabels, b.service.Spec.Selector)
	for _, probe := range []*corev1.Probe{ctr.ReadinessProbe, ctr.LivenessProbe} {
		require.NotNil(t, probe)
		require.NotNil(t, probe.TCPSocket)
		require.Equal(t, listen, strconv.Itoa(int(targetPort(t, ctr, probe.TCPSocket.Port).ContainerPort)), "probes check the listening port")
	}

	load := parse(t, container(t, b.job.Spec.Template.Spec))
	var hosts []string
	for _, ct := range load.flags["connect-to"] {
		parts := strings.Split(ct, ":")
		require.Len(t, parts, 4, ct)
		require.Equal(t, "443", parts[1], ct)
		require.Equal(t, b.service.Name, parts[2], "%s: the load reaches the Service", ct)
		require.Equal(t, strconv.Itoa(int(sp.Port)), parts[3], "%s: on its port", ct)
		hosts = append(hosts, parts[0])
	}
	sort.Strings(hosts)
	require.Equal(t, servedHosts, hosts, "every host the server answers for, once")
	axm := load.one(t, "axm-url")
	require.True(t, strings.HasPrefix(axm, "https://axm.test/"), "%s: AxM through the server's stand-in, not Apple", axm)
}

func TestSecretsAgree(t *testing.T) {
	b := loadBundle(t)
	srvSpec, jobSpec := b.server.Spec.Template.Spec, b.job.Spec.Template.Spec
	srvCtr, jobCtr := container(t, srvSpec), container(t, jobSpec)
	srv, load := parse(t, srvCtr), parse(t, jobCtr)
	ref := func(spec corev1.PodSpec, ctr corev1.Container, file string) string {
		t.Helper()
		secret, key, err := secretFile(spec, ctr, file)
		require.NoError(t, err)
		return secret + "/" + key
	}
	// The names and keys the runbook's kubectl create secret commands make.
	require.Equal(t, "enrollsim-ca/ca.pem", ref(srvSpec, srvCtr, srv.one(t, "ca-cert")))
	require.Equal(t, "enrollsim-ca/ca-key.pem", ref(srvSpec, srvCtr, srv.one(t, "ca-key")))
	require.Equal(t, "enrollsim-ca/ca.pem", ref(jobSpec, jobCtr, load.one(t, "cacert")), "the load trusts the server's CA")
	require.Equal(t, "enrollsim-master/master-secret", ref(srvSpec, srvCtr, srv.one(t, "master-secret-file")))
	require.Equal(t, "enrollsim-master/master-secret", ref(jobSpec, jobCtr, load.one(t, "master-secret-file")), "one master secret for both")
	require.Equal(t, configValue(t, b, srvCtr, srv.one(t, "account-pattern")), configValue(t, b, jobCtr, load.one(t, "account-pattern")))
	require.Equal(t, configValue(t, b, srvCtr, srv.one(t, "accounts")), configValue(t, b, jobCtr, load.one(t, "accounts")))

	require.False(t, secretKeys(jobSpec)["enrollsim-ca/ca-key.pem"], "a load pod never needs the CA's key")
	for _, spec := range []corev1.PodSpec{srvSpec, jobSpec} {
		for _, v := range spec.Volumes {
			if v.Secret != nil {
				require.NotNil(t, v.Secret.DefaultMode, v.Name)
				require.EqualValues(t, 0o440, *v.Secret.DefaultMode, "%s: owner and fsGroup read, nobody else", v.Name)
			}
		}
	}

	doc, err := runbook()
	require.NoError(t, err)
	for _, cmd := range []string{
		"kubectl -n enrollsim create secret generic enrollsim-ca --from-file=ca.pem=",
		"--from-file=ca-key.pem=",
		"kubectl -n enrollsim create secret generic enrollsim-master --from-literal=master-secret=",
	} {
		require.Contains(t, string(doc), cmd, "the runbook makes the Secrets the pods mount")
	}
}

func TestPodMonitorScrapesTheLoad(t *testing.T) {
	b := loadBundle(t)
	sel := b.podMonitor.Spec.Selector
	require.NotEmpty(t, sel.MatchLabels)
	require.Empty(t, sel.MatchExpressions)
	pods := labels.SelectorFromSet(sel.MatchLabels)
	require.True(t, pods.Matches(labels.Set(b.job.Spec.Template.Labels)), "it selects the load pods")
	require.False(t, pods.Matches(labels.Set(b.server.Spec.Template.Labels)), "and not the server")

	ctr := container(t, b.job.Spec.Template.Spec)
	metrics := port(t, parse(t, ctr).one(t, "metrics-addr"))
	require.Len(t, b.podMonitor.Spec.PodMetricsEndpoints, 1)
	ep := b.podMonitor.Spec.PodMetricsEndpoints[0]
	p := targetPort(t, ctr, intstr.FromString(ep.Port))
	require.Equal(t, metrics, strconv.Itoa(int(p.ContainerPort)), "the named port is where --metrics-addr listens")
	require.Equal(t, "/metrics", ep.Path)
}

// TestKustomizationListsTheFiles holds the base to its directory: it lists
// every manifest there but the optional ones. A file left out would never be
// applied; one listed but gone fails the apply.
func TestKustomizationListsTheFiles(t *testing.T) {
	b := loadBundle(t)
	files, err := yamlFiles(".")
	require.NoError(t, err)
	var want []string
	for _, f := range files {
		require.Equal(t, ".", path.Dir(f), "%s: one directory, no overlays below the base (kustomize refuses the cycle)", f)
		if !isKustomization(f) && !optional[f] {
			want = append(want, f)
		}
	}
	require.Len(t, b.kustomizations, 1)
	k := b.kustomizations["."]
	require.NotNil(t, k, "kustomization.yaml in deploy/kubernetes")
	got := append([]string(nil), k.Resources...)
	sort.Strings(got)
	require.Equal(t, want, got, "kustomization.yaml resources")
	require.Equal(t, b.namespace.Name, k.Namespace)
}

// TestRunbookMatchesTheManifests keeps the runbook's (README, "On Kubernetes") commands on the
// objects' names, and its create configmap command, which writes the whole
// ConfigMap again, on every key: one left out would leave a $(VAR) unset.
func TestRunbookMatchesTheManifests(t *testing.T) {
	b := loadBundle(t)
	doc, err := runbook()
	require.NoError(t, err)
	for _, ref := range []string{
		"job/" + b.job.Name, "job " + b.job.Name, "job-name=" + b.job.Name,
		"deployment/" + b.server.Name, "configmap " + b.config.Name,
		"kubectl -n " + b.namespace.Name + " ",
	} {
		require.Contains(t, doc, ref)
	}
	start := strings.Index(doc, "kubectl -n "+b.namespace.Name+" create configmap "+b.config.Name)
	require.GreaterOrEqual(t, start, 0, "the runbook's create configmap command")
	end := strings.Index(doc[start:], "| kubectl apply -f -")
	require.Greater(t, end, 0)
	var keys, want []string
	for _, m := range regexp.MustCompile(`--from-literal=([a-z-]+)=`).FindAllStringSubmatch(doc[start:start+end], -1) {
		keys = append(keys, m[1])
	}
	for k := range b.config.Data {
		want = append(want, k)
	}
	sort.Strings(keys)
	sort.Strings(want)
	require.Equal(t, want, keys, "the create configmap command sets every key")
}

// runbook is the README's "On Kubernetes" section, up to the next heading.
func runbook() (string, error) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		return "", err
	}
	readme := string(data)
	start := strings.Index(readme, "### On Kubernetes")
	if start < 0 {
		return "", errors.New(`README.md has no "### On Kubernetes" section`)
	}
	rest := readme[start+3:]
	if end := strings.Index(rest, "\n## "); end >= 0 {
		rest = rest[:end]
	}
	if end := strings.Index(rest, "\n### "); end >= 0 {
		rest = rest[:end]
	}
	return readme[start:start+3] + rest, nil
}
