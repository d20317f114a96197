# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma show: print a simulated /proc/PID file, or what PROCMAP_QUERY
on its maps answers."""


import click


class Address(click.ParamType):
    """An address as a user copies it: 0x-prefixed hex, or decimal."""
    name = "ADDR"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        try:
            addr = int(value, 0)
        except ValueError:
            self.fail(f"{value!r} is not an address (0x7f2a40000000 or decimal)",
                      param, ctx)
        if not 0 <= addr < 1 << 64:
            self.fail(f"{value} is outside a 64-bit address space", param, ctx)
        return addr


def query_line(addr, vma):
    """One PROCMAP_QUERY's answer: the VMA as its maps line would show it."""
    if vma is None:
        return f"{addr:#x} -> ENOENT"
    flags = vma["vma_flags"]
    perms = "".join(c if flags & bit else "-" for c, bit in
                    (("r", 0x1), ("w", 0x2), ("x", 0x4)))
    perms += "s" if flags & 0x8 else "p"
    return (f"{addr:#x} -> {vma['vma_start']:08x}-{vma['vma_end']:08x} {perms} "
            f"{vma['vma_offset']:08x} {vma['dev_major']:02x}:{vma['dev_minor']:02x} "
            f"{vma['inode']}")
