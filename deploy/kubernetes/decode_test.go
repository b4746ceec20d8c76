package kubernetes_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sjson "sigs.k8s.io/json"
	k8syaml "sigs.k8s.io/yaml"
)

// podMonitor is the part of the Prometheus Operator's monitoring.coreos.com/v1
// PodMonitor that podmonitor.yaml uses, with the operator's JSON names
// (prometheus-operator pkg/apis/monitoring/v1, PodMonitorSpec and
// PodMetricsEndpoint). Decoded strictly like the rest, a field it does not
// list is an error: a typo cannot pass, at the price that a new field must be
// added here. Its CRD schema is 10,000 lines of OpenAPI for one small object,
// and its Go module would bring the operator's dependencies; neither buys more
// for the three fields used.
type podMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector          metav1.LabelSelector `json:"selector"`
		NamespaceSelector *struct {
			Any        bool     `json:"any,omitempty"`
			MatchNames []string `json:"matchNames,omitempty"`
		} `json:"namespaceSelector,omitempty"`
		PodMetricsEndpoints []struct {
			Port     string `json:"port,omitempty"`
			Path     string `json:"path,omitempty"`
			Scheme   string `json:"scheme,omitempty"`
			Interval string `json:"interval,omitempty"`
		} `json:"podMetricsEndpoints"`
	} `json:"spec"`
}

// kustomization is the part of kustomize's Kustomization these files use.
type kustomization struct {
	metav1.TypeMeta `json:",inline"`
	Namespace       string   `json:"namespace,omitempty"`
	Resources       []string `json:"resources"`
}

// newObject returns the Go type a document of this apiVersion and kind
// decodes into. A kind not here fails the test: a new manifest gets a type,
// or it is not checked at all.
func newObject(apiVersion, kind string) (any, error) {
	switch apiVersion + " " + kind {
	case "v1 Namespace":
		return &corev1.Namespace{}, nil
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "v1 Service":
		return &corev1.Service{}, nil
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}, nil
	case "batch/v1 Job":
		return &batchv1.Job{}, nil
	case "monitoring.coreos.com/v1 PodMonitor":
		return &podMonitor{}, nil
	case "kustomize.config.k8s.io/v1beta1 Kustomization":
		return &kustomization{}, nil
	}
	return nil, fmt.Errorf("apiVersion %q kind %q: no Go type for it here", apiVersion, kind)
}

// docSeparator is a YAML document separator line, as kubectl's reader splits.
var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// splitDocuments cuts a manifest into its documents, dropping those that hold
// only comments. It counts them a second way, with a YAML parser, and refuses
// a disagreement: a separator indented or glued to text would otherwise turn
// two objects into one document whose second half vanishes.
func splitDocuments(data []byte) ([][]byte, error) {
	var docs [][]byte
	for _, part := range docSeparator.Split(string(data), -1) {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(part), &n); err != nil {
			return nil, err
		}
		if len(n.Content) > 0 {
			docs = append(docs, []byte(part))
		}
	}
	parsed := 0
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(n.Content) > 0 {
			parsed++
		}
	}
	if parsed != len(docs) {
		return nil, fmt.Errorf("%d documents between --- lines, but a YAML parser reads %d", len(docs), parsed)
	}
	return docs, nil
}

// decodeStrict turns one YAML document into its Kubernetes Go type as the API
// server would: YAML to JSON refusing duplicate keys, then the API server's
// own JSON decoder (sigs.k8s.io/json), which matches field names
// case-sensitively and reports unknown and duplicate fields. encoding/json
// with DisallowUnknownFields is not enough: it matches names regardless of
// case, so "completionmode" would fill CompletionMode here while the API
// server dropped it and ran a NonIndexed Job.
func decodeStrict(doc []byte) (any, error) {
	js, err := k8syaml.YAMLToJSONStrict(doc)
	if err != nil {
		return nil, err
	}
	var tm metav1.TypeMeta
	if err := k8sjson.UnmarshalCaseSensitivePreserveInts(js, &tm); err != nil {
		return nil, err
	}
	obj, err := newObject(tm.APIVersion, tm.Kind)
	if err != nil {
		return nil, err
	}
	strict, err := k8sjson.UnmarshalStrict(js, obj)
	if err != nil {
		return nil, err
	}
	if len(strict) > 0 {
		return nil, fmt.Errorf("%s: %w", tm.Kind, errors.Join(strict...))
	}
	return obj, nil
}

// manifest is one decoded document and the file it came from.
type manifest struct {
	file string // relative to deploy/kubernetes
	obj  any
}

// decodeFile decodes every document of one file.
func decodeFile(path, rel string) ([]manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	docs, err := splitDocuments(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("%s: no document", rel)
	}
	var out []manifest
	for i, doc := range docs {
		obj, err := decodeStrict(doc)
		if err != nil {
			return nil, fmt.Errorf("%s, document %d: %w", rel, i+1, err)
		}
		out = append(out, manifest{file: rel, obj: obj})
	}
	return out, nil
}

// yamlFiles lists the .yaml and .yml files under root, relative and sorted.
func yamlFiles(root string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if ext := filepath.Ext(path); ext == ".yaml" || ext == ".yml" {
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

// decodeAll decodes every manifest under root.
func decodeAll(root string) ([]manifest, error) {
	files, err := yamlFiles(root)
	if err != nil {
		return nil, err
	}
	var all []manifest
	for _, rel := range files {
		ms, err := decodeFile(filepath.Join(root, filepath.FromSlash(rel)), rel)
		if err != nil {
			return nil, err
		}
		all = append(all, ms...)
	}
	return all, nil
}

// isKustomization says whether a file is a kustomization, not a resource.
func isKustomization(rel string) bool {
	return strings.TrimSuffix(filepath.Base(rel), filepath.Ext(rel)) == "kustomization"
}
