# SPDX-License-Identifier: GPL-2.0-or-later
"""A one-file FUSE file system whose reads answer after a set delay: a
page fault on its file sleeps that long in the kernel.

A task that faults the file's page in through another process's
/proc/PID/mem (access_remote_vm(): get_user_pages_remote() with no way to
drop the lock) does so holding that process's mmap_lock for read, asleep:
a holder that sleeps a known time while holding, for the BPF engine's
tests.  The FUSE protocol (include/uapi/linux/fuse.h) spoken here is the
least a mount, a lookup, an open and a read need; anything else is
answered ENOSYS.
"""

import ctypes
import errno
import os
import struct
import threading
import time

FILE_NAME = "slow"
PAGE = 4096
ROOT_ID, FILE_ID = 1, 2

LOOKUP, FORGET, GETATTR, OPEN, READ, RELEASE, FLUSH, INIT = 1, 2, 3, 14, 15, 18, 25, 26
INTERRUPT, BATCH_FORGET = 36, 42
NO_REPLY = (FORGET, BATCH_FORGET, INTERRUPT)

IN_HEADER = struct.Struct("<IIQQIIIHH")        # fuse_in_header, 40 bytes
OUT_HEADER = struct.Struct("<IiQ")             # fuse_out_header, 16 bytes
ATTR = struct.Struct("<QQQQQQIIIIIIIIII")      # fuse_attr, 88 bytes
READ_IN = struct.Struct("<QQII")               # fuse_read_in's first fields

MS_NOSUID, MS_NODEV = 2, 4
MNT_DETACH = 2


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _attr(nodeid, size=0):
    if nodeid == ROOT_ID:
        return ATTR.pack(ROOT_ID, 0, 0, 0, 0, 0, 0, 0, 0, 0o40755, 2, 0, 0, 0, 4096, 0)
    return ATTR.pack(FILE_ID, size, (size + 511) // 512, 0, 0, 0, 0, 0, 0,
                     0o100444, 1, 0, 0, 0, PAGE, 0)


class SlowFuse:
    """Mounted at mountpoint while in use (a context manager): the file
    mountpoint/slow, pages pages of b"x", each READ answered after
    delay_s.  No readahead: a fault reads its own page alone.  reads
    counts the READs served."""

    def __init__(self, mountpoint, delay_s, pages=1):
        self.mountpoint = mountpoint
        self.delay_s = delay_s
        self.size = pages * PAGE
        self.reads = 0
        self.fd = -1
        self.thread = None

    @property
    def path(self):
        return os.path.join(self.mountpoint, FILE_NAME)

    def __enter__(self):
        self.fd = os.open("/dev/fuse", os.O_RDWR | os.O_CLOEXEC)
        data = f"fd={self.fd},rootmode=40000,user_id=0,group_id=0".encode()
        if _libc().mount(b"procvma-slowfuse", self.mountpoint.encode(), b"fuse",
                         ctypes.c_ulong(MS_NOSUID | MS_NODEV), data):
            err = ctypes.get_errno()
            os.close(self.fd)
            raise OSError(err, f"mount fuse: {os.strerror(err)}")
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        _libc().umount2(self.mountpoint.encode(), MNT_DETACH)
        os.close(self.fd)
        self.thread.join(5)
        return False

    def _reply(self, unique, payload=b"", error=0):
        try:
            os.write(self.fd, OUT_HEADER.pack(OUT_HEADER.size + len(payload),
                                              -error, unique) + payload)
        except OSError:
            pass        # the request was interrupted, or we are unmounted

    def _serve(self):
        while True:
            try:
                req = os.read(self.fd, 1 << 20)
            except OSError as e:
                if e.errno in (errno.EINTR, errno.ENOENT, errno.EAGAIN):
                    continue
                return      # ENODEV: unmounted
            (_, opcode, unique, nodeid, *_rest) = IN_HEADER.unpack_from(req)
            body = req[IN_HEADER.size:]
            if opcode in NO_REPLY:
                continue
            if opcode == INIT:
                major, minor = struct.unpack_from("<II", body)
                out = struct.pack("<IIIIHHIIHHI", 7, min(minor, 31), 0, 0,
                                  1, 1, 4096, 1, 1, 0, 0)
                self._reply(unique, out.ljust(64, b"\0"))
            elif opcode == LOOKUP:
                name = body.split(b"\0", 1)[0].decode()
                if nodeid == ROOT_ID and name == FILE_NAME:
                    self._reply(unique, struct.pack("<QQQQII", FILE_ID, 0, 60, 60, 0, 0)
                                + _attr(FILE_ID, self.size))
                else:
                    self._reply(unique, error=errno.ENOENT)
            elif opcode == GETATTR:
                self._reply(unique, struct.pack("<QII", 60, 0, 0)
                            + _attr(nodeid, self.size))
            elif opcode == OPEN:
                self._reply(unique, struct.pack("<QIi", 0, 0, 0))
            elif opcode == READ:
                _, offset, size, _ = READ_IN.unpack_from(body)
                time.sleep(self.delay_s)
                self.reads += 1
                self._reply(unique, b"x" * max(0, min(size, self.size - offset)))
            elif opcode in (FLUSH, RELEASE):
                self._reply(unique)
            else:
                self._reply(unique, error=errno.ENOSYS)
