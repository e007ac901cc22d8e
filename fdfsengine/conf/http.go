package conf

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// HTTPParams is http.conf, as fdfs_http_params_load (common/
// fdfs_http_shared.c) reads it for fastdfs-nginx-module.
type HTTPParams struct {
	Disabled            bool // http.disabled: nothing else is read
	NeedFindContentType bool // http.need_find_content_type
	MultiRangeEnabled   bool // http.multi_range.enabled
	ServerPort          int  // http.server_port (default 80)
	AntiStealCheckToken bool // http.anti_steal.check_token
	// MimeTypesFilename and DefaultContentType are required when any of
	// NeedFindContentType, AntiStealCheckToken or MultiRangeEnabled is set.
	MimeTypesFilename  string // relative values are joined to the conf file's dir
	DefaultContentType string
	// The token settings are read only when AntiStealCheckToken is set
	// (zero otherwise, as upstream); TokenTTL must then be > 0 and SecretKey
	// not empty.
	TokenTTL       time.Duration
	SecretKey      string
	TokenCheckFail string // a file sent instead of a refused download
}

// ModFastDFS is fastdfs-nginx-module's mod_fastdfs.conf (usually
// /etc/fdfs/mod_fastdfs.conf, which #includes http.conf), as the module's
// fdfs_mod_init reads it.
type ModFastDFS struct {
	BasePath                      string
	ConnectTimeout                time.Duration
	NetworkTimeout                time.Duration
	LoadFDFSParametersFromTracker bool
	TrackerServers                []string // read when LoadFDFSParametersFromTracker
	// Read when !LoadFDFSParametersFromTracker (else the tracker's values
	// apply).
	StorageSyncFileMaxDelay time.Duration
	UseStorageID            bool
	StorageIDsFilename      string

	// The single-group settings (GroupCount == 0).
	StorageServerPort int
	GroupName         string
	StorePathCount    int
	StorePaths        []string
	StorePathReadonly []bool
	// GroupCount > 0: the groups of the [group1] ... [groupN] sections.
	GroupCount int
	Groups     []ModGroup

	URLHaveGroupName bool
	LogLevel         string
	LogFilename      string
	ResponseMode     string // "proxy" | "redirect"
	IfAliasPrefix    string
	FLVSupport       bool
	FLVExtension     string // read when FLVSupport
	HTTP             HTTPParams

	Raw *File
}

// ModGroup is one [groupN] section of mod_fastdfs.conf.
type ModGroup struct {
	GroupName         string
	StorageServerPort int
	StorePathCount    int
	StorePaths        []string
	StorePathReadonly []bool
}

// LoadModFastDFS reads mod_fastdfs.conf at path.
func LoadModFastDFS(path string) (*ModFastDFS, error) {
	f, err := LoadFile(path)
	if err != nil {
		return nil, err
	}
	return modFromFile(f)
}

// ParseModFastDFS parses mod_fastdfs.conf content; includes and relative
// paths resolve against dir.
func ParseModFastDFS(data []byte, dir string) (*ModFastDFS, error) {
	f, err := ParseFile(data, dir)
	if err != nil {
		return nil, err
	}
	return modFromFile(f)
}

func modFromFile(f *File) (*ModFastDFS, error) {
	r := &reader{f: f}
	m := &ModFastDFS{Raw: f}
	gc := r.at("group_count")
	m.GroupCount = gc.intValue(0, formInt+" >= 0")
	if m.GroupCount < 0 {
		gc.fail(formInt+" >= 0", "%d < 0", m.GroupCount)
	}
	m.URLHaveGroupName = r.at("url_have_group_name").boolean(false)
	m.BasePath = filepath.Clean(r.at("base_path").str(""))
	if m.BasePath == "." {
		m.BasePath = ""
	}
	if m.GroupCount > 0 {
		if !m.URLHaveGroupName {
			r.at("url_have_group_name").fail("true when group_count > 0", "must be true to serve several groups")
		}
		for i := 1; i <= m.GroupCount && r.err == nil; i++ {
			sec := fmt.Sprintf("group%d", i)
			var g ModGroup
			gn := r.in(sec, "group_name", false)
			if gn.value() == "" {
				gn.fail("a group name", "missing or empty (required in [%s])", sec)
			}
			g.GroupName = gn.value()
			g.StorageServerPort = r.in(sec, "storage_server_port", false).intValue(DefaultStoragePort, formInt)
			g.StorePathCount, g.StorePaths, g.StorePathReadonly = r.modStorePaths(sec, "")
			m.Groups = append(m.Groups, g)
		}
	} else {
		gn := r.at("group_name")
		if gn.value() == "" {
			gn.fail("a group name", "missing or empty (required when group_count is 0)")
		}
		m.GroupName = gn.value()
		if m.BasePath == "" {
			r.basePath()
		}
		m.StorePathCount, m.StorePaths, m.StorePathReadonly = r.modStorePaths("", m.BasePath)
	}
	m.ConnectTimeout = r.at("connect_timeout").posSeconds(defaultConnectTimeout)
	m.NetworkTimeout = r.at("network_timeout").posSeconds(defaultNetworkTimeout)
	m.LogLevel = r.at("log_level").logLevel()
	m.LogFilename = r.at("log_filename").str("")
	m.StorageServerPort = r.at("storage_server_port").intValue(DefaultStoragePort, formInt)
	m.HTTP = r.httpParams(confDir(f), true)
	m.ResponseMode = r.responseMode()
	m.IfAliasPrefix = r.at("if_alias_prefix").str("")
	m.LoadFDFSParametersFromTracker = r.at("load_fdfs_parameters_from_tracker").boolean(false)
	m.StorageSyncFileMaxDelay = 86400 * time.Second
	if m.LoadFDFSParametersFromTracker {
		m.TrackerServers = r.trackerServers(false)
	} else {
		m.StorageSyncFileMaxDelay = r.at("storage_sync_file_max_delay").seconds(86400, formInt+" of seconds")
		m.UseStorageID = r.at("use_storage_id").boolean(false)
		if m.UseStorageID {
			m.StorageIDsFilename = r.storageIDsFilename()
		}
	}
	m.FLVSupport = r.at("flv_support").boolean(false)
	if m.FLVSupport {
		m.FLVExtension = r.at("flv_extension").str("flv")
	}
	if r.err != nil {
		return nil, r.err
	}
	return m, nil
}

// modStorePaths is storage_load_paths_from_conf_file_ex for section:
// store_path0 defaults to base (required when base is "").
func (r *reader) modStorePaths(section, base string) (int, []string, []bool) {
	cnt := r.in(section, "store_path_count", false)
	n := cnt.intValue(1, "1 to 256")
	if n <= 0 || n > MaxStorePaths {
		cnt.fail("1 to 256", "%d is out of range", n)
		return 0, nil, nil
	}
	paths, ro := make([]string, n), make([]bool, n)
	for i := range n {
		key := fmt.Sprintf("store_path%d", i)
		it := r.in(section, key, false)
		switch {
		case !it.present() && i == 0 && base != "":
			paths[i] = base
		case !it.present():
			it.fail("a directory", "missing (store_path_count is %d)", n)
		case it.value() == "":
			it.fail("a directory", "empty")
		default:
			paths[i] = filepath.Clean(it.value())
		}
		ro[i] = r.in(section, key+"_readonly", false).boolean(false)
	}
	return n, paths, ro
}

// responseMode is the module's response_mode: exactly "redirect", else
// proxy.
func (r *reader) responseMode() string {
	it := r.at("response_mode")
	switch v := it.value(); {
	case v == "redirect":
		return "redirect"
	case it.present() && v != "proxy":
		it.warn("%q is not redirect: proxy is used (accepted: proxy, redirect)", v)
	}
	return "proxy"
}

// httpParams is fdfs_http_params_load. strict (the module) requires the
// mime types file, the default content type, and an existing
// token_check_fail file, as upstream; the storage's own HTTP server does
// not need them.
func (r *reader) httpParams(dir string, strict bool) HTTPParams {
	var h HTTPParams
	h.Disabled = r.at("http.disabled").boolean(false)
	if h.Disabled {
		return h
	}
	h.NeedFindContentType = r.at("http.need_find_content_type").boolean(true)
	h.MultiRangeEnabled = r.at("http.multi_range.enabled").boolean(true)
	if strict {
		port := r.at("http.server_port")
		h.ServerPort = port.intValue(80, "a port number 1..65535")
		if h.ServerPort <= 0 || h.ServerPort > 65535 {
			port.fail("a port number 1..65535", "%d is out of range", h.ServerPort)
		}
	}
	h.AntiStealCheckToken = r.at("http.anti_steal.check_token").boolean(false)
	mime := r.at("http.mime_types_filename")
	h.MimeTypesFilename = relPath(dir, mime.value())
	ct := r.at("http.default_content_type")
	h.DefaultContentType = ct.value()
	if strict && (h.NeedFindContentType || h.AntiStealCheckToken || h.MultiRangeEnabled) {
		if mime.value() == "" {
			mime.fail("a mime.types file, absolute or relative to this file", "missing or empty")
		}
		if ct.value() == "" {
			ct.fail("a content type such as application/octet-stream", "missing or empty")
		}
	}
	if strict && !h.AntiStealCheckToken {
		return h // upstream reads the token settings only when they are used
	}
	ttl := r.at("http.anti_steal.token_ttl")
	n := ttl.intValue(600, formInt+" of seconds > 0")
	if n <= 0 {
		if h.AntiStealCheckToken {
			ttl.fail(formInt+" of seconds > 0", "%d is not > 0", n)
		}
		n = 600
	}
	h.TokenTTL = time.Duration(n) * time.Second
	key := r.at("http.anti_steal.secret_key")
	h.SecretKey = key.value()
	if h.AntiStealCheckToken && h.SecretKey == "" {
		key.fail("a secret", "missing or empty (required when http.anti_steal.check_token is true)")
	}
	fail := r.at("http.anti_steal.token_check_fail")
	h.TokenCheckFail = fail.value()
	if strict && h.AntiStealCheckToken && h.TokenCheckFail != "" {
		if _, err := os.Stat(h.TokenCheckFail); err != nil {
			fail.fail("an existing file, or empty", "%v", err)
		}
	}
	return h
}

// LoadHTTP reads an http.conf on its own (it is normally #included by
// mod_fastdfs.conf or storage.conf).
func LoadHTTP(path string) (*HTTPParams, error) {
	f, err := LoadFile(path)
	if err != nil {
		return nil, err
	}
	r := &reader{f: f}
	h := r.httpParams(confDir(f), true)
	if r.err != nil {
		return nil, r.err
	}
	return &h, nil
}
