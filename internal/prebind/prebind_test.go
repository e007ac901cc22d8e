package prebind

import (
	"net"
	"testing"
)

func TestBindThenListen(t *testing.T) {
	t.Cleanup(func() { Close() })
	free := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		a := ln.Addr().String()
		ln.Close()
		return a
	}
	a, b := free(), free()
	if err := Bind(a, b); err != nil {
		t.Fatal(err)
	}
	// Bound now: nobody else can take the port.
	if ln, err := net.Listen("tcp", a); err == nil {
		ln.Close()
		t.Fatalf("%s bound twice", a)
	}
	ln, err := Listen(a)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if ln.Addr().String() != a {
		t.Errorf("Listen(%s) gave %s", a, ln.Addr())
	}
	// Handed over once: a second Listen binds anew, and the port is taken.
	if ln2, err := Listen(a); err == nil {
		ln2.Close()
		t.Errorf("Listen(%s) twice gave two listeners", a)
	}
	// Connections reach the listener handed over.
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	c, err := net.Dial("tcp", a)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	// Close releases what was never taken.
	if err := Close(); err != nil {
		t.Fatal(err)
	}
	lb, err := net.Listen("tcp", b)
	if err != nil {
		t.Fatalf("%s still held after Close: %v", b, err)
	}
	lb.Close()
}

func TestBindFailureReleasesAll(t *testing.T) {
	t.Cleanup(func() { Close() })
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	free := probe.Addr().String()
	probe.Close()
	if err := Bind(free, taken.Addr().String()); err == nil {
		t.Fatal("Bind of a taken port succeeded")
	}
	// The first address, bound by the failed call, is free again.
	ln, err := net.Listen("tcp", free)
	if err != nil {
		t.Fatalf("%s still held after a failed Bind: %v", free, err)
	}
	ln.Close()
}

func TestListenWithoutBind(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
}
