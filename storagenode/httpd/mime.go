package httpd

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// defaultMimeTypes is the extension table nginx ships in conf/mime.types
// (the common part of it), so that a site moving from nginx keeps its
// Content-Type headers.
var defaultMimeTypes = map[string]string{
	"html": "text/html", "htm": "text/html", "shtml": "text/html",
	"css": "text/css", "xml": "text/xml", "gif": "image/gif",
	"jpeg": "image/jpeg", "jpg": "image/jpeg", "js": "application/javascript",
	"atom": "application/atom+xml", "rss": "application/rss+xml",
	"mml": "text/mathml", "txt": "text/plain", "jad": "text/vnd.sun.j2me.app-descriptor",
	"wml": "text/vnd.wap.wml", "htc": "text/x-component",
	"avif": "image/avif", "png": "image/png", "svg": "image/svg+xml", "svgz": "image/svg+xml",
	"tif": "image/tiff", "tiff": "image/tiff", "wbmp": "image/vnd.wap.wbmp",
	"webp": "image/webp", "ico": "image/x-icon", "jng": "image/x-jng", "bmp": "image/x-ms-bmp",
	"woff": "font/woff", "woff2": "font/woff2",
	"jar": "application/java-archive", "war": "application/java-archive", "ear": "application/java-archive",
	"json": "application/json", "hqx": "application/mac-binhex40", "doc": "application/msword",
	"pdf": "application/pdf", "ps": "application/postscript", "eps": "application/postscript",
	"ai": "application/postscript", "rtf": "application/rtf", "m3u8": "application/vnd.apple.mpegurl",
	"kml": "application/vnd.google-earth.kml+xml", "kmz": "application/vnd.google-earth.kmz",
	"xls": "application/vnd.ms-excel", "eot": "application/vnd.ms-fontobject",
	"ppt": "application/vnd.ms-powerpoint", "odg": "application/vnd.oasis.opendocument.graphics",
	"odp":  "application/vnd.oasis.opendocument.presentation",
	"ods":  "application/vnd.oasis.opendocument.spreadsheet",
	"odt":  "application/vnd.oasis.opendocument.text",
	"pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	"wmlc": "application/vnd.wap.wmlc", "wasm": "application/wasm", "7z": "application/x-7z-compressed",
	"cco": "application/x-cocoa", "jardiff": "application/x-java-archive-diff",
	"jnlp": "application/x-java-jnlp-file", "run": "application/x-makeself",
	"pl": "application/x-perl", "pm": "application/x-perl", "prc": "application/x-pilot",
	"pdb": "application/x-pilot", "rar": "application/x-rar-compressed",
	"rpm": "application/x-redhat-package-manager", "sea": "application/x-sea",
	"swf": "application/x-shockwave-flash", "sit": "application/x-stuffit", "tcl": "application/x-tcl",
	"tk": "application/x-tcl", "der": "application/x-x509-ca-cert", "pem": "application/x-x509-ca-cert",
	"crt": "application/x-x509-ca-cert", "xpi": "application/x-xpinstall", "xhtml": "application/xhtml+xml",
	"xspf": "application/xspf+xml", "zip": "application/zip",
	"bin": "application/octet-stream", "exe": "application/octet-stream", "dll": "application/octet-stream",
	"deb": "application/octet-stream", "dmg": "application/octet-stream", "iso": "application/octet-stream",
	"img": "application/octet-stream", "msi": "application/octet-stream", "msp": "application/octet-stream",
	"msm": "application/octet-stream",
	"mid": "audio/midi", "midi": "audio/midi", "kar": "audio/midi", "mp3": "audio/mpeg",
	"ogg": "audio/ogg", "m4a": "audio/x-m4a", "ra": "audio/x-realaudio",
	"3gpp": "video/3gpp", "3gp": "video/3gpp", "ts": "video/mp2t", "mp4": "video/mp4",
	"mpeg": "video/mpeg", "mpg": "video/mpeg", "mov": "video/quicktime", "webm": "video/webm",
	"flv": "video/x-flv", "m4v": "video/x-m4v", "mng": "video/x-mng", "asx": "video/x-ms-asf",
	"asf": "video/x-ms-asf", "wmv": "video/x-ms-wmv", "avi": "video/x-msvideo",
}

// loadMimeTypes reads an nginx-style mime.types file ("types { type ext ext; ... }")
// and returns the table merged over the defaults.
func loadMimeTypes(path string) (map[string]string, error) {
	out := make(map[string]string, len(defaultMimeTypes))
	for k, v := range defaultMimeTypes {
		out[k] = v
	}
	if path == "" {
		return out, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("mime types: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(line), ";"))
		fields := strings.Fields(line)
		if len(fields) < 2 || !strings.Contains(fields[0], "/") {
			continue
		}
		for _, ext := range fields[1:] {
			out[strings.ToLower(ext)] = fields[0]
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("mime types %s: %w", path, err)
	}
	return out, nil
}
