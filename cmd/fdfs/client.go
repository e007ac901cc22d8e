package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/atomicfile"
)

// clientFlags are the connection flags every client command takes.
type clientFlags struct {
	config   string
	trackers []string
	timeout  time.Duration
}

func addClientFlags(cmd *cobra.Command, persistent bool) *clientFlags {
	f := &clientFlags{}
	fs := cmd.Flags()
	if persistent {
		fs = cmd.PersistentFlags()
	}
	fs.StringVarP(&f.config, "config", "c", "", "client.conf to read tracker_server and timeouts from")
	fs.StringArrayVarP(&f.trackers, "tracker", "t", nil, "tracker host:port (repeatable; overrides the config's tracker_server)")
	fs.DurationVar(&f.timeout, "network-timeout", 0, "per I/O step timeout (default: config's network_timeout, else 30s)")
	return f
}

// open builds a client from --tracker and/or --config.
func (f *clientFlags) open() (*client.Client, error) {
	cfg, err := f.clientConfig()
	if err != nil {
		return nil, err
	}
	return client.New(cfg)
}

// clientConfig builds the client configuration from --tracker and/or
// --config.
func (f *clientFlags) clientConfig() (client.Config, error) {
	var cfg client.Config
	if f.config != "" {
		c, err := conf.LoadClient(f.config)
		if err != nil {
			return cfg, err
		}
		cfg = client.ConfigFromConf(c)
	}
	if len(f.trackers) > 0 {
		cfg.Trackers = f.trackers
	}
	if len(cfg.Trackers) == 0 {
		return cfg, errors.New("no tracker: use --tracker host:port or --config client.conf")
	}
	if f.timeout > 0 {
		cfg.NetworkTimeout = f.timeout
	}
	return cfg, nil
}

// run opens a client and runs fn under a context cancelled by SIGINT or
// SIGTERM.
func (f *clientFlags) run(fn func(ctx context.Context, cl *client.Client) error) error {
	cl, err := f.open()
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return fn(ctx, cl)
}

// fileExt returns the extension the C client derives from a local file
// name: the text after the last '.' of the base name (truncated to 6 by
// the client engine).
func fileExt(name string) string {
	base := filepath.Base(name)
	if i := strings.LastIndexByte(base, '.'); i >= 0 {
		return base[i+1:]
	}
	return ""
}

// openRegular opens a regular file and returns it with its size.
func openRegular(name string) (*os.File, int64, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, 0, fmt.Errorf("%s is not a regular file", name)
	}
	return f, st.Size(), nil
}

// parseMeta parses "key=value" arguments.
func parseMeta(args []string) (map[string]string, error) {
	m := make(map[string]string, len(args))
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("metadata %q is not key=value", a)
		}
		m[k] = v
	}
	return m, nil
}

func newUploadCmd(use, short string, appenderDefault bool) *cobra.Command {
	var group, ext string
	var meta []string
	appender := appenderDefault
	cmd := &cobra.Command{
		Use:   use + " FILE...",
		Short: short,
		Args:  cobra.MinimumNArgs(1),
	}
	cf := addClientFlags(cmd, false)
	cmd.Flags().StringVarP(&group, "group", "g", "", "upload to this group (default: the tracker chooses)")
	cmd.Flags().StringVar(&ext, "ext", "", "file extension to use (default: from the file name)")
	cmd.Flags().StringArrayVarP(&meta, "meta", "m", nil, "metadata key=value (repeatable)")
	if !appenderDefault {
		cmd.Flags().BoolVar(&appender, "appender", false, "upload as an appender file")
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		m, err := parseMeta(meta)
		if err != nil {
			return err
		}
		return cf.run(func(ctx context.Context, cl *client.Client) error {
			for _, name := range args {
				e := ext
				if e == "" {
					e = fileExt(name)
				}
				id, err := uploadFile(ctx, cl, name, client.UploadOptions{Group: group, Ext: e, Meta: m}, appender)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), id)
			}
			return nil
		})
	}
	return cmd
}

func uploadFile(ctx context.Context, cl *client.Client, name string, opt client.UploadOptions, appender bool) (string, error) {
	f, size, err := openRegular(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	bar := progressBar(size, "uploading")
	defer finishProgress(bar)
	r := withProgressReader(f, bar)
	if appender {
		return cl.UploadAppender(ctx, r, size, opt)
	}
	return cl.Upload(ctx, r, size, opt)
}

func newUploadSlaveCmd() *cobra.Command {
	var ext string
	cmd := &cobra.Command{
		Use:   "upload-slave MASTER_FILE_ID PREFIX FILE",
		Short: "Upload a slave file of a master file (name = master stem + prefix + ext)",
		Args:  cobra.ExactArgs(3),
	}
	cf := addClientFlags(cmd, false)
	cmd.Flags().StringVar(&ext, "ext", "", "slave file extension (default: from FILE, else the master's)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return cf.run(func(ctx context.Context, cl *client.Client) error {
			f, size, err := openRegular(args[2])
			if err != nil {
				return err
			}
			defer f.Close()
			e := ext
			if e == "" {
				e = fileExt(args[2])
			}
			bar := progressBar(size, "uploading")
			defer finishProgress(bar)
			id, err := cl.UploadSlave(ctx, withProgressReader(f, bar), size, args[0], args[1], e)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), id)
			return nil
		})
	}
	return cmd
}

func newDownloadCmd() *cobra.Command {
	var offset, length int64
	cmd := &cobra.Command{
		Use:   "download FILE_ID [DEST]",
		Short: "Download a file (DEST: a path, a directory, or - for stdout; default: the remote base name)",
		Args:  cobra.RangeArgs(1, 2),
	}
	cf := addClientFlags(cmd, false)
	cmd.Flags().Int64Var(&offset, "offset", 0, "first byte to download")
	cmd.Flags().Int64Var(&length, "length", 0, "bytes to download (0 = to the end)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		id := args[0]
		dest := path.Base(id)
		if len(args) == 2 {
			dest = args[1]
		}
		return cf.run(func(ctx context.Context, cl *client.Client) error {
			var bar *progressBarT
			if term.IsTerminal(int(os.Stderr.Fd())) {
				if fi, err := cl.GetFileInfo(ctx, id); err == nil {
					n := fi.Size - offset
					if length > 0 {
						n = min(n, length)
					}
					bar = progressBar(n, "downloading")
				}
			}
			defer finishProgress(bar)
			if dest == "-" {
				_, err := cl.Download(ctx, id, offset, length, withProgressWriter(cmd.OutOrStdout(), bar))
				return err
			}
			return downloadToFile(ctx, cl, id, offset, length, dest, bar)
		})
	}
	return cmd
}

// downloadToFile writes the file to a temporary file next to dest, syncs
// it and renames it into place, so dest is never left half-written. A dest
// that exists and is not a regular file (/dev/null, a named pipe) is
// written to as it is: renaming a file over it would replace it.
func downloadToFile(ctx context.Context, cl *client.Client, id string, offset, length int64, dest string, bar *progressBarT) error {
	if st, err := os.Stat(dest); err == nil && st.IsDir() {
		dest = filepath.Join(dest, path.Base(id))
	}
	if st, err := os.Stat(dest); err == nil && !st.Mode().IsRegular() {
		f, err := os.OpenFile(dest, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		_, err = cl.Download(ctx, id, offset, length, withProgressWriter(f, bar))
		return errors.Join(err, f.Close())
	}
	// A download that fails leaves dest as it was, and one that succeeds
	// is on disk whole before the command says so.
	return atomicfile.Write(dest, 0o644, func(w io.Writer) error {
		_, err := cl.Download(ctx, id, offset, length, withProgressWriter(w, bar))
		return err
	})
}

func newDeleteCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "delete FILE_ID...",
		Short: "Delete files",
		Args:  cobra.MinimumNArgs(1),
	}
	cf := addClientFlags(cmd, false)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return cf.run(func(ctx context.Context, cl *client.Client) error {
			var errs []error
			for _, id := range args {
				errs = append(errs, cl.Delete(ctx, id))
			}
			return errors.Join(errs...)
		})
	}
	return cmd
}

func newInfoCmd() *cobra.Command {
	var local bool
	cmd := &cobra.Command{
		Use:   "info FILE_ID",
		Short: "Show what a file ID encodes and what the storage reports about the file",
		Args:  cobra.ExactArgs(1),
	}
	cf := addClientFlags(cmd, false)
	cmd.Flags().BoolVar(&local, "local", false, "only decode the file ID, do not ask the storage")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		id := args[0]
		group, n, err := client.DecodeFileID(id)
		if err != nil {
			return err
		}
		w := cmd.OutOrStdout()
		fmt.Fprintf(w, "file id: %s\n", id)
		fmt.Fprintf(w, "group name: %s\n", group)
		fmt.Fprintf(w, "store path index: %d\n", n.StorePathIndex)
		fmt.Fprintf(w, "data dir: %02X/%02X\n", n.High, n.Low)
		fmt.Fprintf(w, "GET FROM SERVER: %v\n\n", !local)
		fmt.Fprintf(w, "file type: %s\n", client.FileType(n))
		if n.SourceID != "" {
			fmt.Fprintf(w, "source storage id: %s\n", n.SourceID)
		}
		if local {
			fmt.Fprintf(w, "source ip address: %s\n", n.SourceIP)
			fmt.Fprintf(w, "file create timestamp: %s\n", formatTime(n.Timestamp))
			fmt.Fprintf(w, "file size: %d\n", n.Size)
			fmt.Fprintf(w, "file crc32: %d (0x%08x)\n", int32(n.CRC32), n.CRC32)
			return nil
		}
		return cf.run(func(ctx context.Context, cl *client.Client) error {
			fi, err := cl.GetFileInfo(ctx, id)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "source ip address: %s\n", fi.SourceIP)
			fmt.Fprintf(w, "file create timestamp: %s\n", formatTime(fi.CreateTime.Unix()))
			fmt.Fprintf(w, "file size: %d\n", fi.Size)
			fmt.Fprintf(w, "file crc32: %d (0x%08x)\n", int32(fi.CRC32), fi.CRC32)
			return nil
		})
	}
	return cmd
}

func formatTime(unix int64) string {
	return time.Unix(unix, 0).Format(time.DateTime)
}

func newAppendCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "append FILE_ID FILE",
		Short: "Append a local file's content to an appender file",
		Args:  cobra.ExactArgs(2),
	}
	cf := addClientFlags(cmd, false)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return cf.run(func(ctx context.Context, cl *client.Client) error {
			f, size, err := openRegular(args[1])
			if err != nil {
				return err
			}
			defer f.Close()
			bar := progressBar(size, "appending")
			defer finishProgress(bar)
			return cl.Append(ctx, args[0], withProgressReader(f, bar), size)
		})
	}
	return cmd
}

func newModifyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "modify FILE_ID OFFSET FILE",
		Short: "Overwrite part of an appender file at OFFSET with a local file's content",
		Args:  cobra.ExactArgs(3),
	}
	cf := addClientFlags(cmd, false)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		offset, err := strconv.ParseInt(args[1], 10, 64)
		if err != nil || offset < 0 {
			return fmt.Errorf("bad offset %q", args[1])
		}
		return cf.run(func(ctx context.Context, cl *client.Client) error {
			f, size, err := openRegular(args[2])
			if err != nil {
				return err
			}
			defer f.Close()
			bar := progressBar(size, "modifying")
			defer finishProgress(bar)
			return cl.Modify(ctx, args[0], offset, withProgressReader(f, bar), size)
		})
	}
	return cmd
}

func newTruncateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "truncate FILE_ID SIZE",
		Short: "Set the size of an appender file",
		Args:  cobra.ExactArgs(2),
	}
	cf := addClientFlags(cmd, false)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		size, err := strconv.ParseInt(args[1], 10, 64)
		if err != nil || size < 0 {
			return fmt.Errorf("bad size %q", args[1])
		}
		return cf.run(func(ctx context.Context, cl *client.Client) error {
			return cl.Truncate(ctx, args[0], size)
		})
	}
	return cmd
}

func newRegenerateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "regenerate FILE_ID",
		Short: "Turn an appender file into a normal file; prints the new file ID",
		Args:  cobra.ExactArgs(1),
	}
	cf := addClientFlags(cmd, false)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return cf.run(func(ctx context.Context, cl *client.Client) error {
			id, err := cl.RegenerateAppender(ctx, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), id)
			return nil
		})
	}
	return cmd
}

func newSetMetaCmd() *cobra.Command {
	var merge bool
	cmd := &cobra.Command{
		Use:   "set-meta FILE_ID [KEY=VALUE...]",
		Short: "Replace (or with --merge, update) a file's metadata; no pairs without --merge clears it",
		Args:  cobra.MinimumNArgs(1),
	}
	cf := addClientFlags(cmd, false)
	cmd.Flags().BoolVar(&merge, "merge", false, "merge into the existing metadata instead of replacing it")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		m, err := parseMeta(args[1:])
		if err != nil {
			return err
		}
		flag := protocol.MetaOverwrite
		if merge {
			flag = protocol.MetaMerge
		}
		return cf.run(func(ctx context.Context, cl *client.Client) error {
			return cl.SetMetadata(ctx, args[0], m, flag)
		})
	}
	return cmd
}

func newGetMetaCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "get-meta FILE_ID",
		Short: "Print a file's metadata as key=value lines",
		Args:  cobra.ExactArgs(1),
	}
	cf := addClientFlags(cmd, false)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return cf.run(func(ctx context.Context, cl *client.Client) error {
			m, err := cl.GetMetadata(ctx, args[0])
			if err != nil {
				return err
			}
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			w := cmd.OutOrStdout()
			for _, k := range keys {
				fmt.Fprintf(w, "%s=%s\n", k, m[k])
			}
			return nil
		})
	}
	return cmd
}

func init() {
	rootCmd.AddCommand(
		newUploadCmd("upload", "Upload files; prints one file ID per line", false),
		newUploadCmd("upload-appender", "Upload appender files; prints one file ID per line", true),
		newUploadSlaveCmd(),
		newDownloadCmd(),
		newDeleteCmd(),
		newInfoCmd(),
		newAppendCmd(),
		newModifyCmd(),
		newTruncateCmd(),
		newRegenerateCmd(),
		newSetMetaCmd(),
		newGetMetaCmd(),
	)
}
