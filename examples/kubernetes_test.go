package examples

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

var k8sDir = "kubernetes"

// manifests decodes every document of every manifest strictly into its
// k8s.io/api type, keyed by kind; an unknown or misplaced field fails.
type manifests struct {
	namespaces      []corev1.Namespace
	serviceAccounts []corev1.ServiceAccount
	configMaps      map[string]corev1.ConfigMap
	daemonSets      []appsv1.DaemonSet
	deployments     []appsv1.Deployment
	services        []corev1.Service
}

func loadManifests(t *testing.T) manifests {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m := manifests{configMaps: map[string]corev1.ConfigMap{}}
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range bytes.Split(data, []byte("\n---\n")) {
			var meta struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
			}
			if err := yaml.Unmarshal(doc, &meta); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			decode := func(into any) {
				if err := yaml.UnmarshalStrict(doc, into); err != nil {
					t.Fatalf("%s (%s): %v", f, meta.Kind, err)
				}
			}
			switch meta.APIVersion + " " + meta.Kind {
			case "v1 Namespace":
				var v corev1.Namespace
				decode(&v)
				m.namespaces = append(m.namespaces, v)
			case "v1 ServiceAccount":
				var v corev1.ServiceAccount
				decode(&v)
				m.serviceAccounts = append(m.serviceAccounts, v)
			case "v1 ConfigMap":
				var v corev1.ConfigMap
				decode(&v)
				m.configMaps[v.Name] = v
			case "apps/v1 DaemonSet":
				var v appsv1.DaemonSet
				decode(&v)
				m.daemonSets = append(m.daemonSets, v)
			case "apps/v1 Deployment":
				var v appsv1.Deployment
				decode(&v)
				m.deployments = append(m.deployments, v)
			case "v1 Service":
				var v corev1.Service
				decode(&v)
				m.services = append(m.services, v)
			default:
				t.Fatalf("%s: unexpected %s %s", f, meta.APIVersion, meta.Kind)
			}
		}
	}
	return m
}

func TestKustomizationListsEveryManifest(t *testing.T) {
	var k struct {
		APIVersion string   `json:"apiVersion"`
		Kind       string   `json:"kind"`
		Resources  []string `json:"resources"`
		Images     []struct {
			Name   string `json:"name"`
			NewTag string `json:"newTag"`
		} `json:"images"`
	}
	if err := yaml.UnmarshalStrict(readFile(t, k8sDir, "kustomization.yaml"), &k); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
	for _, f := range files {
		if b := filepath.Base(f); b != "kustomization.yaml" && !contains(k.Resources, b) {
			t.Errorf("kustomization.yaml leaves out %s", b)
		}
	}
	for _, r := range k.Resources {
		if _, err := os.Stat(filepath.Join(k8sDir, r)); err != nil {
			t.Errorf("kustomization.yaml lists %s: %v", r, err)
		}
	}
}

func TestAgentDaemonSetHasOnlyItsCapabilitiesAndBoundedResources(t *testing.T) {
	m := loadManifests(t)
	if len(m.daemonSets) != 1 {
		t.Fatalf("%d DaemonSets, want 1", len(m.daemonSets))
	}
	ds := m.daemonSets[0]
	pod := ds.Spec.Template.Spec
	if !pod.HostPID {
		t.Error("hostPID is off: the agent would see only its own processes")
	}
	if !slices.ContainsFunc(pod.Tolerations, func(tol corev1.Toleration) bool {
		return tol.Operator == corev1.TolerationOpExists && tol.Key == "" && tol.Effect == ""
	}) {
		t.Error("no toleration of every taint: some nodes would have no agent")
	}
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot ||
		pod.SecurityContext.RunAsUser == nil || *pod.SecurityContext.RunAsUser == 0 {
		t.Error("the agent may run as root")
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	c := pod.Containers[0]
	sc := c.SecurityContext
	if sc == nil || sc.Capabilities == nil {
		t.Fatal("no container securityContext with capabilities")
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Error("privileged")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("root file system writable")
	}
	// no_new_privs would stop exec from granting the file capabilities.
	if sc.AllowPrivilegeEscalation == nil || !*sc.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation must be true for the binary's file capabilities")
	}
	if !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("drop %v, want [ALL]", sc.Capabilities.Drop)
	}
	want := []corev1.Capability{"BPF", "PERFMON"}
	if got := slices.Sorted(slices.Values(sc.Capabilities.Add)); !slices.Equal(got, want) {
		t.Errorf("add %v, want exactly %v", sc.Capabilities.Add, want)
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, lim := c.Resources.Requests[r], c.Resources.Limits[r]
		if req.IsZero() || lim.IsZero() || req.Cmp(lim) > 0 {
			t.Errorf("%s request %s, limit %s: both set, request below limit", r, req.String(), lim.String())
		}
	}
	// The measured peak (116 MB at 5,000 processes) must fit the limit.
	if lim := c.Resources.Limits[corev1.ResourceMemory]; lim.Value() < 116e6 {
		t.Errorf("memory limit %s is below the measured peak RSS", lim.String())
	}
	hostPaths := map[string]string{}
	for _, v := range pod.Volumes {
		if v.HostPath != nil {
			hostPaths[v.Name] = v.HostPath.Path
		}
	}
	mounted := map[string]bool{}
	for _, vm := range c.VolumeMounts {
		if p, ok := hostPaths[vm.Name]; ok {
			if !vm.ReadOnly {
				t.Errorf("host path %s mounted writable", p)
			}
			if p == vm.MountPath {
				mounted[p] = true
			}
		}
	}
	for _, p := range []string{"/sys/kernel/btf", "/sys/fs/cgroup"} {
		if !mounted[p] {
			t.Errorf("%s is not mounted from the host at the same path", p)
		}
	}
	nodeName := false
	for _, e := range c.Env {
		if e.Name == "K8S_NODE_NAME" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "spec.nodeName" {
			nodeName = true
		}
	}
	if !nodeName {
		t.Error("K8S_NODE_NAME does not come from spec.nodeName")
	}
	if !slices.ContainsFunc(pod.Volumes, func(v corev1.Volume) bool {
		return v.ConfigMap != nil && v.ConfigMap.Name == "otelcol-linnix-agent"
	}) {
		t.Error("the agent does not mount its ConfigMap")
	}
	if pod.ServiceAccountName == "" || !slices.ContainsFunc(m.serviceAccounts, func(sa corev1.ServiceAccount) bool { return sa.Name == pod.ServiceAccountName }) {
		t.Errorf("service account %q is not defined", pod.ServiceAccountName)
	}
}

func TestAgentConfigSendsToTheGatewayService(t *testing.T) {
	m := loadManifests(t)
	cm, ok := m.configMaps["otelcol-linnix-agent"]
	if !ok {
		t.Fatal("no otelcol-linnix-agent ConfigMap")
	}
	path := filepath.Join(t.TempDir(), "agent.yaml")
	if err := os.WriteFile(path, []byte(cm.Data["config.yaml"]), 0o644); err != nil {
		t.Fatal(err)
	}
	validateConfig(t, path, "K8S_NODE_NAME=node-1")
	cfg := parseCollectorConfig(t, []byte(cm.Data["config.yaml"]))
	for _, name := range []string{"logs", "metrics"} {
		p := cfg.Service.Pipelines[name]
		if !slices.Equal(p.Receivers, []string{"ebpfprocess"}) || !contains(p.Processors, "incident") ||
			!contains(p.Processors, "resource") || !slices.Equal(p.Exporters, []string{"otlp_grpc"}) {
			t.Errorf("%s pipeline %+v, want ebpfprocess -> incident, resource -> otlp_grpc", name, p)
		}
	}
	attrs, _ := lookup(cfg.Processors, "resource", "attributes").([]any)
	if !slices.ContainsFunc(attrs, func(a any) bool {
		return lookup(a, "key") == "host.name" && lookup(a, "value") == "${env:K8S_NODE_NAME}"
	}) {
		t.Error("host.name is not set from K8S_NODE_NAME")
	}
	endpoint, _ := lookup(cfg.Exporters, "otlp_grpc", "endpoint").(string)
	if len(m.services) != 1 {
		t.Fatalf("%d Services, want the gateway's", len(m.services))
	}
	svc := m.services[0]
	if want := svc.Name + "." + svc.Namespace + ".svc.cluster.local:4317"; endpoint != want {
		t.Errorf("agent exports to %q, want %q", endpoint, want)
	}
	if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Port == 4317 }) {
		t.Error("the gateway Service has no port 4317")
	}
}

func TestGatewayServiceSelectsTheGatewayAndItsConfigParses(t *testing.T) {
	m := loadManifests(t)
	if len(m.deployments) != 1 || len(m.services) != 1 {
		t.Fatalf("%d Deployments and %d Services, want one of each", len(m.deployments), len(m.services))
	}
	dep, svc := m.deployments[0], m.services[0]
	labels := dep.Spec.Template.Labels
	for k, v := range svc.Spec.Selector {
		if labels[k] != v {
			t.Errorf("Service selects %s=%s; the gateway's pods have %s=%q", k, v, k, labels[k])
		}
	}
	for k, v := range dep.Spec.Selector.MatchLabels {
		if labels[k] != v {
			t.Errorf("Deployment selector %s=%s does not match its template", k, v)
		}
	}
	c := dep.Spec.Template.Spec.Containers[0]
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	for _, p := range svc.Spec.Ports {
		if ports[p.TargetPort.String()] != p.Port {
			t.Errorf("Service port %d targets %s, which the gateway does not serve on %d", p.Port, p.TargetPort.String(), p.Port)
		}
	}
	sc := c.SecurityContext
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.Capabilities == nil ||
		len(sc.Capabilities.Add) != 0 || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Error("the gateway loads no BPF: it must drop every capability and not escalate")
	}
	if c.Resources.Limits.Memory().IsZero() || c.Resources.Requests.Cpu().IsZero() {
		t.Error("gateway resources unset")
	}
	cm, ok := m.configMaps["otelcol-linnix-gateway"]
	if !ok {
		t.Fatal("no otelcol-linnix-gateway ConfigMap")
	}
	path := filepath.Join(t.TempDir(), "gateway.yaml")
	if err := os.WriteFile(path, []byte(cm.Data["config.yaml"]), 0o644); err != nil {
		t.Fatal(err)
	}
	validateConfig(t, path)
	cfg := parseCollectorConfig(t, []byte(cm.Data["config.yaml"]))
	if p := cfg.Service.Pipelines["metrics"]; !slices.Equal(p.Receivers, []string{"otlp"}) || !contains(p.Exporters, "prometheus") {
		t.Errorf("metrics pipeline %+v, want otlp -> prometheus", p)
	}
	if p := cfg.Service.Pipelines["logs"]; !slices.Equal(p.Receivers, []string{"otlp"}) || !contains(p.Exporters, "otlp_http/loki") {
		t.Errorf("logs pipeline %+v, want otlp -> otlp_http/loki", p)
	}
}
