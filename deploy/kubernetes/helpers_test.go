package kubernetes_test

import (
	"fmt"
	"net"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// bundle is every object of deploy/kubernetes, by kind.
type bundle struct {
	all            []manifest
	namespace      *corev1.Namespace
	config         *corev1.ConfigMap
	service        *corev1.Service
	server         *appsv1.Deployment
	job            *batchv1.Job
	podMonitor     *podMonitor
	kustomizations map[string]*kustomization // by directory, "." the base
}

// one keeps the single object of its kind, refusing a second.
func one[T any](t *testing.T, slot **T, obj *T, file string) {
	t.Helper()
	require.Nil(t, *slot, "%s: a second %T; this test expects one", file, obj)
	*slot = obj
}

// loadBundle decodes every manifest strictly and sorts them by kind.
func loadBundle(t *testing.T) *bundle {
	t.Helper()
	all, err := decodeAll(".")
	require.NoError(t, err)
	b := &bundle{all: all, kustomizations: map[string]*kustomization{}}
	for _, m := range all {
		switch o := m.obj.(type) {
		case *corev1.Namespace:
			one(t, &b.namespace, o, m.file)
		case *corev1.ConfigMap:
			one(t, &b.config, o, m.file)
		case *corev1.Service:
			one(t, &b.service, o, m.file)
		case *appsv1.Deployment:
			one(t, &b.server, o, m.file)
		case *batchv1.Job:
			one(t, &b.job, o, m.file)
		case *podMonitor:
			one(t, &b.podMonitor, o, m.file)
		case *kustomization:
			b.kustomizations[path.Dir(m.file)] = o
		default:
			t.Fatalf("%s: %T not expected here", m.file, o)
		}
	}
	for name, ok := range map[string]bool{"Namespace": b.namespace != nil, "ConfigMap": b.config != nil, "Service": b.service != nil,
		"Deployment": b.server != nil, "Job": b.job != nil, "PodMonitor": b.podMonitor != nil} {
		require.True(t, ok, "no %s among the manifests", name)
	}
	return b
}

// container is the pod's one container.
func container(t *testing.T, spec corev1.PodSpec) corev1.Container {
	t.Helper()
	require.Len(t, spec.Containers, 1, "one container a pod")
	return spec.Containers[0]
}

// boolFlags are enrollsim's flags that take no value.
var boolFlags = map[string]bool{"allow-remote": true, "strict": true, "probes": true, "no-push": true, "ddm": true}

// command is a container's args read as enrollsim does: the subcommand, then
// each flag's values in order.
type command struct {
	sub   string
	flags map[string][]string
}

func parseArgs(args []string) (command, error) {
	c := command{flags: map[string][]string{}}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return c, fmt.Errorf("args %q: want a subcommand first", args)
	}
	c.sub = args[0]
	for i := 1; i < len(args); i++ {
		a := args[i]
		name, ok := strings.CutPrefix(a, "--")
		if !ok {
			return c, fmt.Errorf("args: %q is not a --flag", a)
		}
		if n, v, ok := strings.Cut(name, "="); ok {
			c.flags[n] = append(c.flags[n], v)
			continue
		}
		if boolFlags[name] {
			c.flags[name] = append(c.flags[name], "true")
			continue
		}
		if i+1 >= len(args) {
			return c, fmt.Errorf("args: --%s has no value", name)
		}
		i++
		c.flags[name] = append(c.flags[name], args[i])
	}
	return c, nil
}

// one returns the flag's only value.
func (c command) one(t *testing.T, name string) string {
	t.Helper()
	require.Len(t, c.flags[name], 1, "%s: --%s once", c.sub, name)
	return c.flags[name][0]
}

func parse(t *testing.T, ctr corev1.Container) command {
	t.Helper()
	require.Empty(t, ctr.Command, "%s: the image's ENTRYPOINT is /enrollsim; give args only", ctr.Name)
	c, err := parseArgs(ctr.Args)
	require.NoError(t, err, ctr.Name)
	return c
}

// port is the port of a host:port address.
func port(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	require.NoError(t, err, addr)
	return p
}

// envVarRef is a $(VAR) the kubelet expands in args. One it cannot resolve
// stays as written: no error, just a literal "$(DEVICS)" flag value.
var envVarRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// secretFile follows a file path in a container to the Secret key behind it:
// the volume mount holding it, its volume, the item projecting the key.
func secretFile(spec corev1.PodSpec, ctr corev1.Container, file string) (secret, key string, err error) {
	for _, m := range ctr.VolumeMounts {
		rest, ok := strings.CutPrefix(file, strings.TrimSuffix(m.MountPath, "/")+"/")
		if !ok {
			continue
		}
		if !m.ReadOnly {
			return "", "", fmt.Errorf("%s: mount %s is not read-only", file, m.MountPath)
		}
		for _, v := range spec.Volumes {
			if v.Name != m.Name {
				continue
			}
			if v.Secret == nil {
				return "", "", fmt.Errorf("%s: volume %s is not a Secret", file, v.Name)
			}
			if len(v.Secret.Items) == 0 {
				return v.Secret.SecretName, rest, nil
			}
			for _, it := range v.Secret.Items {
				if it.Path == rest {
					return v.Secret.SecretName, it.Key, nil
				}
			}
			return "", "", fmt.Errorf("%s: Secret %s projects no item at %s", file, v.Secret.SecretName, rest)
		}
		return "", "", fmt.Errorf("%s: no volume %s", file, m.Name)
	}
	return "", "", fmt.Errorf("%s: under no volume mount", file)
}

// secretKeys is every Secret key a pod spec's volumes project.
func secretKeys(spec corev1.PodSpec) map[string]bool {
	keys := map[string]bool{}
	for _, v := range spec.Volumes {
		if v.Secret == nil {
			continue
		}
		for _, it := range v.Secret.Items {
			keys[v.Secret.SecretName+"/"+it.Key] = true
		}
	}
	return keys
}

// env is a container's plain environment values.
func env(ctr corev1.Container) map[string]string {
	m := map[string]string{}
	for _, e := range ctr.Env {
		if e.ValueFrom == nil {
			m[e.Name] = e.Value
		}
	}
	return m
}

// configValue is the ConfigMap value a $(VAR) arg ends up as, or the arg
// itself when it refers to nothing.
func configValue(t *testing.T, b *bundle, ctr corev1.Container, arg string) string {
	t.Helper()
	m := envVarRef.FindStringSubmatch(arg)
	if m == nil || m[0] != arg {
		return arg
	}
	for _, e := range ctr.Env {
		if e.Name != m[1] {
			continue
		}
		if e.ValueFrom == nil {
			return e.Value
		}
		ref := e.ValueFrom.ConfigMapKeyRef
		require.NotNil(t, ref, "%s: %s from a ConfigMap", ctr.Name, e.Name)
		require.Equal(t, b.config.Name, ref.Name, "%s: %s", ctr.Name, e.Name)
		v, ok := b.config.Data[ref.Key]
		require.True(t, ok, "%s: %s: ConfigMap %s has no key %q", ctr.Name, e.Name, ref.Name, ref.Key)
		return v
	}
	t.Fatalf("%s: %s refers to no env var", ctr.Name, arg)
	return ""
}
