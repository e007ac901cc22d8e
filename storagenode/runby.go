package storagenode

import (
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/internal/runas"
	"github.com/fdfsgo/fdfs/storagenode/trunk"
)

// RunByLayout is what the storage of cfg writes, for a daemon that
// switches to run_by_user / run_by_group at start (internal/runas): as
// upstream, base_path/data with data/sync, base_path/logs and each store
// path's data directory are made before the switch and given to that
// user; the 65,536 data/HH/LL directories are made after it, by that user.
func RunByLayout(cfg *conf.Storage) runas.Layout {
	base := filepath.Clean(cfg.BasePath)
	data := filepath.Join(base, "data")
	syncDir, trunkDir := filepath.Join(data, "sync"), filepath.Dir(trunk.BinlogPath(base))
	l := runas.Layout{
		Roots: []string{base},
		Make:  []string{base, syncDir, filepath.Join(base, "logs")},
		Write: []string{base, data, syncDir, trunkDir},
		State: []string{data, syncDir, trunkDir},
	}
	for _, p := range cfg.StorePaths {
		p = filepath.Clean(strings.TrimRight(p, "/"))
		if !slices.Contains(l.Roots, p) {
			l.Roots = append(l.Roots, p)
		}
		l.Make = append(l.Make, p, filepath.Join(p, "data"))
		l.Write = append(l.Write, filepath.Join(p, "data"), filepath.Join(p, "data", "00", "00"))
	}
	return l
}

// ListenAddrs lists what the storage of cfg listens on (the service port,
// the HTTP downloads, metrics_listen), for a daemon that binds them before
// it switches user (internal/prebind), as upstream's does.
func ListenAddrs(cfg *conf.Storage) []string {
	addrs := []string{serviceAddr(cfg)}
	if a := httpAddr(cfg); a != "" {
		addrs = append(addrs, a)
	}
	if cfg.MetricsListen != "" {
		addrs = append(addrs, cfg.MetricsListen)
	}
	return addrs
}

// serviceAddr is bind_addr:port, the storage protocol's address.
func serviceAddr(cfg *conf.Storage) string {
	return net.JoinHostPort(cfg.BindAddr, strconv.Itoa(cfg.Port))
}
