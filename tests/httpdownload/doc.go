// Package httpdownload tests the storage servers' HTTP downloads (what
// fastdfs-nginx-module does upstream) against a running cluster: real
// uploads through the FastDFS protocol, real HTTP requests to the storages.
package httpdownload
