package kube

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func sample() Options {
	return Options{Namespace: "load", Image: "registry.example.com/stampede:0.1.0", Agents: 3,
		PlanName: "plan.yaml", Plan: []byte("name: shop\ntarget:\n  base_url: http://shop:8080\n  headers:\n    Authorization: Bearer ${SHOP_TOKEN}\n"),
		Files: []File{{Path: "data/users.csv", Data: []byte("id\n1\n")}, {Path: "../shared/body.bin", Data: []byte{0, 1, 2}}},
		Env:   []string{"SHOP_TOKEN"}, Store: true, Args: []string{"--rate=300"}}
}

// Objects are the manifest decoded back strictly: an unknown field is an
// error.
type objects struct {
	cm          corev1.ConfigMap
	svc         corev1.Service
	coord, agts batchv1.Job
}

func decode(t *testing.T, y []byte) objects {
	t.Helper()
	docs := strings.Split(string(y), "\n---\n")
	if len(docs) != 5 { // the header, then four objects
		t.Fatalf("%d documents, want a header and 4 objects", len(docs))
	}
	var o objects
	for i, into := range []any{&o.cm, &o.svc, &o.coord, &o.agts} {
		if err := yaml.UnmarshalStrict([]byte(docs[i+1]), into); err != nil {
			t.Fatalf("object %d: %v", i+1, err)
		}
	}
	return o
}

func TestManifestGolden(t *testing.T) {
	y, err := Manifest(sample())
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "manifest.golden.yaml")
	if *update {
		if err := os.WriteFile(golden, y, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(y, want) {
		t.Errorf("the manifest differs from %s (go test ./kube -update rewrites it):\n%s", golden, y)
	}
}

func TestManifestObjects(t *testing.T) {
	o := sample()
	y, err := Manifest(o)
	if err != nil {
		t.Fatal(err)
	}
	objs := decode(t, y)
	a := objs.agts.Spec
	if a.CompletionMode == nil || *a.CompletionMode != batchv1.IndexedCompletion || *a.Completions != 3 || *a.Parallelism != 3 {
		t.Errorf("agents: want an Indexed Job of 3 running at once, got %+v", a)
	}
	pod := a.Template.Spec
	if aff := pod.Affinity; aff == nil || aff.PodAntiAffinity == nil || len(aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) != 1 {
		t.Errorf("agents: want a preferred anti-affinity spreading them over nodes")
	}
	ag := pod.Containers[0]
	if !slices.Equal(ag.Command, o.AgentCommand()) || !slices.Contains(ag.Command, "stampede-coordinator:7000") {
		t.Errorf("agent command %q", ag.Command)
	}
	if ag.Resources.Requests.Cpu().String() != "1" || ag.Resources.Limits.Memory().String() != "1Gi" {
		t.Errorf("agent resources %+v", ag.Resources)
	}
	coord := objs.coord.Spec.Template.Spec
	for _, c := range []corev1.Container{ag, coord.Containers[0]} {
		for _, e := range c.Env {
			if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				t.Errorf("%s: env %s is not a Secret reference", c.Name, e.Name)
			}
		}
	}
	names := func(c corev1.Container) (out []string) {
		for _, e := range c.Env {
			out = append(out, e.Name)
		}
		return out
	}
	if n := names(coord.Containers[0]); !slices.Contains(n, "STAMPEDE_STORE") || !slices.Contains(n, "SHOP_TOKEN") || !slices.Contains(n, "STAMPEDE_TOKEN") {
		t.Errorf("coordinator env %v", n)
	}
	if n := names(ag); !slices.Contains(n, "SHOP_TOKEN") || !slices.Contains(n, "STAMPEDE_TOKEN") || slices.Contains(n, "STAMPEDE_STORE") {
		t.Errorf("agent env %v", n)
	}
	if objs.svc.Spec.Ports[0].Port != 7000 || objs.svc.Name+":7000" != o.CoordinatorAddr() {
		t.Errorf("service %s port %d, agents dial %s", objs.svc.Name, objs.svc.Spec.Ports[0].Port, o.CoordinatorAddr())
	}
	// The plan and its files are where the coordinator's command looks,
	// at the same places relative to the plan as on the user's disk.
	vol := coord.Volumes[0].ConfigMap
	files := map[string][]byte{}
	for _, it := range vol.Items {
		b, ok := []byte(objs.cm.Data[it.Key]), true
		if _, text := objs.cm.Data[it.Key]; !text {
			b, ok = objs.cm.BinaryData[it.Key]
		}
		if !ok || strings.Contains(it.Path, "..") {
			t.Errorf("item %s → %s", it.Key, it.Path)
		}
		files[path.Join(planDir, it.Path)] = b
	}
	planPath := coord.Containers[0].Command[2]
	if string(files[planPath]) != string(o.Plan) {
		t.Errorf("the coordinator runs %s, which holds %q", planPath, files[planPath])
	}
	for _, f := range o.Files {
		if got := files[path.Join(path.Dir(planPath), f.Path)]; !bytes.Equal(got, f.Data) {
			t.Errorf("%s beside the plan holds %q, want %q", f.Path, got, f.Data)
		}
	}
	if !slices.Contains(coord.Containers[0].Command, "--rate=300") {
		t.Errorf("coordinator command %q lacks the load flags", coord.Containers[0].Command)
	}
}

func TestManifestRefuses(t *testing.T) {
	for _, tc := range []struct {
		why  string
		edit func(*Options)
		want string
	}{
		{"no image", func(o *Options) { o.Image = "" }, "--image"},
		{"too many agents", func(o *Options) { o.Agents = MaxAgents + 1 }, "--agents"},
		{"bad name", func(o *Options) { o.Name = "Load_Test" }, "--name"},
		{"bad quantity", func(o *Options) { o.AgentCPU = "lots" }, "--agent-cpu"},
		{"too big for a ConfigMap", func(o *Options) { o.Files = []File{{Path: "big", Data: make([]byte, maxConfigMap)}} }, "ConfigMap holds at most"},
		{"absolute file", func(o *Options) { o.Files = []File{{Path: "/etc/passwd"}} }, "not relative"},
	} {
		o := sample()
		tc.edit(&o)
		if _, err := Manifest(o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %s", tc.why, err, tc.want)
		}
	}
}

// TestKubectlDryRun has kubectl read the manifest as it would apply it.
// Client-side dry runs still ask an API server for its resource types, so
// without a reachable cluster the test says so and skips.
func TestKubectlDryRun(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not installed (Debian: apt-get install kubernetes-client)")
	}
	y, err := Manifest(sample())
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "m.yaml")
	if err := os.WriteFile(f, y, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(kubectl, "apply", "--dry-run=client", "--request-timeout=5s", "-f", f).CombinedOutput()
	if err != nil && (bytes.Contains(out, []byte("connection refused")) || bytes.Contains(out, []byte("failed to download openapi")) || bytes.Contains(out, []byte("no such host"))) {
		t.Skipf("kubectl apply --dry-run=client needs an API server for discovery, and none is reachable: %s", firstLine(out))
	}
	if err != nil {
		t.Fatalf("kubectl apply --dry-run=client: %v\n%s", err, out)
	}
	if n := bytes.Count(out, []byte("(dry run)")); n != 4 {
		t.Errorf("kubectl accepted %d objects, want 4:\n%s", n, out)
	}
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return s
}
