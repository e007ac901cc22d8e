package conf

import "strings"

// clientFromFile follows fdfs_client_do_init_ex (client/client_func.c).
func clientFromFile(f *File) (*Client, error) {
	r := &reader{f: f}
	c := &Client{Raw: f}
	// base_path only locates client log files; upstream uses /tmp when it
	// is absent.
	c.BasePath = "/tmp"
	if b := r.at("base_path"); b.present() {
		c.BasePath = b.value()
		if c.BasePath != "/" {
			c.BasePath = strings.TrimRight(c.BasePath, "/")
		}
	}
	c.ConnectTimeout = r.at("connect_timeout").posSeconds(defaultConnectTimeout)
	c.NetworkTimeout = r.at("network_timeout").posSeconds(defaultNetworkTimeout)
	c.TrackerServers = r.trackerServers(false)
	c.HTTPAntiStealCheckToken = r.at("http.anti_steal.check_token").boolean(false)
	if c.HTTPAntiStealCheckToken {
		key := r.at("http.anti_steal.secret_key")
		if key.value() == "" {
			key.fail("a secret", "missing or empty (required when http.anti_steal.check_token is true)")
		}
		c.HTTPAntiStealSecretKey = key.value()
	}
	c.UseConnectionPool, c.ConnectionPoolMaxIdleTime = r.connectionPool()
	c.LoadFDFSParametersFromTracker = r.at("load_fdfs_parameters_from_tracker").boolean(false)
	c.StorageIDsFilename = relPath(confDir(f), r.at("storage_ids_filename").str("storage_ids.conf"))
	if !c.LoadFDFSParametersFromTracker {
		c.UseStorageID = r.at("use_storage_id").boolean(false)
		if c.UseStorageID {
			c.StorageIDsFilename = r.storageIDsFilename()
		}
	}
	// Upstream: a value starting with "last" (case-insensitive) means
	// last-connected, anything else tracker.
	c.ConnectFirstBy = "tracker"
	if by := r.at("connect_first_by"); by.present() {
		switch v := by.value(); {
		case len(v) >= 4 && strings.EqualFold(v[:4], "last"):
			c.ConnectFirstBy = "last-connected"
		case !strings.EqualFold(v, "tracker"):
			by.warn("%q: tracker is used (accepted: tracker, last-connected)", v)
		}
	}
	c.LogLevel = r.at("log_level").logLevel()
	if r.err != nil {
		return nil, r.err
	}
	return c, nil
}
