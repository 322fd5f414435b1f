//go:build !linux

package toolchain

import "io/fs"

const oNoFollow = 0

// statSys has no inode, device or change time to offer here: the snapshot
// rests on path, size, mode and modification time alone.
func statSys(fi fs.FileInfo) (ino, dev uint64, ctime int64) { return 0, 0, 0 }
