# SPDX-License-Identifier: GPL-2.0-or-later
"""Living beside the C core: loading it, running a long C call in a worker
thread that Ctrl-C can stop, and turning SIGTERM/SIGHUP into Ctrl-C.

Every room that calls into C for long (a benchmark sample, the torture
run, loading the BPF tracer) uses these, so they sit below all of them.

cffi releases the GIL around every C call, so the worker blocks in C for
the whole call and the main thread waits in short joins, which a
KeyboardInterrupt can break.
"""

import contextlib
import signal
import threading
import time

JOIN_POLL_S = 0.1

# Exit status of a run cut short by Ctrl-C, as a shell reports SIGINT.
EXIT_INTERRUPTED = 130


def load_core():
    """procvma._core (ffi, lib), or a one-line click error if the C core
    is not built."""
    try:
        from procvma import _core
    except ImportError as e:
        import click
        raise click.ClickException(f"the C core is not built ({e}): run 'make setup'")
    return _core


# What ends a run early: Ctrl-C, and what CI and timeout(1) send (SIGTERM)
# or a closed terminal (SIGHUP).  Each stops the run as Ctrl-C does.
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}

# The signal that stopped the run, if it was not Ctrl-C.
stopped_by = None


def interrupted_status():
    """The exit status of a run a signal cut short, as a shell reports
    it: 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM)."""
    return 128 + (stopped_by or signal.SIGINT)


@contextlib.contextmanager
def stopping_on_signals():
    """Within: SIGTERM and SIGHUP raise KeyboardInterrupt in the main
    thread, as SIGINT does, so that every stop keeps the finished samples
    and prints their table."""
    global stopped_by

    def stop(signum, frame):
        global stopped_by
        stopped_by = stopped_by or signum
        raise KeyboardInterrupt

    stopped_by = None
    if threading.current_thread() is not threading.main_thread():
        yield       # only the main thread may set handlers
        return
    old = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def in_worker(fn, stop, name):
    """fn() in a worker thread while this thread waits in short joins that
    Ctrl-C can break.  On Ctrl-C, stop() asks fn to return early and we
    wait until it has.  Returns (what fn returned, whether Ctrl-C cut it
    short); an exception fn raised is raised here unless it was cut short."""
    result = {}

    def work():
        # Keep Ctrl-C, SIGTERM and SIGHUP for the main thread (and out of
        # the C tasks that this thread starts, which inherit its signal
        # mask; the processes they spawn get an empty one).
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            result["value"] = fn()
        except BaseException as e:  # handed to the main thread
            result["error"] = e
        finally:
            result["done"] = True

    t = threading.Thread(target=work, name=name, daemon=True)
    t.start()
    interrupted = False
    while "done" not in result:
        try:
            if interrupted:
                # A join that Ctrl-C broke can leave the thread looking
                # finished while it still runs (CPython 3.11's
                # Thread._wait_for_tstate_lock): from then on, poll.
                time.sleep(JOIN_POLL_S)
            else:
                t.join(JOIN_POLL_S)
        except KeyboardInterrupt:
            # A second Ctrl-C changes nothing: the worker must come back first.
            if not interrupted:
                interrupted = True
                stop()
    if "error" in result and not interrupted:
        raise result["error"]
    return result.get("value"), interrupted
