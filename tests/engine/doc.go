// Package engine tests the client engine (fdfsengine/client) against a
// real tracker and storage server started in-process: the whole client API
// round trip, large files, the tracker's upload refusals, and the
// BenchmarkUpload*/BenchmarkDownload* figures of docs/benchmarks.md. The
// engine's own tests (fdfsengine/client) use recorded exchanges and fake
// servers only, so that the engine does not depend on the servers it talks
// to (see tests/layering).
package engine
