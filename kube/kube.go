// Package kube writes the Kubernetes objects that run a distributed test
// (see dist): a ConfigMap holding the plan and its data files, a
// coordinator Job with a Service in front of it, and an Indexed Job of
// agents whose completion index (JOB_COMPLETION_INDEX) is their part of
// the test. `kubectl apply -f -` runs them; nothing here talks to a
// cluster.
//
// Design. The objects are built from the real API types (k8s.io/api,
// k8s.io/apimachinery) and printed with sigs.k8s.io/yaml, so a field
// that does not exist cannot be written, and the tests decode the output
// back strictly. Secrets are referenced, never written: the agents'
// token, the history's DSN and every ${NAME} the plan expands come from
// Secrets the user creates (the manifest's header says how). Agents
// prefer distinct nodes (a soft anti-affinity): one node's cores are the
// limit one agent is there to lift. The containers' command lines are
// Commands, which the multi-host test runs as they are written here.
package kube

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// File is one file the plan names, relative to the plan's directory.
type File struct {
	Path string
	Data []byte
}

// Options describe one distributed test.
type Options struct {
	// Name prefixes every object (a DNS label; default "stampede").
	Name      string
	Namespace string
	Image     string
	Agents    int
	// PlanName is the plan file's base name; Plan its bytes; Files the
	// files it names by relative paths.
	PlanName string
	Plan     []byte
	Files    []File
	// Args are extra arguments of the coordinator's run (load flags).
	Args []string
	// Store, when set, records the run in the history whose DSN is in
	// the Secret <name>-store (key dsn).
	Store bool
	// Env are the names the plan expands (${NAME}); they come from the
	// Secret <name>-env.
	Env []string
	// Port is the coordinator's port (default 7000).
	Port int32
	// AgentCPU and AgentMemory are each agent's requests (and the memory
	// limit); default 1 core and 1Gi.
	AgentCPU, AgentMemory string
}

// MaxAgents bounds Options.Agents.
const MaxAgents = 1024

// Bounds and paths inside the containers.
const (
	DefaultPort = 7000
	planDir     = "/etc/stampede/plan"
	// maxConfigMap is what one ConfigMap holds (etcd's object limit,
	// less room for the rest of the object).
	maxConfigMap = 1000 * 1024
)

// Labels of the objects.
const (
	labelName      = "app.kubernetes.io/name"
	labelInstance  = "app.kubernetes.io/instance"
	labelComponent = "app.kubernetes.io/component"
)

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// defaults fills what was left unset.
func (o *Options) defaults() {
	if o.Name == "" {
		o.Name = "stampede"
	}
	if o.Port == 0 {
		o.Port = DefaultPort
	}
	if o.AgentCPU == "" {
		o.AgentCPU = "1"
	}
	if o.AgentMemory == "" {
		o.AgentMemory = "1Gi"
	}
}

func (o *Options) check() error {
	o.defaults()
	var errs []error
	if msgs := validation.IsDNS1035Label(o.Name); len(msgs) > 0 || len(o.Name) > 40 {
		errs = append(errs, fmt.Errorf("--name %q: want a DNS label of at most 40 characters (lower case letters, digits, -)", o.Name))
	}
	if o.Namespace != "" {
		if msgs := validation.IsDNS1123Label(o.Namespace); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("--namespace %q: %s", o.Namespace, strings.Join(msgs, "; ")))
		}
	}
	if strings.TrimSpace(o.Image) == "" || strings.ContainsAny(o.Image, " \t\n") {
		errs = append(errs, fmt.Errorf("--image %q: want an image reference, e.g. registry.example.com/stampede:0.1.0", o.Image))
	}
	if o.Agents < 1 || o.Agents > MaxAgents {
		errs = append(errs, fmt.Errorf("--agents %d: want 1 to %d", o.Agents, MaxAgents))
	}
	if _, err := resource.ParseQuantity(o.AgentCPU); err != nil {
		errs = append(errs, fmt.Errorf("--agent-cpu %q: %v", o.AgentCPU, err))
	}
	if _, err := resource.ParseQuantity(o.AgentMemory); err != nil {
		errs = append(errs, fmt.Errorf("--agent-memory %q: %v", o.AgentMemory, err))
	}
	for _, e := range o.Env {
		if !envName.MatchString(e) {
			errs = append(errs, fmt.Errorf("${%s}: not a name an environment variable can have", e))
		}
	}
	size := len(o.Plan)
	for _, f := range o.Files {
		size += len(f.Data)
	}
	if size > maxConfigMap {
		errs = append(errs, fmt.Errorf("the plan and its files are %d KiB: a ConfigMap holds at most %d KiB (give large files by absolute paths on a volume of the agents)", size>>10, maxConfigMap>>10))
	}
	return errors.Join(errs...)
}

// Names of the objects.
func (o *Options) coordinatorName() string { return o.Name + "-coordinator" }
func (o *Options) agentsName() string      { return o.Name + "-agents" }
func (o *Options) tokenSecret() string     { return o.Name + "-token" }

// CoordinatorAddr is where the agents dial: the Service's name, within
// the namespace.
func (o Options) CoordinatorAddr() string {
	o.defaults()
	return fmt.Sprintf("%s:%d", o.coordinatorName(), o.Port)
}

// layout places the plan and its files in the ConfigMap's volume: keys
// are flat (key0, key1…), paths keep the files' places relative to the
// plan, with the plan deep enough that no path climbs out.
func (o *Options) layout() (planPath string, items []corev1.KeyToPath, data map[string]string, binary map[string][]byte, err error) {
	depth := 0
	for _, f := range o.Files {
		p := path.Clean(f.Path)
		if path.IsAbs(p) {
			return "", nil, nil, nil, fmt.Errorf("file %s: not relative to the plan", f.Path)
		}
		n := 0
		for _, part := range strings.Split(p, "/") {
			if part != ".." {
				break
			}
			n++
		}
		depth = max(depth, n)
	}
	base := ""
	for i := range depth {
		base = path.Join(base, "up"+strconv.Itoa(i))
	}
	data, binary = map[string]string{}, map[string][]byte{}
	put := func(key, rel string, b []byte) {
		items = append(items, corev1.KeyToPath{Key: key, Path: rel})
		if isText(b) {
			data[key] = string(b)
		} else {
			binary[key] = b
		}
	}
	name := path.Base(o.PlanName)
	if name == "." || name == "/" || name == "" {
		name = "plan.yaml"
	}
	rel := path.Join(base, name)
	put("plan", rel, o.Plan)
	for i, f := range o.Files {
		put("file"+strconv.Itoa(i), path.Join(base, f.Path), f.Data)
	}
	if len(binary) == 0 {
		binary = nil
	}
	return path.Join(planDir, rel), items, data, binary, nil
}

// isText: a ConfigMap's data holds UTF-8 text; anything else goes in
// binaryData.
func isText(b []byte) bool {
	return bytes.IndexByte(b, 0) < 0 && strings.ToValidUTF8(string(b), "\uFFFD") == string(b)
}

// RunFile is where the coordinator writes the merged Run in its pod (the
// history and the log have it too).
const RunFile = "/tmp/stampede-run.json"

// CoordinatorCommand is the coordinator container's command line, with
// the plan at planPath.
func (o Options) CoordinatorCommand(planPath string) []string {
	o.defaults()
	cmd := []string{"stampede", "run", planPath, "--agents", strconv.Itoa(o.Agents), "--listen", fmt.Sprintf(":%d", o.Port), "--wait", "10m",
		"--out", "json=" + RunFile}
	if !o.Store {
		cmd = append(cmd, "--no-store")
	}
	return append(cmd, o.Args...)
}

// AgentCommand is each agent's command line; its part comes from
// JOB_COMPLETION_INDEX.
func (o Options) AgentCommand() []string {
	o.defaults()
	return []string{"stampede", "agent", "--coordinator", o.CoordinatorAddr(), "--out-dir", "/tmp", "--wait", "10m"}
}

// Manifest is the YAML of every object, in the order kubectl should
// apply them, with a header saying which Secrets to create.
func Manifest(o Options) ([]byte, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	planPath, items, data, binary, err := o.layout()
	if err != nil {
		return nil, err
	}
	labels := func(component string) map[string]string {
		return map[string]string{labelName: "stampede", labelInstance: o.Name, labelComponent: component}
	}
	meta := func(name, component string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: o.Namespace, Labels: labels(component)}
	}
	secretEnv := func(name, secret, key string, optional bool) corev1.EnvVar {
		ref := &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key}
		if optional {
			ref.Optional = &optional
		}
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: ref}}
	}
	env := []corev1.EnvVar{secretEnv("STAMPEDE_TOKEN", o.tokenSecret(), "token", false)}
	for _, name := range slices.Compact(slices.Sorted(slices.Values(o.Env))) {
		env = append(env, secretEnv(name, o.Name+"-env", name, false))
	}
	coordEnv := slices.Clone(env)
	if o.Store {
		coordEnv = append(coordEnv, secretEnv("STAMPEDE_STORE", o.Name+"-store", "dsn", false))
	}
	noRetry := int32(0)
	one := int32(1)
	n := int32(o.Agents)
	indexed := batchv1.IndexedCompletion
	ttl := int32(24 * 3600)
	nonRoot := true
	noEscalation := false
	security := &corev1.SecurityContext{RunAsNonRoot: &nonRoot, AllowPrivilegeEscalation: &noEscalation,
		ReadOnlyRootFilesystem: &nonRoot, Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}
	tmp := corev1.Volume{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
	tmpMount := corev1.VolumeMount{Name: "tmp", MountPath: "/tmp"}

	cm := &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: meta(o.Name+"-plan", "plan"), Data: data, BinaryData: binary}
	svc := &corev1.Service{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: meta(o.coordinatorName(), "coordinator"),
		Spec: corev1.ServiceSpec{Selector: labels("coordinator"), Ports: []corev1.ServicePort{{
			Name: "agents", Port: o.Port, TargetPort: intstr.FromInt32(o.Port), Protocol: corev1.ProtocolTCP}}}}
	coord := &batchv1.Job{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: meta(o.coordinatorName(), "coordinator"),
		Spec: batchv1.JobSpec{BackoffLimit: &noRetry, Completions: &one, Parallelism: &one, TTLSecondsAfterFinished: &ttl,
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels("coordinator")},
				Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
					Containers: []corev1.Container{{Name: "coordinator", Image: o.Image,
						Command: o.CoordinatorCommand(planPath), Env: coordEnv,
						Ports: []corev1.ContainerPort{{Name: "agents", ContainerPort: o.Port, Protocol: corev1.ProtocolTCP}},
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
							Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}},
						VolumeMounts:    []corev1.VolumeMount{{Name: "plan", MountPath: planDir, ReadOnly: true}, tmpMount},
						SecurityContext: security}},
					Volumes: []corev1.Volume{{Name: "plan", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
						LocalObjectReference: corev1.LocalObjectReference{Name: cm.Name}, Items: items}}}, tmp}}}}}
	agents := &batchv1.Job{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: meta(o.agentsName(), "agent"),
		Spec: batchv1.JobSpec{CompletionMode: &indexed, Completions: &n, Parallelism: &n, BackoffLimit: &noRetry, TTLSecondsAfterFinished: &ttl,
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels("agent")},
				Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
					Affinity: &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
						PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{Weight: 100,
							PodAffinityTerm: corev1.PodAffinityTerm{TopologyKey: "kubernetes.io/hostname",
								LabelSelector: &metav1.LabelSelector{MatchLabels: labels("agent")}}}}}},
					Containers: []corev1.Container{{Name: "agent", Image: o.Image, Command: o.AgentCommand(), Env: env,
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(o.AgentCPU), corev1.ResourceMemory: resource.MustParse(o.AgentMemory)},
							Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(o.AgentMemory)}},
						VolumeMounts:    []corev1.VolumeMount{tmpMount},
						SecurityContext: security}},
					Volumes: []corev1.Volume{tmp}}}}}

	var b bytes.Buffer
	fmt.Fprintf(&b, "# stampede: a test of %d agent(s). Create its Secrets first (values never appear here):\n", o.Agents)
	ns := ""
	if o.Namespace != "" {
		ns = " -n " + o.Namespace
	}
	fmt.Fprintf(&b, "#   kubectl%s create secret generic %s --from-literal=token=\"$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \\n')\"\n", ns, o.tokenSecret())
	if o.Store {
		fmt.Fprintf(&b, "#   kubectl%s create secret generic %s-store --from-literal=dsn='postgres://…'\n", ns, o.Name)
	}
	if len(o.Env) > 0 {
		var lits []string
		for _, e := range slices.Compact(slices.Sorted(slices.Values(o.Env))) {
			lits = append(lits, fmt.Sprintf("--from-literal=%s=…", e))
		}
		fmt.Fprintf(&b, "#   kubectl%s create secret generic %s-env %s\n", ns, o.Name, strings.Join(lits, " "))
	}
	fmt.Fprintf(&b, "# then: kubectl apply -f THIS_FILE; the result: kubectl%s logs job/%s\n", ns, o.coordinatorName())
	for _, obj := range []any{cm, svc, coord, agents} {
		y, err := yaml.Marshal(obj)
		if err != nil {
			return nil, err
		}
		b.WriteString("---\n")
		b.Write(y)
	}
	return b.Bytes(), nil
}
