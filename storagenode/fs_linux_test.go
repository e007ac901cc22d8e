package storagenode

import (
	"fmt"
	"syscall"
	"testing"
)

// ext4's "structure needs cleaning" is a disk fault; only Linux has it.
func TestDiskFaultEUCLEAN(t *testing.T) {
	if !diskFault(fmt.Errorf("open: %w", syscall.EUCLEAN)) {
		t.Fatal("EUCLEAN is not taken for a disk fault")
	}
}
