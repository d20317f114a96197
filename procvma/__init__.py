# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma: mmap()/munmap() latency while others read /proc/PID/*maps*,
on a simulated kernel and on the real one."""

__version__ = "0.1.0"
