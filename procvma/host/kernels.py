# SPDX-License-Identifier: GPL-2.0-or-later
"""Which kernel a guest boots: an image named by its path, or a Debian
kernel fetched on demand (debian:VERSION, debian:latest) with apt into
this user's cache, with a private sources list and state so that nothing
of the machine's own apt state is read or changed.  procvma/host/guest.py
boots what resolve() returns."""

import contextlib
import glob
import os
import re
import shutil
import subprocess
import time

# Which Debian suites are searched for a "debian:" kernel: the stable
# release, the next one and its backports, and unstable.  Between them
# they hold 6.1 up to the newest kernel Debian has.
DEBIAN_SUITES = ["bookworm", "trixie", "trixie-backports", "sid"]
DEBIAN_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
# The kernel's generic flavour: Debian's cloud flavour leaves out 9p.
FLAVOUR = "amd64"
# How old the private package lists may get before apt refreshes them.
LISTS_MAX_AGE_S = 24 * 3600


class GuestError(Exception):
    """Why a guest could not run the command, in one line."""


# ---- which kernel ----------------------------------------------------------

def cache_dir():
    import platformdirs
    return platformdirs.user_cache_dir("procvma")


def bzimage_release(path):
    """The release (`uname -r`) of the x86 kernel image at path, or a
    GuestError when it is not one: a bzImage says "HdrS" at 0x202 and
    points to its version string at 0x20e (the boot protocol,
    Documentation/arch/x86/boot.rst)."""
    try:
        with open(path, "rb") as f:
            head = f.read(0x10000 + 0x200)
    except OSError as e:
        raise GuestError(f"cannot read: {e.strerror or e}")
    if len(head) < 0x210 or head[0x202:0x206] != b"HdrS":
        raise GuestError("not an x86 kernel image (bzImage)")
    offset = int.from_bytes(head[0x20e:0x210], "little") + 0x200
    version = head[offset:offset + 256].split(b"\0")[0].decode(errors="replace")
    return version.split()[0] if version.strip() else "unknown"


class Kernel:
    """A kernel image to boot and the directory of its modules (None:
    whatever the share needs is built in)."""

    def __init__(self, image, release, modules=None, name=None, spec=None):
        self.spec = spec or image       # as --kernel named it
        self.image = image
        self.release = release
        self.modules = modules
        self.name = name or image


def resolve(spec, log=None):
    """The Kernel that --kernel names (spec): IMAGE, debian:VERSION or
    debian:latest.  An image's modules are looked for where its own
    package would have put them on this machine."""
    if spec.startswith("debian:"):
        kernel = debian_kernel(spec.split(":", 1)[1], log=log)
        kernel.spec = spec
        return kernel
    release = bzimage_release(spec)
    modules = next((d for d in (f"/lib/modules/{release}",
                                f"/usr/lib/modules/{release}")
                    if os.path.isdir(d)), None)
    return Kernel(os.path.abspath(spec), release, modules, name=spec, spec=spec)


class Apt:
    """apt-get and apt-cache with a private sources list, package lists
    and download cache under ours: nothing of the machine's own apt
    state is read or changed, and no root is needed."""

    def __init__(self, root):
        self.root = root
        self.sources = os.path.join(root, "sources.list")
        self.options = [
            "-o", f"Dir::Etc::sourcelist={self.sources}",
            "-o", "Dir::Etc::sourceparts=-",
            "-o", f"Dir::State::Lists={os.path.join(root, 'lists')}",
            "-o", f"Dir::Cache={os.path.join(root, 'cache')}",
            "-q",
        ]
        if os.geteuid() == 0:
            # apt's _apt user could not write into the user's cache.
            self.options += ["-o", "APT::Sandbox::User=root"]

    def run(self, tool, *args, cwd=None):
        done = subprocess.run([tool, *self.options, *args], cwd=cwd,
                              capture_output=True, text=True)
        if done.returncode:
            said = [line for line in done.stderr.splitlines()
                    if line.startswith("E:")] or done.stderr.splitlines() or ["failed"]
            raise GuestError(f"{tool} {args[0]}: {said[-1]}")
        return done.stdout

    def update(self, log=None):
        """Fetch the package lists when they are missing or a day old."""
        for d in ("lists/partial", "cache/archives/partial"):
            os.makedirs(os.path.join(self.root, d), exist_ok=True)
        mirror = debian_mirror()
        text = "".join(f"deb [signed-by={DEBIAN_KEYRING}] {mirror} {suite} main\n"
                       for suite in DEBIAN_SUITES)
        stamp = os.path.join(self.root, "lists", ".updated")
        old = _read(self.sources)
        fresh = (old == text and os.path.exists(stamp)
                 and time.time() - os.path.getmtime(stamp) < LISTS_MAX_AGE_S)
        if fresh:
            return
        with open(self.sources, "w") as f:
            f.write(text)
        if log:
            log(f"fetching Debian's package lists ({' '.join(DEBIAN_SUITES)})")
        self.run("apt-get", "update")
        with open(stamp, "w"):
            pass


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def debian_mirror():
    """The Debian archive this machine's apt already uses (so a local
    mirror or proxy is honoured): the first URI of its sources ending in
    /debian."""
    texts = [_read("/etc/apt/sources.list") or ""]
    texts += [_read(p) or "" for p in
              sorted(glob.glob("/etc/apt/sources.list.d/*.list")
                     + glob.glob("/etc/apt/sources.list.d/*.sources"))]
    for text in texts:
        for uri in re.findall(r"(?:^deb(?:\s+\[[^\]]*\])?\s+|^URIs:\s*)(\S+)",
                              text, re.M):
            if uri.rstrip("/").endswith("/debian"):
                return uri.rstrip("/")
    raise GuestError("cannot fetch a Debian kernel: this machine's apt "
                     "sources name no Debian archive")


# linux-image-6.1.0-50-amd64, linux-image-7.3.4+deb13-amd64: the generic
# flavour's kernel packages (not -cloud-, -rt-, -dbg, -unsigned).
_IMAGE_PACKAGE = re.compile(rf"^linux-image-(\d+\.\d+[\w.+~-]*?)-{FLAVOUR}$")


def _version_key(kver):
    return [int(n) for n in re.findall(r"\d+", kver)]


def kernel_packages(names, version):
    """The kernel packages among names whose kernel is VERSION (6.1
    matches 6.1.0-50, not 6.12.1) or, for "latest", of any version,
    newest first."""
    found = []
    for name in names:
        m = _IMAGE_PACKAGE.match(name.strip())
        if not m or any(w in m.group(1) for w in ("cloud", "rt", "dbg", "unsigned")):
            continue
        kver = m.group(1)
        if version == "latest" or kver == version or \
                re.match(re.escape(version) + r"[.\-+]", kver):
            found.append((_version_key(kver), name.strip()))
    return [name for _, name in sorted(found, reverse=True)]


def pick_package(names, version):
    """The newest of kernel_packages(), or None."""
    return next(iter(kernel_packages(names, version)), None)


# Debian's lists name kernels whose parts the archive no longer holds (a
# linux-image whose linux-modules has gone): the newest complete one is
# taken, looking at most this far back.
MAX_INCOMPLETE = 6


def debian_kernel(version, log=None):
    """Debian's kernel VERSION (or the newest), fetched through apt into
    the per-user cache and unpacked there once."""
    if not re.fullmatch(r"latest|\d+(\.\d+)*", version):
        raise GuestError("not a Debian kernel version "
                         "(debian:6.1, debian:6.18, debian:latest)")
    if shutil.which("apt-get") is None or shutil.which("apt-cache") is None:
        raise GuestError("cannot fetch a Debian kernel: no apt on this machine "
                         "(apt-get not found); give a kernel image file instead")
    apt = Apt(os.path.join(cache_dir(), "apt"))
    apt.update(log=log)
    packages = kernel_packages(apt.run("apt-cache", "pkgnames", "linux-image-").split(),
                               version)
    if not packages:
        raise GuestError(f"no such kernel in Debian "
                         f"({', '.join(DEBIAN_SUITES)})")
    for package in packages[:MAX_INCOMPLETE]:
        where = os.path.join(cache_dir(), "kernels", package)
        if os.path.exists(os.path.join(where, ".unpacked")):
            break
        parts = _parts(apt, package)
        if parts:
            _fetch_and_unpack(apt, parts, where, log)
            break
    else:
        raise GuestError(f"Debian's lists name {packages[0]}, but the archive "
                         f"holds no complete kernel of that version")
    return _unpacked_kernel(where, name=f"debian:{version} ({package})")


def _parts(apt, package):
    """(needed, wanted): the packages that make up kernel package, or None
    where one it needs has no candidate.  Newer kernels are split: the
    image is then a small package that depends on linux-binary-* (the
    kernel) and linux-modules-*, which the guest needs, and linux-base-*
    (its configuration, for `procvma info`), which it can do without."""
    depends = apt.run("apt-cache", "show", "--no-all-versions", package)
    needed = [package] + re.findall(r"\b(linux-(?:binary|modules)-[^\s,(]+)", depends)
    wanted = re.findall(r"\b(linux-base-[^\s,(]+)", depends)
    policy = apt.run("apt-cache", "policy", *needed)
    if re.search(r"Candidate: \(none\)", policy) or \
            len(re.findall(r"^\S+:$", policy, re.M)) < len(set(needed)):
        return None
    return list(dict.fromkeys(needed)), list(dict.fromkeys(wanted))


def _fetch_and_unpack(apt, parts, where, log):
    needed, wanted = parts
    if log:
        log(f"fetching {', '.join(needed + wanted)}")
    shutil.rmtree(where, ignore_errors=True)
    debs = os.path.join(where, "debs")
    os.makedirs(debs)
    apt.run("apt-get", "download", *needed, cwd=debs)
    for part in wanted:
        with contextlib.suppress(GuestError):
            apt.run("apt-get", "download", part, cwd=debs)
    for deb in glob.glob(os.path.join(debs, "*.deb")):
        done = subprocess.run(["dpkg-deb", "-x", deb, os.path.join(where, "root")],
                              capture_output=True, text=True)
        if done.returncode:
            raise GuestError(f"cannot unpack {os.path.basename(deb)}: "
                             f"{done.stderr.strip().splitlines()[-1:]}")
        os.unlink(deb)      # the unpacked tree is what is kept
    with open(os.path.join(where, ".unpacked"), "w"):
        pass


def _unpacked_kernel(where, name):
    root = os.path.join(where, "root")
    images = (glob.glob(os.path.join(root, "boot", "vmlinuz-*"))
              + glob.glob(os.path.join(root, "usr/lib/modules/*/vmlinuz")))
    if not images:
        raise GuestError(f"{name}: its packages hold no vmlinuz")
    release = bzimage_release(images[0])
    modules = next((d for d in (os.path.join(root, "lib/modules", release),
                                os.path.join(root, "usr/lib/modules", release))
                    if os.path.isdir(d)), None)
    return Kernel(images[0], release, modules, name=name)


# ---- the initramfs ---------------------------------------------------------
