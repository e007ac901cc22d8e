package trackernode

import (
	"net"
	"path/filepath"
	"strconv"

	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/internal/runas"
)

// RunByLayout is what the tracker of cfg writes, for a daemon that
// switches to run_by_user / run_by_group at start (internal/runas):
// base_path/data and base_path/logs are made before the switch, as
// upstream, and given to that user; its tables and the changelog are rewritten and appended to.
func RunByLayout(cfg *conf.Tracker) runas.Layout {
	base := filepath.Clean(cfg.BasePath)
	data := filepath.Join(base, "data")
	return runas.Layout{
		Roots: []string{base},
		Make:  []string{data, filepath.Join(base, "logs")},
		Write: []string{base, data},
		State: []string{data},
	}
}

// ListenAddrs lists what the tracker of cfg listens on (the service port,
// metrics_listen), for a daemon that binds them before it switches user
// (internal/prebind), as upstream's does.
func ListenAddrs(cfg *conf.Tracker) []string {
	addrs := []string{serviceAddr(cfg)}
	if cfg.MetricsListen != "" {
		addrs = append(addrs, cfg.MetricsListen)
	}
	return addrs
}

// serviceAddr is bind_addr:port, the tracker protocol's address.
func serviceAddr(cfg *conf.Tracker) string {
	return net.JoinHostPort(cfg.BindAddr, strconv.Itoa(cfg.Port))
}
