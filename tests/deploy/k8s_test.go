package deploy

import (
	"bytes"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/server/config"
)

// namespace every namespaced object of deploy/k8s lives in.
const namespace = "fdfs"

// externalSecrets are created by the operator (deploy/k8s/gateway.yaml
// says how), not shipped.
var externalSecrets = map[string][]string{"fdfs-gateway": {"api-key"}}

// manifests are the objects of deploy/k8s by kind.
type manifests struct {
	namespaces     []*corev1.Namespace
	configMaps     map[string]*corev1.ConfigMap
	services       []*corev1.Service
	statefulSets   []*appsv1.StatefulSet
	deployments    []*appsv1.Deployment
	volumes        []*corev1.PersistentVolume
	storageClasses map[string]*storagev1.StorageClass
}

// decodeStrict decodes one document into the API type of its kind,
// refusing unknown or misplaced fields and values of the wrong type (the
// types are those the API server's schema is generated from).
func (m *manifests) decodeStrict(doc []byte) (string, error) {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return "", err
	}
	var obj any
	switch head.APIVersion + " " + head.Kind {
	case "v1 Namespace":
		o := &corev1.Namespace{}
		m.namespaces, obj = append(m.namespaces, o), o
	case "v1 ConfigMap":
		o := &corev1.ConfigMap{}
		obj = o
		defer func() { m.configMaps[o.Name] = o }()
	case "v1 Service":
		o := &corev1.Service{}
		m.services, obj = append(m.services, o), o
	case "v1 PersistentVolume":
		o := &corev1.PersistentVolume{}
		m.volumes, obj = append(m.volumes, o), o
	case "apps/v1 StatefulSet":
		o := &appsv1.StatefulSet{}
		m.statefulSets, obj = append(m.statefulSets, o), o
	case "apps/v1 Deployment":
		o := &appsv1.Deployment{}
		m.deployments, obj = append(m.deployments, o), o
	case "storage.k8s.io/v1 StorageClass":
		o := &storagev1.StorageClass{}
		obj = o
		defer func() { m.storageClasses[o.Name] = o }()
	default:
		return "", fmt.Errorf("apiVersion %q kind %q: not a kind these tests know", head.APIVersion, head.Kind)
	}
	return head.Kind, yaml.UnmarshalStrict(doc, obj)
}

func loadManifests(t *testing.T, files []string) *manifests {
	t.Helper()
	m := &manifests{configMaps: map[string]*corev1.ConfigMap{}, storageClasses: map[string]*storagev1.StorageClass{}}
	for _, f := range files {
		for i, doc := range bytes.Split(readFile(t, f), []byte("\n---\n")) {
			kind, err := m.decodeStrict(doc)
			if err != nil {
				t.Errorf("%s document %d (%s): %v", filepath.Base(f), i+1, kind, err)
			}
		}
	}
	return m
}

// TestKubernetesManifests validates every document of deploy/k8s, then
// what holds the cluster together: Services and StatefulSets that find
// each other, ports and volumes that exist, storage classes that exist,
// the host network that keeps each daemon's IP, and conf files the
// daemons load with metrics ports matching the probes.
func TestKubernetesManifests(t *testing.T) {
	files, err := filepath.Glob(deployPath("k8s", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("deploy/k8s: %v", err)
	}
	m := loadManifests(t, files)
	if t.Failed() {
		return
	}
	if len(m.statefulSets) != 2 || len(m.deployments) != 1 {
		t.Fatalf("%d StatefulSets and %d Deployments; want tracker and storage, gateway", len(m.statefulSets), len(m.deployments))
	}
	for _, s := range m.statefulSets {
		m.checkStatefulSet(t, s)
	}
	for _, d := range m.deployments {
		m.checkPodSpec(t, "Deployment "+d.Name, d.Namespace, d.Spec.Selector.MatchLabels, d.Spec.Template, nil)
	}
	for _, s := range m.services {
		m.checkService(t, s)
	}
	for _, v := range m.volumes {
		if m.storageClasses[v.Spec.StorageClassName] == nil {
			t.Errorf("PersistentVolume %s: storage class %q not defined", v.Name, v.Spec.StorageClassName)
		}
	}
	m.checkConfs(t)
}

func (m *manifests) checkStatefulSet(t *testing.T, s *appsv1.StatefulSet) {
	t.Helper()
	what := "StatefulSet " + s.Name
	var svc *corev1.Service
	for _, c := range m.services {
		if c.Name == s.Spec.ServiceName && c.Namespace == s.Namespace {
			svc = c
		}
	}
	if svc == nil || svc.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("%s: serviceName %q is not a headless Service of the manifests", what, s.Spec.ServiceName)
	}
	ps := s.Spec.Template.Spec
	// FastDFS knows storages and trackers by IP: the pod keeps its node's.
	if !ps.HostNetwork || ps.DNSPolicy != corev1.DNSClusterFirstWithHostNet {
		t.Errorf("%s: hostNetwork %v dnsPolicy %q; want the host network (stable IPs) with ClusterFirstWithHostNet", what, ps.HostNetwork, ps.DNSPolicy)
	}
	claims := map[string]bool{}
	for _, c := range s.Spec.VolumeClaimTemplates {
		claims[c.Name] = true
		if c.Spec.StorageClassName == nil || m.storageClasses[*c.Spec.StorageClassName] == nil {
			t.Errorf("%s: claim %s has no storage class of the manifests", what, c.Name)
		}
	}
	m.checkPodSpec(t, what, s.Namespace, s.Spec.Selector.MatchLabels, s.Spec.Template, claims)
}

// checkPodSpec checks a workload's template: namespace, selector, ports
// named by probes, volumes and the ConfigMap keys mounted.
func (m *manifests) checkPodSpec(t *testing.T, what, ns string, selector map[string]string, tpl corev1.PodTemplateSpec, claims map[string]bool) {
	t.Helper()
	if ns != namespace {
		t.Errorf("%s: namespace %q, want %q", what, ns, namespace)
	}
	if len(selector) == 0 || !labels.SelectorFromSet(selector).Matches(labels.Set(tpl.Labels)) {
		t.Errorf("%s: selector %v does not match the template's labels %v", what, selector, tpl.Labels)
	}
	vols := map[string]corev1.Volume{}
	for _, v := range tpl.Spec.Volumes {
		vols[v.Name] = v
		if v.ConfigMap != nil && m.configMaps[v.ConfigMap.Name] == nil {
			t.Errorf("%s: volume %s: ConfigMap %q not in the manifests", what, v.Name, v.ConfigMap.Name)
		}
	}
	for _, c := range tpl.Spec.Containers {
		if c.Image == "" || len(c.Args) == 0 {
			t.Errorf("%s/%s: image %q args %v", what, c.Name, c.Image, c.Args)
		}
		ports := map[string]bool{}
		for _, p := range c.Ports {
			ports[p.Name] = true
		}
		for _, pr := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe} {
			if pr == nil {
				t.Errorf("%s/%s: a readiness and a liveness probe are needed", what, c.Name)
				continue
			}
			port := ""
			switch {
			case pr.HTTPGet != nil:
				port = pr.HTTPGet.Port.String()
			case pr.TCPSocket != nil:
				port = pr.TCPSocket.Port.String()
			}
			if !ports[port] {
				t.Errorf("%s/%s: probe port %q is not a port of the container", what, c.Name, port)
			}
		}
		for _, vm := range c.VolumeMounts {
			v, ok := vols[vm.Name]
			if !ok && !claims[vm.Name] {
				t.Errorf("%s/%s: mount %s names no volume or claim", what, c.Name, vm.Name)
			}
			if ok && v.ConfigMap != nil && vm.SubPath != "" {
				if cm := m.configMaps[v.ConfigMap.Name]; cm != nil && cm.Data[vm.SubPath] == "" {
					t.Errorf("%s/%s: ConfigMap %s has no key %q", what, c.Name, cm.Name, vm.SubPath)
				}
			}
		}
		for _, e := range c.Env {
			if r := e.ValueFrom; r != nil && r.SecretKeyRef != nil {
				if keys := externalSecrets[r.SecretKeyRef.Name]; !strings.Contains(strings.Join(keys, ","), r.SecretKeyRef.Key) {
					t.Errorf("%s/%s: env %s from unknown Secret %s/%s", what, c.Name, e.Name, r.SecretKeyRef.Name, r.SecretKeyRef.Key)
				}
			}
		}
	}
}

// checkService: its selector picks a workload whose containers have
// every named target port.
func (m *manifests) checkService(t *testing.T, s *corev1.Service) {
	t.Helper()
	var tpls []corev1.PodTemplateSpec
	for _, w := range m.statefulSets {
		tpls = append(tpls, w.Spec.Template)
	}
	for _, w := range m.deployments {
		tpls = append(tpls, w.Spec.Template)
	}
	sel := labels.SelectorFromSet(s.Spec.Selector)
	found := false
	for _, tpl := range tpls {
		if len(s.Spec.Selector) == 0 || !sel.Matches(labels.Set(tpl.Labels)) {
			continue
		}
		found = true
		names := map[string]bool{}
		for _, c := range tpl.Spec.Containers {
			for _, p := range c.Ports {
				names[p.Name] = true
			}
		}
		for _, p := range s.Spec.Ports {
			if tp := p.TargetPort.String(); !names[tp] {
				t.Errorf("Service %s: targetPort %q is not a port of its pods", s.Name, tp)
			}
		}
	}
	if !found {
		t.Errorf("Service %s: selector %v picks no workload", s.Name, s.Spec.Selector)
	}
}

// checkConfs loads the ConfigMap's conf files with the daemons' loaders;
// the metrics ports must be those the probes use.
func (m *manifests) checkConfs(t *testing.T) {
	t.Helper()
	cm := m.configMaps["fdfs-conf"]
	if cm == nil {
		t.Fatal("no ConfigMap fdfs-conf")
	}
	tc, err := conf.ParseTracker([]byte(cm.Data["tracker.conf"]), "/etc/fdfs")
	if err != nil {
		t.Fatalf("tracker.conf: %v", err)
	}
	sc, err := conf.ParseStorage([]byte(cm.Data["storage.conf"]), "/etc/fdfs")
	if err != nil {
		t.Fatalf("storage.conf: %v", err)
	}
	t.Setenv("FDFS_API_KEY", testAPIKey)
	gc, err := config.Parse([]byte(cm.Data["gateway.yaml"]), "/etc/fdfs")
	if err != nil {
		t.Fatalf("gateway.yaml: %v", err)
	}
	for _, c := range []struct{ workload, listen string }{
		{"fdfs-tracker", tc.MetricsListen}, {"fdfs-storage", sc.MetricsListen},
	} {
		_, port, _ := net.SplitHostPort(c.listen)
		if got := m.containerPort(c.workload, "metrics"); got != port {
			t.Errorf("%s: metrics_listen %q, container port metrics %q", c.workload, c.listen, got)
		}
	}
	if len(sc.TrackerServers) == 0 || len(gc.Trackers) == 0 || sc.TrackerServers[0] != gc.Trackers[0] {
		t.Errorf("storage.conf tracker_server %v and gateway.yaml trackers %v differ", sc.TrackerServers, gc.Trackers)
	}
}

func (m *manifests) containerPort(workload, name string) string {
	for _, s := range m.statefulSets {
		if s.Name != workload {
			continue
		}
		for _, c := range s.Spec.Template.Spec.Containers {
			for _, p := range c.Ports {
				if p.Name == name {
					return fmt.Sprint(p.ContainerPort)
				}
			}
		}
	}
	return ""
}

// TestKubernetesStrict checks that the decoding refuses what a schema
// validator refuses, so TestKubernetesManifests's pass means something.
func TestKubernetesStrict(t *testing.T) {
	good := string(readFile(t, deployPath("k8s", "storage.yaml")))
	for _, tc := range []struct{ name, from, to string }{
		{"misspelt field", "serviceName: fdfs-storage", "servicName: fdfs-storage"},
		{"wrong type", "replicas: 2", "replicas: two"},
		{"bad quantity", "storage: 500Gi", "storage: lots"},
		{"field at the wrong level", "hostNetwork: true", "hostNetwork: true\n      replicas: 3"},
	} {
		bad := strings.Replace(good, tc.from, tc.to, 1)
		if bad == good {
			t.Fatalf("%s: %q not in storage.yaml", tc.name, tc.from)
		}
		m := &manifests{configMaps: map[string]*corev1.ConfigMap{}, storageClasses: map[string]*storagev1.StorageClass{}}
		var errs []error
		for _, doc := range strings.Split(bad, "\n---\n") {
			if _, err := m.decodeStrict([]byte(doc)); err != nil {
				errs = append(errs, err)
			}
		}
		if len(errs) == 0 {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}
