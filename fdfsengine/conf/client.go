package conf

func clientFromFile(f *File) (*Client, error) {
	r := &reader{f: f}
	c := &Client{Raw: f}
	c.ConnectTimeout = r.posSeconds("connect_timeout", defaultTimeout)
	c.NetworkTimeout = r.posSeconds("network_timeout", defaultTimeout)
	// base_path only locates client log files, so it is optional here.
	c.BasePath = r.str("base_path", "")
	c.TrackerServers = r.trackerServers()
	if r.err == nil && len(c.TrackerServers) == 0 {
		r.fail("tracker_server", "missing (at least one is required)")
	}
	c.LogLevel = r.str("log_level", "info")
	c.ConnectFirstBy = r.oneOf("connect_first_by", "tracker", "tracker", "last-connected")
	c.UseConnectionPool = r.boolean("use_connection_pool", false)
	c.ConnectionPoolMaxIdleTime = r.posSeconds("connection_pool_max_idle_time", 3600)
	c.LoadFDFSParametersFromTracker = r.boolean("load_fdfs_parameters_from_tracker", false)
	c.UseStorageID = r.boolean("use_storage_id", false)
	c.StorageIDsFilename = relPath(confDir(f), r.str("storage_ids_filename", "storage_ids.conf"))
	c.HTTPTrackerServerPort = r.port("http.tracker_server_port", 80)
	c.HTTPAntiStealCheckToken = r.boolean("http.anti_steal.check_token", false)
	c.HTTPAntiStealSecretKey = r.str("http.anti_steal.secret_key", "")
	if r.err != nil {
		return nil, r.err
	}
	return c, nil
}
