// Package clients runs the clients in other languages of docs/clients.md
// against a real cluster (tests/cluster) behind a real gateway on loopback
// ports: the Node.js gRPC example (examples/node/grpc_client.js, protos from
// the descriptor set and from the .proto files), the Python gRPC example
// (examples/python/grpc_client.py with Debian's python3-grpcio, from the
// descriptor set and from protoc-generated modules when protoc is there), and
// a typed REST client that openapi-typescript generates from
// openapi/fastdfs.openapi3.json (examples/node/rest_client.ts, built by tsc).
// Each uploads, downloads, reads metadata and deletes a file, and decodes the
// error of a missing file.
//
// The npm packages come from examples/node/package-lock.json and the Debian
// packages from scripts/client-deps.sh, both run by scripts/test.sh.
package clients
