"""Long-lived grading worker processes: each grades the submissions it is sent and returns the
results over a pipe; a worker that dies or stalls costs only its own submission."""
import ctypes
import logging
import multiprocessing
import signal
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import wait
from time import monotonic

from .grader import Grader
from .outcome import GradeResult, unrun
from .submission import Submission

log = logging.getLogger(__name__)


def _die_with_parent():
    """Linux: SIGKILL this process when its parent dies (a grader killed with kill -9)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def grade_notebooks(graders, task):
    """[GradeResult] of ``task`` (a Submission), one per notebook of the assignment."""
    results = []
    for grader in graders:
        spec = grader.spec
        data = task.read(spec.notebook if len(graders) > 1 else None)
        if data is None:
            results.append(unrun(task.student, spec, "missing", f"no notebook {spec.notebook}.ipynb submitted"))
            continue
        try:
            results.append(grader.grade(data, task.student, task.folder))
        except Exception as err:  # a fault of the grader: recorded as 'error' and retried next run
            results.append(unrun(task.student, spec, "error", f"grader error: {err!r}"[:500]))
    return results


def _worker_main(conn, ctx, specs, limits, sandbox):
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    graders = [Grader(ctx, spec, limits, sandbox) for spec in specs]
    try:
        while True:
            try:
                task = conn.recv()
            except EOFError:
                break
            if task is None:
                break
            conn.send([result.to_wire() for result in grade_notebooks(graders, task)])
    finally:
        for grader in graders:
            grader.close()


@dataclass
class _Worker:
    process: object
    conn: object
    task: Submission = None
    since: float = 0.0


class WorkerPool:
    """``n`` long-lived grading processes (each imports nbgrader once and holds its own sandbox
    uid); submissions go out one at a time, so a worker that dies costs only its own task.
    ``specs``: one per notebook of the assignment."""

    def __init__(self, n, ctx, specs, limits, sandbox):
        self.args = (ctx, specs, limits, sandbox)
        self.mp = multiprocessing.get_context("spawn")
        self.stall = limits.timeout + 300
        self.workers = [self._start() for _ in range(n)]

    def _start(self):
        parent, child = self.mp.Pipe()
        process = self.mp.Process(target=_worker_main, args=(child, *self.args), daemon=True)
        process.start()
        child.close()
        return _Worker(process, parent)

    def _fail(self, worker, reason):
        result = [unrun(worker.task.student, spec, "error", reason) for spec in self.args[1]]
        log.warning("%s: %s; it is restarted, and %s is graded again on the next run", worker.task.student, reason,
                    worker.task.student)
        worker.process.kill()
        worker.process.join()
        self.workers[self.workers.index(worker)] = self._start()
        return result

    def run(self, tasks, on_result):
        """Grade ``tasks`` (Submissions); call ``on_result(submission, [GradeResult per notebook])``
        in this process as each finishes."""
        queue = deque(tasks)
        while True:
            for worker in self.workers:
                if worker.task is None and queue:
                    worker.task, worker.since = queue.popleft(), monotonic()
                    log.info("%s: grading (worker %d)", worker.task.student, worker.process.pid)
                    worker.conn.send(worker.task)
            busy = [w for w in self.workers if w.task is not None]
            if not busy:
                return
            wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=1.0)
            for worker in busy:
                task, result = worker.task, None
                if worker.conn.poll():
                    try:
                        result = [GradeResult.from_wire(part) for part in worker.conn.recv()]
                    except (EOFError, OSError):
                        result = self._fail(worker, "the grading worker died")
                elif not worker.process.is_alive():
                    result = self._fail(worker, f"the grading worker died (exit code {worker.process.exitcode})")
                elif monotonic() - worker.since > self.stall:
                    result = self._fail(worker, f"the grading worker stalled for {self.stall:g} s and was killed")
                if result is not None:
                    worker.task = None
                    log.info("%s: %s after %.1f s", task.student, ", ".join(r.status for r in result),
                             monotonic() - worker.since)
                    on_result(task, result)

    def close(self):
        for worker in self.workers:
            try:
                worker.conn.send(None)
            except OSError:
                pass
        for worker in self.workers:
            worker.process.join(timeout=10)
            if worker.process.is_alive():
                worker.process.kill()
