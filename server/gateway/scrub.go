package gateway

import (
	"context"
	"net"
	"strconv"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/server/metrics"
)

// scrubSamples returns the scrub reports of every ACTIVE storage of every
// group, for the metrics; a storage that does not answer is left out
// (and logged at debug level).
func (g *Gateway) scrubSamples(ctx context.Context) []metrics.ScrubSample {
	groups, err := g.cl.ListGroups(ctx)
	if err != nil {
		g.log.Debug("scrub metrics: listing groups failed", "err", err)
		return nil
	}
	var out []metrics.ScrubSample
	for _, gs := range groups {
		storages, err := g.cl.ListStorages(ctx, gs.Name, "")
		if err != nil {
			g.log.Debug("scrub metrics: listing storages failed", "group", gs.Name, "err", err)
			continue
		}
		for _, st := range storages {
			if st.Status != protocol.StatusActive {
				continue
			}
			addr := net.JoinHostPort(st.IP, strconv.FormatInt(st.StoragePort, 10))
			r, err := g.cl.Scrub(ctx, addr, &protocol.ScrubRequest{Group: gs.Name})
			if err != nil {
				g.log.Debug("scrub metrics: storage did not answer", "storage", addr, "err", err)
				continue
			}
			out = append(out, metrics.ScrubSample{Group: gs.Name, Storage: st.ID, Passes: r.Passes, Files: r.Files,
				Bytes: r.Bytes, Corrupt: r.Corrupt, Missing: r.Missing, Repaired: r.Repaired, Unrepaired: r.Unrepaired})
		}
	}
	return out
}
