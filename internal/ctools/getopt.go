package ctools

import (
	"fmt"
	"strings"
)

// option is one option getopt found; val is its argument, if it takes one.
type option struct {
	c   byte
	val string
}

// getopt is GNU getopt(3) over argv[1:] with an optstring such as "hc:A":
// options may come anywhere before "--", be grouped ("-AN"), and take
// their argument attached or as the next word. An unknown option or a
// missing argument is reported on stderr as glibc does and ok is false.
func (e *env) getopt(spec string) (opts []option, rest []string, ok bool) {
	args := e.argv[1:]
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			return opts, append(rest, args[i+1:]...), true
		}
		if len(arg) < 2 || arg[0] != '-' {
			rest = append(rest, arg)
			continue
		}
		for j := 1; j < len(arg); j++ {
			c := arg[j]
			k := strings.IndexByte(spec, c)
			if k < 0 || c == ':' {
				fmt.Fprintf(e.errw, "%s: invalid option -- '%c'\n", e.argv[0], c)
				return opts, rest, false
			}
			if k+1 >= len(spec) || spec[k+1] != ':' {
				opts = append(opts, option{c: c})
				continue
			}
			val := arg[j+1:]
			if val == "" {
				if i+1 >= len(args) {
					fmt.Fprintf(e.errw, "%s: option requires an argument -- '%c'\n", e.argv[0], c)
					return opts, rest, false
				}
				i++
				val = args[i]
			}
			opts = append(opts, option{c: c, val: val})
			break
		}
	}
	return opts, rest, true
}
