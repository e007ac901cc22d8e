// Package httpd serves a storage server's files over HTTP the way
// fastdfs-nginx-module does on upstream deployments: GET and HEAD of
// /<group>/Mxx/HH/LL/<name> (or /Mxx/... when url_have_group_name is false),
// Content-Type from the extension, Range (single and multiple: at most
// httpfast.MaxRanges, else the whole file, with overlapping and adjacent
// ranges coalesced), conditional requests, anti-steal tokens (checked on
// every request, proxied ones included), and proxy or redirect to the
// source storage for a file that has not been replicated here yet.
//
// Every path goes through fileid.Parse and Check, so a request can never
// name a file outside the store paths.
package httpd
