package conf

import (
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// libfastcommon's preprocessing directives, applied to each file before its
// lines are read, in upstream's order: every #@if block (with the #@set
// lines before it), then every #@for block.
const (
	tagIf     = "#@if "
	tagElse   = "#@else"
	tagEndIf  = "#@endif"
	tagFor    = "#@for "
	tagEndFor = "#@endfor"
	tagSet    = "#@set "

	maxForLines = 1 << 16 // lines one #@for may produce
	// maxForCopies bounds the lines the expansion of a file's #@for
	// blocks copies in all: each block expanded copies the whole file
	// (a nested block is only found once its outer one is expanded), so
	// 20,000 one-line blocks took 7.5 s. A real file has a few blocks.
	maxForCopies = 1 << 22
)

// lineTag reports whether the line starts with tag after blanks (upstream:
// the tag must be preceded only by spaces and tabs on its line) and returns
// the rest of the line.
func lineTag(text, tag string) (string, bool) {
	t := strings.TrimLeft(text, " \t")
	if !strings.HasPrefix(t, tag) {
		return "", false
	}
	return t[len(tag):], true
}

// aloneTag reports whether the line is just tag (blanks around it).
func aloneTag(text, tag string) bool {
	rest, ok := lineTag(text, tag)
	return ok && strings.Trim(rest, " \t") == ""
}

func findTag(lines []srcLine, from int, tag string) int {
	for i := from; i < len(lines); i++ {
		if _, ok := lineTag(lines[i].text, tag); ok {
			return i
		}
	}
	return -1
}

func findAlone(lines []srcLine, from int, tag string) int {
	for i := from; i < len(lines); i++ {
		if aloneTag(lines[i].text, tag) {
			return i
		}
	}
	return -1
}

// expandIfs replaces each "#@if <condition>" ... ["#@else" ...] "#@endif"
// block by the branch the condition selects. Blocks do not nest (the first
// #@endif closes), as upstream.
func (p *parser) expandIfs(lines []srcLine, source string) []srcLine {
	off, setsDone := 0, 0
	for {
		at := findTag(lines, off, tagIf)
		if at < 0 {
			p.processSets(lines[setsDone:], source)
			return lines
		}
		p.processSets(lines[setsDone:at], source)
		end := findAlone(lines, at+1, tagEndIf)
		if end < 0 {
			p.warnf(source, lines[at].no, "#@if without #@endif: ignored")
			p.processSets(lines[at:], source)
			return lines
		}
		elseAt := findAlone(lines, at+1, tagElse)
		if elseAt > end {
			elseAt = -1
		}
		cond, _ := lineTag(lines[at].text, tagIf)
		var keep []srcLine
		switch {
		case p.condition(cond, source, lines[at].no):
			stop := end
			if elseAt >= 0 {
				stop = elseAt
			}
			keep = lines[at+1 : stop]
		case elseAt >= 0:
			keep = lines[elseAt+1 : end]
		}
		out := make([]srcLine, 0, len(lines))
		out = append(out, lines[:at]...)
		out = append(out, keep...)
		out = append(out, lines[end+1:]...)
		lines, off, setsDone = out, at, at
	}
}

// processSets runs the "#@set name = value" lines: the variables are used by
// #@if conditions and by #@function REPLACE_VARS.
func (p *parser) processSets(lines []srcLine, source string) {
	for _, ln := range lines {
		rest, ok := lineTag(ln.text, tagSet)
		if !ok {
			continue
		}
		name, value, found := strings.Cut(strings.TrimRight(rest, "\r"), "=")
		name, value = trimBlank(name), trimBlank(value)
		if !found || name == "" {
			p.warnf(source, ln.no, "invalid #@set %q (want #@set name = value): ignored", rest)
			continue
		}
		if strings.Contains(value, "%{") {
			value = p.replaceVars(value, source, ln.no)
		}
		if len(value) > 3 && strings.HasPrefix(value, "$(") && strings.HasSuffix(value, ")") {
			// FastDFS loads its confs without FAST_INI_FLAGS_SHELL_EXECUTE.
			p.warnf(source, ln.no, "#@set %s: shell execution is disabled; the value is empty", name)
			value = ""
		}
		p.f.vars[name] = value
	}
}

// condition evaluates "%{LOCAL_IP} in [ip, cidr, ...]",
// "%{LOCAL_HOST} in [name, ...]" or "%{var} in [value, ...]".
func (p *parser) condition(cond, source string, line int) bool {
	c := strings.Trim(cond, " \t\r")
	open := strings.IndexByte(c, '[')
	if !strings.HasPrefix(c, "%{") || !strings.HasSuffix(c, "]") || open < 0 {
		p.warnf(source, line, "invalid #@if condition %q (want %%{variable} in [...]): false", c)
		return false
	}
	closeBrace := strings.IndexByte(c, '}')
	if closeBrace <= 2 || closeBrace > open || !strings.HasPrefix(strings.TrimSpace(c[closeBrace+1:open]), "in") {
		p.warnf(source, line, "invalid #@if condition %q (want %%{variable} in [...]): false", c)
		return false
	}
	variable := c[2:closeBrace]
	var values []string
	for v := range strings.SplitSeq(c[open+1:len(c)-1], ",") {
		values = append(values, trimBlank(v))
	}
	switch variable {
	case "LOCAL_HOST":
		host, err := os.Hostname()
		return err == nil && contains(values, host)
	case "LOCAL_IP":
		for _, ip := range localIPs() {
			for _, v := range values {
				if v == ip || cidrContains(v, ip) {
					return true
				}
			}
		}
		return false
	}
	v, ok := p.f.vars[variable]
	if !ok {
		p.warnf(source, line, "#@if: variable %q is not set: false", variable)
		return false
	}
	return contains(values, v)
}

// cidrContains is iniMatchCIDR: IPv4 networks of 8 to 30 bits.
func cidrContains(cidr, ip string) bool {
	addr, bits, ok := strings.Cut(cidr, "/")
	if !ok {
		return false
	}
	n, err := strconv.Atoi(bits)
	if err != nil || n < 8 || n > 30 {
		return false
	}
	pf, err := netip.ParsePrefix(addr + "/" + bits)
	a, err2 := netip.ParseAddr(ip)
	return err == nil && err2 == nil && pf.Addr().Is4() && a.Is4() && pf.Masked().Contains(a)
}

// expandFors repeats each "#@for i from A to B [step S]" ... "#@endfor"
// block for i = A, A+S, ... <= B, replacing "{$i}" in its lines.
func (p *parser) expandFors(lines []srcLine, source string) []srcLine {
	off, copies := 0, 0
	for {
		at := findTag(lines, off, tagFor)
		if at < 0 {
			return lines
		}
		end := findAlone(lines, at+1, tagEndFor)
		if end < 0 {
			p.warnf(source, lines[at].no, "#@for without #@endfor: ignored")
			return lines
		}
		spec, _ := lineTag(lines[at].text, tagFor)
		id, from, to, step, ok := parseForRange(spec)
		if !ok || step <= 0 || to < from {
			// Upstream leaves such a block as it is (its lines are then
			// read once, the directive lines being comments).
			p.warnf(source, lines[at].no, "invalid #@for %q (want #@for i from 0 to 9 [step 1]): ignored", strings.TrimSpace(spec))
			off = end + 1
			continue
		}
		block := lines[at+1 : end]
		n := (to-from)/step + 1
		if n*len(block) > maxForLines {
			p.warnf(source, lines[at].no, "#@for produces more than %d lines: ignored", maxForLines)
			off = end + 1
			continue
		}
		copies += len(lines) - len(block) + n*len(block)
		if copies > maxForCopies {
			p.warnf(source, lines[at].no, "#@for blocks expand to more than %d lines in all: this one and those after it ignored", maxForCopies)
			return lines
		}
		tag := "{$" + id + "}"
		out := make([]srcLine, 0, len(lines))
		out = append(out, lines[:at]...)
		for i := from; i <= to; i += step {
			v := strconv.Itoa(i)
			for _, ln := range block {
				out = append(out, srcLine{no: ln.no, text: strings.ReplaceAll(ln.text, tag, v)})
			}
		}
		out = append(out, lines[end+1:]...)
		lines, off = out, at
	}
}

// parseForRange parses "i from 0 to 15 [step 1]" (unsigned numbers).
func parseForRange(spec string) (id string, from, to, step int, ok bool) {
	f := strings.Fields(spec)
	if (len(f) != 5 && len(f) != 7) || f[1] != "from" || f[3] != "to" || len(f[0]) > 64 {
		return "", 0, 0, 0, false
	}
	num := func(s string) (int, bool) {
		if s == "" || strings.TrimLeft(s, "0123456789") != "" || len(s) > 9 {
			return 0, false
		}
		n, err := strconv.Atoi(s)
		return n, err == nil
	}
	var ok1, ok2, ok3 bool
	from, ok1 = num(f[2])
	to, ok2 = num(f[4])
	step, ok3 = 1, true
	if len(f) == 7 {
		if f[5] != "step" {
			return "", 0, 0, 0, false
		}
		step, ok3 = num(f[6])
	}
	return f[0], from, to, step, ok1 && ok2 && ok3
}

// annotate applies "#@function NAME" to the value of the next line.
func (p *parser) annotate(fn, key, value, source string, line int) []string {
	switch fn {
	case "LOCAL_IP_GET":
		return p.localIPGet(value, source, line)
	case "REPLACE_VARS":
		if len(p.f.vars) == 0 {
			p.warnf(source, line, "REPLACE_VARS for %s without any #@set before: value kept", key)
			return []string{value}
		}
		return []string{p.replaceVars(value, source, line)}
	}
	// SHELL_EXEC is not enabled for FastDFS confs; libraries added with
	// #@add_annotation are refused earlier.
	p.warnf(source, line, "unknown #@function %s (accepted: LOCAL_IP_GET, REPLACE_VARS): %s keeps its value", fn, key)
	return []string{value}
}

// localIPGet is LOCAL_IP_GET: "inner"/"private" for the private addresses
// of this host, anything else for the public ones, optionally "[i]" for the
// i-th only ("[-1]" for the last).
func (p *parser) localIPGet(param, source string, line int) []string {
	name, index := param, -2
	if i := strings.IndexByte(param, '['); i >= 0 && strings.HasSuffix(param, "]") {
		name = param[:i]
		index = atoiPrefix(param[i+1:])
	}
	private := strings.EqualFold(name, "inner") || strings.EqualFold(name, "private")
	var ips []string
	for _, ip := range localIPs() {
		if isPrivateIP(ip) == private {
			ips = append(ips, ip)
		}
	}
	switch {
	case len(ips) == 0:
		return []string{""}
	case index == -2:
		return ips
	case index == -1:
		return ips[len(ips)-1:]
	case index >= len(ips) || index < -1:
		p.warnf(source, line, "LOCAL_IP_GET %s: index %d out of %d addresses: value set to empty", param, index, len(ips))
		return []string{""}
	}
	return ips[index : index+1]
}

// replaceVars substitutes "%{name}" with #@set variables; unknown names are
// kept as they are.
func (p *parser) replaceVars(s, source string, line int) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "%{")
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i+2:], '}')
		if j < 0 {
			break
		}
		b.WriteString(s[:i])
		name := trimBlank(s[i+2 : i+2+j])
		if v, ok := p.f.vars[name]; ok && name != "" {
			b.WriteString(v)
		} else {
			p.warnf(source, line, "variable %q is not set: kept", name)
			b.WriteString(s[i : i+3+j])
		}
		s = s[i+3+j:]
	}
	b.WriteString(s)
	out := b.String()
	if len(out) > maxItemValueLen {
		out = out[:maxItemValueLen]
	}
	return out
}

// localIPs are this host's addresses except the loopback ones upstream
// skips (127.0.0.1, ::1, fe80::1), in interface order.
func localIPs() []string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []string
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip := ipn.IP.String()
		if isLoopbackIP(ip) {
			continue
		}
		out = append(out, ip)
	}
	return out
}

// isLoopbackIP is libfastcommon's is_loopback_ip: exactly these strings.
func isLoopbackIP(ip string) bool {
	return ip == "127.0.0.1" || ip == "::1" || strings.EqualFold(ip, "fe80::1")
}

// isPrivateIP is libfastcommon's is_private_ip (IPv4 strings only).
func isPrivateIP(ip string) bool {
	if len(ip) < 8 {
		return false
	}
	if strings.HasPrefix(ip, "10.") || strings.HasPrefix(ip, "192.168.") {
		return true
	}
	if strings.HasPrefix(ip, "172.") {
		b := atoiPrefix(ip[4:])
		return b >= 16 && b < 32
	}
	return false
}
