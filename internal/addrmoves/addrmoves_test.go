package addrmoves

import "testing"

func TestBook(t *testing.T) {
	var b Book
	steps := []struct {
		old, new string
		news     bool
		want     map[string]string // address → Current
	}{
		{"a", "b", true, map[string]string{"a": "b", "b": "b", "x": "x"}},
		{"a", "b", false, map[string]string{"a": "b"}},
		{"b", "c", true, map[string]string{"a": "c", "b": "c", "c": "c"}},
		{"c", "a", true, map[string]string{"a": "a", "b": "a", "c": "a"}}, // back to its first address
		{"x", "x", false, map[string]string{"x": "x"}},
	}
	for i, s := range steps {
		if got := b.Add(s.old, s.new); got != s.news {
			t.Errorf("step %d: Add(%s, %s) = %v", i, s.old, s.new, got)
		}
		for addr, want := range s.want {
			if got := b.Current(addr); got != want {
				t.Errorf("step %d: Current(%s) = %s, want %s", i, addr, got, want)
			}
		}
	}
	b.Forget("a")
	if len(b.Pairs()) != 0 || b.Current("b") != "b" {
		t.Errorf("after Forget: %v", b.Pairs())
	}
	var cyc Book // as a hand-edited file could have it
	cyc.next = map[string]string{"p": "q", "q": "p"}
	cyc.Current("p") // returns: bounded hops
}
