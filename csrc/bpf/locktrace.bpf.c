// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mmap_lock, as the real kernel takes it during one sample, summed in the
 * kernel: the mapper's waits for the write lock, the scanners' read holds
 * split into running / preempted / asleep, the mapper's sleeps and
 * wake-ups while it waits, and the scanners' CPU time.  No event leaves
 * the kernel; user space (harness/ktrace.c) reads the per-CPU sums after
 * the sample.
 *
 * The programs are BTF tracepoints (tp_btf): they attach by name, with
 * no tracefs mounted, and get the tracepoints' own arguments, typed.
 * CO-RE: those arguments changed across kernels.  Linux 6.1's mmap_lock
 * tracepoints take (mm, memcg_path, write[, success]), 6.18's (mm,
 * write[, success]); which one runs here is read from the kernel's BTF
 * at load time: bpf_core_field_exists() on the event's record
 * (trace_event_raw_mmap_lock), whose memcg_path field goes with the
 * memcg_path argument.  task_struct's state field is state before 5.14,
 * __state since, again chosen by bpf_core_field_exists().
 *
 * Who counts:
 *   the mapper   the tgid user space names (mapper_tgid); its mm is the
 *                target (target_mm), learnt from its own first event on it;
 *   readers      the tasks in @tasks: the scanner threads, registered by
 *                user space, and whatever they fork (the cat scanner's
 *                bash loop and each cat), followed here.
 * A reader's hold is acquire_returned(read, success) to released, on the
 * target mm; while it holds, sched_switch and sched_wakeup say whether it
 * is off CPU and runnable (preempted) or asleep.
 *
 * Two sets of lock programs, one loaded (user space turns the other's
 * autoload off): the mmap_lock tracepoints (the "bpf" engine), or fentry
 * and fexit on the rwsem functions themselves (the "fentry" engine, at
 * the end of this file).  The sched programs serve both.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "locktrace.h"

#define E2BIG 7

char LICENSE[] SEC("license") = "GPL";

/*
 * Phases, set by user space (plain stores to the mmapped .bss; a program
 * that sees a phase a few events late only shifts the window's edge by
 * those events):
 *   0  idle: nothing is counted
 *   1  the sample runs: everything is counted
 *   2  the mapper is done: its events no longer count, the readers' do
 *      until the scanners are stopped (as the tracefs engine counts them)
 */
volatile __u32 phase;
volatile __u32 mapper_tgid;
volatile __u64 target_mm;
volatile __u64 start_ns;	/* phase 1 began: readers' CPU counts from here */

/* The mapper is one thread: its wait state needs no map. */
__u64 mapper_wait_from;
__u64 mapper_waking_at;	/* woken while it waits, not yet switched in; 0: not */

/*
 * A followed task's state.  Its own CPU updates it (switches, its lock
 * events) but for one field set: sched_wakeup, on the waker's CPU, moves
 * an asleep holder to runnable; the wake-up is done under the runqueue
 * lock of the CPU the task is queued on, which that CPU's sched_switch
 * takes before it can switch the task in, so the two do not overlap.
 */
struct task_state {
	__u64 on_since;		/* switched in at; 0: not on CPU (as far as seen) */
	__u64 hold_from;	/* holds the target's mmap_lock for read since; 0: not */
	__u64 off_since;	/* holder off CPU since; 0: on CPU */
	__u64 hold_running;	/* this hold's time on CPU */
	__u64 hold_preempted;	/* ... off CPU, runnable */
	__u64 hold_sleeping;	/* ... and asleep */
	__u32 off_runnable;	/* while off CPU: runnable (1) or asleep (0) */
	__u32 exiting;		/* sched_process_exit seen: drop at its last switch */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);		/* tid */
	__type(value, struct task_state);
} tasks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pv_ktrace_sums);
} sums SEC(".maps");

static __always_inline struct pv_ktrace_sums *cpu_sums(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&sums, &zero);
}

/* Linux 6.1's record: memcg_path, where 6.18 has memcg_id. */
struct trace_event_raw_mmap_lock___61 {
	__u32 __data_loc_memcg_path;
} __attribute__((preserve_access_index));

#define HAS_MEMCG_PATH_ARG \
	bpf_core_field_exists(((struct trace_event_raw_mmap_lock___61 *)0)->__data_loc_memcg_path)

/* Before 5.14 task_struct's state was "state". */
struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

static __always_inline long task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___old *)t, state);
}

/*
 * Whether this event is on the target mm.  The first write-lock event of
 * the mapper on its own mm names the target.  Every other task's events
 * on every other mm, the bulk of them system-wide, cost one load and a
 * compare.
 *
 * Only a write lock names it: the mapper is posix_spawn()ed, a vfork that
 * shares the driver's mm until exec, and exec_mmap() of some kernels (6.1
 * among them) read-locks that old mm after it has let the driver go on
 * (exec_mm_release()).  The driver arms the trace as soon as posix_spawn()
 * returns, so that read lock can come from the mapper's tgid, on its
 * current mm, and would name the driver's mm: seen on 6.1 in a TCG guest,
 * every figure then zero.
 */
static __always_inline bool on_target(__u64 mm, bool write)
{
	__u64 target = target_mm;

	if (target)
		return mm == target;
	if (!write || !mapper_tgid ||
	    (__u32)(bpf_get_current_pid_tgid() >> 32) != mapper_tgid)
		return false;
	if ((__u64)bpf_get_current_task_btf()->mm != mm)
		return false;
	target_mm = mm;
	return true;
}

static __always_inline bool is_mapper(void)
{
	return (__u32)(bpf_get_current_pid_tgid() >> 32) == mapper_tgid;
}

/*
 * A holder's stretch on CPU that ends now (switched out, or releasing):
 * measured on its own, from its switch-in, so that running, preempted
 * and asleep are three measurements whose sum can be checked against
 * the hold's length.
 */
static __always_inline void holder_on_ends(struct task_state *t, __u64 now)
{
	__u64 from = t->on_since > t->hold_from ? t->on_since : t->hold_from;

	if (t->on_since && now > from)
		t->hold_running += now - from;
}

/*
 * The mapper's own events come first and leave soonest: they fire inside
 * its timed mmap()/munmap() calls.  Its read locks (mm_populate(),
 * munmap()'s downgrade) are no reader's and cost a compare or two.
 */
static __always_inline int lock_start(__u64 mm, bool write)
{
	if (!write || !on_target(mm, write) || phase != 1 || !is_mapper())
		return 0;
	mapper_wait_from = bpf_ktime_get_ns();
	return 0;
}

static __always_inline int lock_acquired(__u64 mm, bool write, bool success)
{
	struct pv_ktrace_sums *s;
	struct task_state *t;
	__u32 tid;
	__u64 now;

	if (!on_target(mm, write) || !phase)
		return 0;
	if (write) {
		__u64 from = mapper_wait_from;

		/* Only the mapper write-locks its mm (or a kernel thread). */
		if (!from || !is_mapper())
			return 0;
		now = bpf_ktime_get_ns();
		mapper_wait_from = 0;
		s = cpu_sums();
		if (s) {
			__u64 d = now - from;

			s->mapper_wait_ns += d;
			s->mapper_waits++;
			if (d > s->mapper_wait_max_ns)
				s->mapper_wait_max_ns = d;
		}
		return 0;
	}
	/* The mapper's own read locks, before any lookup. */
	if (!success || is_mapper())
		return 0;
	tid = (__u32)bpf_get_current_pid_tgid();
	t = bpf_map_lookup_elem(&tasks, &tid);
	if (!t)
		return 0;	/* not one of the run's readers */
	s = cpu_sums();
	if (!s)
		return 0;
	now = bpf_ktime_get_ns();
	s->reader_locks++;
	/* It runs: a task added while on CPU has not been seen switched in. */
	if (!t->on_since)
		t->on_since = now;
	t->hold_from = now;
	t->hold_running = 0;
	t->hold_preempted = 0;
	t->hold_sleeping = 0;
	t->off_since = 0;
	return 0;
}

static __always_inline int lock_released(__u64 mm, bool write)
{
	struct pv_ktrace_sums *s;
	struct task_state *t;
	__u64 now, d;
	__u32 tid;

	if (write || !on_target(mm, write) || is_mapper())
		return 0;
	tid = (__u32)bpf_get_current_pid_tgid();
	t = bpf_map_lookup_elem(&tasks, &tid);
	if (!t || !t->hold_from)
		return 0;
	now = bpf_ktime_get_ns();
	d = now - t->hold_from;
	holder_on_ends(t, now);
	t->hold_from = 0;
	s = cpu_sums();
	if (!s || !phase)
		return 0;
	s->reader_holds++;
	s->hold_ns += d;
	s->hold_running_ns += t->hold_running;
	s->hold_preempted_ns += t->hold_preempted;
	s->hold_sleeping_ns += t->hold_sleeping;
	if (d > s->hold_max_ns)
		s->hold_max_ns = d;
	return 0;
}

/*
 * Each branch reads the arguments at constant indices; the one the
 * running kernel's prototype does not have is dead code the verifier
 * never walks (HAS_MEMCG_PATH_ARG is a constant once relocated).
 */
SEC("tp_btf/mmap_lock_start_locking")
int pv_lock_start(__u64 *ctx)
{
	if (HAS_MEMCG_PATH_ARG)
		return lock_start(ctx[0], (bool)ctx[2]);
	return lock_start(ctx[0], (bool)ctx[1]);
}

SEC("tp_btf/mmap_lock_acquire_returned")
int pv_lock_acquired(__u64 *ctx)
{
	if (HAS_MEMCG_PATH_ARG)
		return lock_acquired(ctx[0], (bool)ctx[2], (bool)ctx[3]);
	return lock_acquired(ctx[0], (bool)ctx[1], (bool)ctx[2]);
}

SEC("tp_btf/mmap_lock_released")
int pv_lock_released(__u64 *ctx)
{
	if (HAS_MEMCG_PATH_ARG)
		return lock_released(ctx[0], (bool)ctx[2]);
	return lock_released(ctx[0], (bool)ctx[1]);
}

/* The off-CPU stretch of a holder that ends now goes to its kind. */
static __always_inline void holder_off_ends(struct task_state *t, __u64 now)
{
	if (!t->off_since)
		return;
	if (t->off_runnable)
		t->hold_preempted += now - t->off_since;
	else
		t->hold_sleeping += now - t->off_since;
	t->off_since = 0;
}

/*
 * prev is switched out runnable when it was preempted, or when it called
 * schedule() still TASK_RUNNING (a yield); else it is going to sleep.
 * The same rule makes sched_switch's record say R / R+ for prev_state.
 */
SEC("tp_btf/sched_switch")
int BPF_PROG(pv_switch, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	__u32 prev_tid = (__u32)bpf_get_current_pid_tgid();	/* prev is current */
	__u32 next_tid = next->pid;
	struct task_state *t;
	__u64 now = 0;

	if (!mapper_tgid)
		return 0;
	if (prev_tid == mapper_tgid) {
		/* Asleep, not preempted, while it queues for the write lock. */
		if (mapper_wait_from && !preempt && task_state(prev) != 0) {
			struct pv_ktrace_sums *s = cpu_sums();

			if (s)
				s->mapper_sleeps++;
		}
	} else if (prev_tid && (t = bpf_map_lookup_elem(&tasks, &prev_tid))) {
		__u64 from = t->on_since > start_ns ? t->on_since : start_ns;

		now = bpf_ktime_get_ns();
		if (phase && t->on_since && now > from) {
			struct pv_ktrace_sums *s = cpu_sums();

			if (s)
				s->reader_cpu_ns += now - from;
		}
		if (t->hold_from)
			holder_on_ends(t, now);
		t->on_since = 0;
		if (t->exiting) {
			bpf_map_delete_elem(&tasks, &prev_tid);
		} else if (t->hold_from) {
			t->off_since = now;
			t->off_runnable = preempt || task_state(prev) == 0;
		}
	}
	if (next_tid == mapper_tgid) {
		__u64 woken = mapper_waking_at;

		/* It runs again: the end of its wake-up's latency. */
		if (woken) {
			struct pv_ktrace_sums *s = cpu_sums();

			if (!now)
				now = bpf_ktime_get_ns();
			mapper_waking_at = 0;
			if (s && now > woken) {
				s->mapper_wake_to_run_ns += now - woken;
				s->mapper_wake_runs++;
			}
		}
	} else if (next_tid && (t = bpf_map_lookup_elem(&tasks, &next_tid))) {
		if (!now)
			now = bpf_ktime_get_ns();
		t->on_since = now;
		holder_off_ends(t, now);
	}
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(pv_wakeup, struct task_struct *p)
{
	__u32 pid;
	struct task_state *t;

	if (!mapper_tgid)
		return 0;
	pid = p->pid;
	if (pid == mapper_tgid) {
		if (mapper_wait_from) {
			struct pv_ktrace_sums *s = cpu_sums();

			if (s)
				s->mapper_wakeups++;
		}
		return 0;
	}
	t = bpf_map_lookup_elem(&tasks, &pid);
	/* An asleep holder, woken: runnable from now until it runs. */
	if (t && t->off_since && !t->off_runnable) {
		__u64 now = bpf_ktime_get_ns();

		holder_off_ends(t, now);
		t->off_since = now;
		t->off_runnable = 1;
	}
	return 0;
}

/*
 * The waker's side of a wake-up: sched_waking fires in try_to_wake_up()
 * on the waker's CPU, once, for a task that sleeps (sched_wakeup fires
 * later, on the woken task's CPU when the wake-up went through its wake
 * list and an IPI).  From here to the mapper's switch-in is what a
 * reader's up_read() costs the waiting writer before it can try again.
 */
SEC("tp_btf/sched_waking")
int BPF_PROG(pv_waking, struct task_struct *p)
{
	if (!mapper_tgid || !mapper_wait_from || p->pid != mapper_tgid)
		return 0;
	if (!mapper_waking_at)
		mapper_waking_at = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(pv_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 parent_tid = (__u32)bpf_get_current_pid_tgid();	/* the forking thread */
	__u32 child_tid;
	struct task_state fresh = {};

	if (!mapper_tgid || !bpf_map_lookup_elem(&tasks, &parent_tid))
		return 0;
	child_tid = child->pid;
	if (bpf_map_update_elem(&tasks, &child_tid, &fresh, BPF_NOEXIST) == -E2BIG) {
		struct pv_ktrace_sums *s = cpu_sums();

		if (s)
			s->missed++;
	}
	return 0;
}

SEC("tp_btf/sched_process_exit")
int pv_exit(__u64 *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();	/* the exiting thread */
	struct task_state *t;

	if (!mapper_tgid)
		return 0;
	t = bpf_map_lookup_elem(&tasks, &tid);
	/* Its last sched_switch accounts its last slice and drops it. */
	if (t)
		t->exiting = 1;
	return 0;
}

/*
 * The fentry engine: the same sums from the rwsem functions instead of
 * the mmap_lock tracepoints.
 *
 * Why: a tracepoint program runs on every mmap_lock operation, the
 * mapper's uncontended ones included, and its dispatch is most of what
 * tracing costs the mapper.  The mapper's write side only waits inside
 * rwsem_down_write_slowpath(), which __down_write_common() calls only
 * when rwsem_write_trylock() failed: a hook there costs the mapper's
 * uncontended mmap()/munmap() nothing.
 *
 * The read side cannot be contended-only: a hold runs from the return of
 * down_read*() to up_read(), and both ends are needed on every
 * acquisition.  down_read(), down_read_killable() and down_read_trylock()
 * are out-of-line exported functions (their fast path, rwsem_read_trylock(),
 * is inlined inside them), so fexit on them and fentry on up_read() see
 * every read lock of every rwsem in the system; all but the run's readers
 * cost a load and a compare or a hash lookup.
 *
 * The mm is the rwsem's container (mm_struct.mmap_lock, its offset
 * relocated by CO-RE); for any other rwsem the computed address is no mm
 * and matches no target.
 */
static __always_inline __u64 sem_mm(struct rw_semaphore *sem)
{
	return (__u64)sem -
	       bpf_core_field_offset(((struct mm_struct *)0)->mmap_lock);
}

/*
 * Whether a reader's read lock is on the target.  Until the mapper's
 * first contended write lock names the target, a reader names it: an mm
 * whose owner (CONFIG_MEMCG's mm->owner) is the mapper and owns it back.
 * The reads go through bpf_probe_read_kernel(), so a rwsem that is not an
 * mmap_lock (its "mm" is anything) reads as no match, never as a fault.
 */
static __always_inline bool reader_on_target(__u64 mm)
{
	struct mm_struct *m = (struct mm_struct *)mm;
	struct task_struct *owner;
	__u64 target = target_mm;

	if (target)
		return mm == target;
	if (!bpf_core_field_exists(m->owner))
		return false;
	owner = BPF_CORE_READ(m, owner);
	if (!owner || BPF_CORE_READ(owner, tgid) != mapper_tgid ||
	    (__u64)BPF_CORE_READ(owner, mm) != mm)
		return false;
	target_mm = mm;
	return true;
}

/* A read lock returned: one of the run's readers', on the target? */
static __always_inline int read_returned(struct rw_semaphore *sem, bool success)
{
	__u32 tid;
	__u64 mm;

	if (!phase || !success)
		return 0;
	mm = sem_mm(sem);
	if (target_mm) {
		if (mm != target_mm)
			return 0;
	} else {
		tid = (__u32)bpf_get_current_pid_tgid();
		if (!bpf_map_lookup_elem(&tasks, &tid) || !reader_on_target(mm))
			return 0;
	}
	return lock_acquired(mm, false, true);
}

/* Entered only when rwsem_write_trylock() failed: the write lock is contended. */
SEC("fentry/rwsem_down_write_slowpath")
int BPF_PROG(pv_fentry_write_wait, struct rw_semaphore *sem)
{
	if (!phase)
		return 0;
	return lock_start(sem_mm(sem), true);
}

/* It returns the rwsem, or ERR_PTR(-EINTR) when a fatal signal ended the wait. */
SEC("fexit/rwsem_down_write_slowpath")
int BPF_PROG(pv_fexit_write_wait, struct rw_semaphore *sem, int state,
	     struct rw_semaphore *ret)
{
	if (!mapper_wait_from)
		return 0;
	return lock_acquired(sem_mm(sem), true, (__u64)ret == (__u64)sem);
}

SEC("fexit/down_read")
int BPF_PROG(pv_fexit_down_read, struct rw_semaphore *sem)
{
	return read_returned(sem, true);
}

/* 0, or -EINTR (a fatal signal while it waited). */
SEC("fexit/down_read_killable")
int BPF_PROG(pv_fexit_down_read_killable, struct rw_semaphore *sem, int ret)
{
	return read_returned(sem, ret == 0);
}

/* 1 when it took the lock. */
SEC("fexit/down_read_trylock")
int BPF_PROG(pv_fexit_down_read_trylock, struct rw_semaphore *sem, int ret)
{
	return read_returned(sem, ret == 1);
}

/* lock_released() looks the task up only on the target mm. */
SEC("fentry/up_read")
int BPF_PROG(pv_fentry_up_read, struct rw_semaphore *sem)
{
	__u64 mm = sem_mm(sem);

	if (!target_mm || mm != target_mm)
		return 0;
	return lock_released(mm, false);
}
