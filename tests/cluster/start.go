package cluster

// StartStorage starts storage i from its conf file without waiting for it
// to become ACTIVE (a storage in disk recovery, for one, holds RECOVERY
// until a peer can serve it); see WaitStatus and WaitActive.
func (c *Cluster) StartStorage(i int) {
	c.t.Helper()
	if err := c.dc.StartStorage(i); err != nil {
		c.t.Fatal(err)
	}
}
