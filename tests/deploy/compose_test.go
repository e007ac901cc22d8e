package deploy

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/server/config"
)

// TestCompose loads deploy/compose/compose.yaml with compose-go (the
// loader docker compose uses, which validates against the compose-spec
// schema), then checks what makes the cluster work: each service at a
// fixed address of the network's subnet, and conf files, mounted from
// the repository, that the daemons load and that agree with those
// addresses.
func TestCompose(t *testing.T) {
	p, err := loadCompose(readFile(t, deployPath("compose", "compose.yaml")))
	if err != nil {
		t.Fatalf("compose-go: %v", err)
	}
	net := p.Networks["fdfs"]
	if net.Ipam.Config == nil || len(net.Ipam.Config) != 1 {
		t.Fatalf("network fdfs: want one IPAM subnet, got %+v", net.Ipam)
	}
	subnet, err := netip.ParsePrefix(net.Ipam.Config[0].Subnet)
	if err != nil {
		t.Fatal(err)
	}
	ips := map[string]string{}
	mounts := map[string]string{} // service → host path of its conf file
	for name, s := range p.Services {
		n := s.Networks["fdfs"]
		if n == nil || n.Ipv4Address == "" {
			t.Errorf("service %s has no fixed ipv4_address: its address would change with each recreate", name)
			continue
		}
		if a, err := netip.ParseAddr(n.Ipv4Address); err != nil || !subnet.Contains(a) {
			t.Errorf("service %s: ipv4_address %s not in %s", name, n.Ipv4Address, subnet)
		}
		ips[name] = n.Ipv4Address
		if s.Build == nil || s.Build.Dockerfile != "deploy/docker/Dockerfile" {
			t.Errorf("service %s: build %+v, want deploy/docker/Dockerfile", name, s.Build)
		} else if _, err := os.Stat(filepath.Join(s.Build.Context, s.Build.Dockerfile)); err != nil {
			t.Errorf("service %s: %v", name, err)
		}
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeBind {
				if _, err := os.Stat(v.Source); err != nil {
					t.Errorf("service %s mounts %s: %v", name, v.Source, err)
				}
				mounts[name] = v.Source
			}
		}
	}
	checkComposeConfs(t, ips, mounts)
}

// loadCompose loads content as deploy/compose/compose.yaml.
func loadCompose(content []byte) (*types.Project, error) {
	dir := deployPath("compose")
	return loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(dir, "compose.yaml"), Content: content}},
		Environment: types.Mapping{"FDFS_API_KEY": testAPIKey},
	}, func(o *loader.Options) { o.SetProjectName("fdfs", true) })
}

// TestComposeSchema checks that the loader does reject what the schema
// forbids, so TestCompose's pass means something.
func TestComposeSchema(t *testing.T) {
	good := string(readFile(t, deployPath("compose", "compose.yaml")))
	for _, tc := range []struct{ name, from, to string }{
		{"misspelt key", "ipv4_address: 172.28.0.11", "ipv4_adress: 172.28.0.11"},
		{"bad restart policy type", "restart: unless-stopped", "restart: [always]"},
		{"unknown top-level key", "volumes:\n  tracker-data:", "volumez:\n  tracker-data:"},
	} {
		bad := strings.Replace(good, tc.from, tc.to, 1)
		if bad == good {
			t.Fatalf("%s: %q not in compose.yaml", tc.name, tc.from)
		}
		if _, err := loadCompose([]byte(bad)); err == nil {
			t.Errorf("%s: compose-go accepted it", tc.name)
		}
	}
}

// checkComposeConfs loads each mounted conf file with the daemon's loader
// and checks its addresses against the compose file's.
func checkComposeConfs(t *testing.T, ips, mounts map[string]string) {
	tracker := net.JoinHostPort(ips["tracker"], "22122")
	tc, err := conf.LoadTracker(mounts["tracker"])
	if err != nil {
		t.Fatal(err)
	}
	if tc.BindAddr != ips["tracker"] || tc.MetricsListen != net.JoinHostPort(ips["tracker"], "9101") {
		t.Errorf("tracker.conf: bind_addr %s metrics_listen %s; the service is at %s", tc.BindAddr, tc.MetricsListen, ips["tracker"])
	}
	for _, name := range []string{"storage1", "storage2"} {
		sc, err := conf.LoadStorage(mounts[name])
		if err != nil {
			t.Fatal(err)
		}
		if sc.BindAddr != ips[name] || len(sc.TrackerServers) != 1 || sc.TrackerServers[0] != tracker ||
			sc.MetricsListen != net.JoinHostPort(ips[name], "9101") {
			t.Errorf("%s conf: bind_addr %s tracker_server %v metrics_listen %s; want %s and tracker %s",
				name, sc.BindAddr, sc.TrackerServers, sc.MetricsListen, ips[name], tracker)
		}
	}
	t.Setenv("FDFS_API_KEY", testAPIKey)
	gc, err := config.Load(mounts["gateway"])
	if err != nil {
		t.Fatal(err)
	}
	if len(gc.Trackers) != 1 || gc.Trackers[0] != tracker || !gc.Console {
		t.Errorf("gateway.yaml: trackers %v console %v; want [%s] and the console on", gc.Trackers, gc.Console, tracker)
	}
}
