//go:build linux

package toolchain

import (
	"io/fs"
	"syscall"
)

const oNoFollow = syscall.O_NOFOLLOW

// statSys returns the inode, device and change time (ns) of fi.
func statSys(fi fs.FileInfo) (ino, dev uint64, ctime int64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s, n := st.Ctim.Unix()
		return uint64(st.Ino), uint64(st.Dev), s*1e9 + n
	}
	return 0, 0, 0
}
