"""Running a notebook: nbgrader's autograde preprocessors as the course configures them, with
nbgrader's ``Execute`` replaced by ``SandboxedExecute`` (the kernel in the sandbox, one wall-time
limit for the whole notebook, a stopped or dead kernel costing only unfinished cells).

``resources`` and ``stage_files`` mirror what nbgrader's ``Autograde`` converter passes to its
preprocessors and copies beside the notebook (nbgrader 0.9, nbclient 0.11, both pinned).
"""
import logging
import os
import shutil
import signal
import uuid
from dataclasses import dataclass
from pathlib import Path
from queue import Empty
from time import monotonic

import nbformat
import zmq
import zmq.asyncio
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync
from nbgrader import utils
from nbgrader.converters.autograde import Autograde
from nbgrader.preprocessors import AssignLatePenalties, Execute, SaveAutoGrades
from traitlets.utils.importstring import import_item

from ..errors import BadInput
from . import wire
from .outcome import NOT_RUN, STOPPED
from .sandbox import SandboxKernelManager, kill_forks, user_processes

log = logging.getLogger(__name__)

MB = 1024 * 1024
RECORDED = (SaveAutoGrades, AssignLatePenalties)  # run when the result is recorded, in the grader's process


@dataclass(frozen=True)
class Pipeline:
    """nbgrader's autograde preprocessors as the course configures them (``c.Autograde.*``, else
    nbgrader's defaults), in the steps around the sandboxed run: ``sanitize`` then ``before`` on
    the submission, ``after`` on the executed notebook, ``record`` when the result is written to
    the gradebook."""
    sanitize: tuple
    before: tuple
    after: tuple
    record: tuple


def pipeline(config):
    """The ``Pipeline`` of a course ``config``; its autograde list must hold one ``Execute``."""
    section, traits = config.Autograde, Autograde.class_traits()

    def classes(name):
        return [import_item(p) if isinstance(p, str) else p for p in section.get(name, traits[name].default())]

    steps = classes("autograde_preprocessors")
    runs = [i for i, p in enumerate(steps) if issubclass(p, Execute)]
    if len(runs) != 1:
        raise BadInput("c.Autograde.autograde_preprocessors must hold nbgrader's Execute exactly once, got "
                         f"{[p.__name__ for p in steps]}")
    record = tuple(p for p in steps if issubclass(p, RECORDED))
    return Pipeline(tuple(classes("sanitize_preprocessors")), tuple(p for p in steps[:runs[0]] if p not in record),
                    tuple(p for p in steps[runs[0] + 1:] if p not in record), record)


# Run silently in the kernel after a cell's MemoryError: the failed cell's traceback (kept by
# sys.last_*, IPython's traceback formatter and last result) keeps its locals alive, so the next
# cell would find no memory left. Clearing its frames frees them; what stays is what the notebook
# keeps on purpose (globals). Answers the data segment still in use, in KiB.
FREE_FAILED_CELL = """def _mlcourse_free_failed_cell():
    import gc, sys
    errors, seen = [getattr(sys, "last_value", None)], set()
    while errors:
        error = errors.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        tb = error.__traceback__
        while tb is not None:
            try:
                tb.tb_frame.clear()
                tb.tb_frame.f_locals
            except RuntimeError:
                pass
            tb = tb.tb_next
        errors += [error.__cause__, error.__context__]
    gc.collect()
    with open("/proc/self/status") as status:
        return next((int(line.split()[1]) for line in status if line.startswith("VmData:")), -1)
_mlcourse_data_kb = _mlcourse_free_failed_cell()
del _mlcourse_free_failed_cell"""


def _error(ename, evalue):
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


class SandboxedExecute(Execute):
    """nbgrader's ``Execute`` with the kernel in the sandbox, one wall-time limit for the whole
    notebook, a cap on output, and a stopped or dead kernel costing only unfinished cells."""

    def __init__(self, rundir, uid, limits, judged=None, package=None, given=(), **kw):
        super().__init__(**kw)
        self.rundir, self.uid, self.limits = Path(rundir), uid, limits
        # judged: graded names (None: tests run in the kernel); given: the given code's functions
        self.judged, self.given, self.package, self.judge, self.comm_id = judged, given, package, None, None
        self.shutdown_kernel = "immediate"
        # a reply whose last outputs lag (a busy machine) must not fail the notebook, as it does in
        # nbgrader: the reply's status still counts, and floods are caught by the output limit
        self.raise_on_iopub_timeout = False
        self.iopub_timeout = max(self.iopub_timeout, 10)
        self.stop = None  # (status, message) once the kernel was stopped or died
        self.deadline = self.started = self.ended = None
        self.output_bytes = self.forks = 0
        self.zmq_context = zmq.asyncio.Context()
        self.zmq_context.setsockopt(zmq.MAXMSGSIZE, (limits.output_mb + 1) * MB)

    def create_kernel_manager(self):
        name = self.kernel_name or self.nb.metadata.get("kernelspec", {}).get("name") or "python3"
        self.km = SandboxKernelManager(self.rundir, self.rundir / "work", self.uid, self.limits, self.package,
                                       kernel_name=name, context=self.zmq_context, config=self.config)
        return self.km

    def close(self):
        self.zmq_context.destroy(linger=0)

    @property
    def run_seconds(self):
        """Seconds from the first cell's start to the last cell's end (the kernel start excluded)."""
        return 0.0 if self.started is None else self.ended - self.started

    def _get_timeout(self, cell):
        timeout = super()._get_timeout(cell)
        if self.deadline is None:
            return timeout
        left = max(0.05, self.deadline - monotonic())
        return left if timeout is None else min(timeout, left)

    def _halt(self, status, message):
        if self.stop is None:
            self.stop = (status, message)
        log.info("killing the kernel (%s): %s", status, message)
        self.km.kill_now()

    async def _async_check_alive(self):
        # polled about once a second while a cell runs: a fork bomb's copies are reaped here
        if self.uid is not None:
            n = len(user_processes(self.uid))
            if n >= max(2, self.limits.processes // 2):
                self.forks = max(self.forks, n)
                kill_forks(self.uid)
        await super()._async_check_alive()

    async def _async_handle_timeout(self, timeout, cell=None):
        if self.deadline is not None and monotonic() >= self.deadline - 0.01:
            self._halt("timeout", f"time limit of {self.limits.timeout:g} s reached")
            raise DeadKernelError("stopped at the time limit")
        return await super()._async_handle_timeout(timeout, cell)

    def _counted(self, content):
        """Add a message's printed text and data to the notebook's output; halt past the limit."""
        self.output_bytes += len(content.get("text", "")) + sum(len(str(v)) for v in content.get("data", {}).values())
        if self.output_bytes > self.limits.output_mb * MB:
            self._halt("output-limit", f"the notebook printed more than {self.limits.output_mb} MB")

    def output(self, outs, msg, display_id, cell_index):
        self._counted(msg.get("content", {}))
        if self.stop is not None and self.stop[0] == "output-limit":
            return None
        return super().output(outs, msg, display_id, cell_index)

    def _death(self):
        code = self.km.exit_status() if self.km is not None else None
        if code == -signal.SIGXCPU:
            return "cpu-limit", f"CPU-time limit of {self.limits.cpu} s reached"
        if code == -signal.SIGXFSZ:
            return "kernel-died", f"the kernel wrote a file larger than {self.limits.file_mb} MB"
        if code is not None and code < 0:
            return "kernel-died", f"the kernel was killed by {signal.Signals(-code).name}"
        return "kernel-died", f"the kernel exited (exit code {code})"

    async def _async_free_failed_cell(self):
        """Data segment in MiB the kernel still uses after freeing a failed cell's locals, or None
        when it gave no answer in time."""
        msg_id = self.kc.execute(FREE_FAILED_CELL, silent=True, store_history=False, allow_stdin=False,
                                 user_expressions={"kb": "_mlcourse_data_kb"})
        until = min(monotonic() + 15, self.deadline or float("inf"))
        while monotonic() < until:
            try:
                msg = await self.kc.shell_channel.get_msg(timeout=min(1.0, max(0.05, until - monotonic())))
            except Empty:
                await self._async_check_alive()
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                answer = msg["content"].get("user_expressions", {}).get("kb", {})
                try:
                    return int(answer.get("data", {}).get("text/plain", "")) / 1024
                except ValueError:
                    return None
        return None

    def _recover_memory(self, name):
        """After a MemoryError in cell ``name``: free what the failed cell left behind, and stop the
        kernel when the notebook itself still holds nearly all of its memory."""
        limit = self.limits.memory_mb
        try:
            held = run_sync(self._async_free_failed_cell)()
        except DeadKernelError:
            self.stop = ("memory-limit", f"the notebook ran out of memory (limit {limit} MB per process) in cell "
                                         f"{name}, and the kernel died")
            return
        if held is None:
            self._halt("memory-limit", f"the notebook ran out of memory (limit {limit} MB per process) in cell "
                                       f"{name}, and the kernel did not answer afterwards; it was stopped")
        elif held > limit - max(64, limit / 8):
            self._halt("memory-limit", f"the notebook ran out of memory (limit {limit} MB per process) in cell "
                                       f"{name} and still held {held:.0f} MB after that cell had ended: a variable "
                                       "that outlives the cell (a global) keeps it, so the kernel was stopped")

    async def _async_next(self, channel):
        """The next message on ``channel``, or None after a quiet second, within the time limit;
        raise DeadKernelError once the kernel has died or been stopped."""
        left = self.deadline - monotonic()
        if left <= 0:
            self._halt("timeout", f"time limit of {self.limits.timeout:g} s reached")
        if self.stop is not None:
            raise DeadKernelError(self.stop[1])
        try:
            return await channel.get_msg(timeout=min(1.0, max(0.01, left)))
        except Empty:
            await self._async_check_alive()
            return None

    async def _async_run_silently(self, code):
        """Run ``code`` in the kernel without a trace in the notebook, within the time limit."""
        msg_id = self.kc.execute(code, silent=True, store_history=False, allow_stdin=False)
        while True:
            msg = await self._async_next(self.kc.shell_channel)
            if msg is not None and msg["parent_header"].get("msg_id") == msg_id:
                return

    async def _async_send(self, document, buffers):
        """One request to the judge's comm in the kernel, and its reply (document, buffers)."""
        if self.comm_id is None:
            await self._async_run_silently("__import__('mlcourse.grading.wire', fromlist=['listen'])"
                                           ".listen(get_ipython().user_ns)")
            self.comm_id = uuid.uuid4().hex
            self.kc.shell_channel.send(self.kc.session.msg("comm_open", {"comm_id": self.comm_id,
                                                                         "target_name": wire.TARGET, "data": {}}))
        msg = self.kc.session.msg("comm_msg", {"comm_id": self.comm_id, "data": document})
        msg["buffers"] = buffers
        self.kc.shell_channel.send(msg)
        return await self._async_await_reply(msg["header"]["msg_id"])

    async def _async_await_reply(self, msg_id):
        while True:
            try:
                msg = await self._async_next(self.kc.iopub_channel)
            except (DeadKernelError, CellTimeoutError):
                raise
            except Exception as err:  # a message the session cannot even parse
                raise wire.ReplyError(f"the kernel sent an unreadable message ({type(err).__name__})") from None
            if msg is None:
                continue
            content = msg.get("content", {})
            if content.get("comm_id") == self.comm_id and msg["msg_type"] in ("comm_msg", "comm_close"):
                if msg["msg_type"] == "comm_close":  # no listener: the notebook broke the kernel's messaging
                    self.comm_id = None
                    raise wire.ReplyError("the kernel did not answer the judge (its channel was closed: did the "
                                          "notebook change how the kernel runs code or imports modules?)")
                if msg["parent_header"].get("msg_id") == msg_id:
                    return content.get("data"), msg.get("buffers") or []
            self._counted(content)

    def _judge_cell(self, cell, resources, index):
        from .judge import Judge

        if self.judge is None:
            self.judge = Judge(run_sync(self._async_send), self.judged, self.nb, self.given)
        cell.outputs, cell.execution_count = [], index + 1
        cell.outputs = self.judge.run_cell(cell, index + 1)
        return cell, resources

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.source.strip():
            return cell, resources
        if self.stop is not None:
            cell.outputs = [_error(NOT_RUN, f"not run: {self.stop[1]}")]
            return cell, resources
        if self.deadline is None:
            self.started = monotonic()
            self.deadline = self.started + self.limits.timeout
        try:
            if self.judged is not None and utils.is_grade(cell) and not utils.is_solution(cell):
                cell, resources = self._judge_cell(cell, resources, index)
            else:
                cell, resources = super().preprocess_cell(cell, resources, index)
            if self.uid is not None and any(o.get("ename") == "BlockingIOError" for o in cell.outputs):
                self.forks = max(self.forks, kill_forks(self.uid) + 1)
            if self.stop is None and any(o.get("ename") == "MemoryError" for o in cell.outputs):
                self._recover_memory(cell.metadata.get("nbgrader", {}).get("grade_id", f"{index + 1} (not graded)"))
            return cell, resources
        except DeadKernelError:
            if self.stop is None:
                self.stop = self._death()
        except CellTimeoutError as err:  # IOPub never went idle: output lost or kernel stuck
            flood = self.output_bytes > MB
            self._halt("output-limit" if flood else "timeout", f"the kernel's output stopped arriving ({err})")
        finally:
            self.ended = monotonic()
        name = cell.metadata.get("nbgrader", {}).get("grade_id", f"{index + 1} (not graded)")
        self.stop = (self.stop[0], f"{self.stop[1]} in cell {name}")
        cell.outputs.append(_error(STOPPED, self.stop[1]))
        return cell, resources


def _resources(spec, student, ctx, workdir=None):
    res = {"unique_key": spec.notebook, "output_files_dir": f"{spec.notebook}_files",
           "nbgrader": {"student": student, "assignment": spec.assignment, "notebook": spec.notebook,
                        "db_url": ctx.db_url}}
    if workdir is not None:
        res["metadata"] = {"path": str(workdir)}
    return res


def stage_files(dest, submission_folder, source_folder, ignore):
    """Copy the non-notebook files of a submission, then those of the assignment's source
    folder over them (what nbgrader puts beside the notebook it grades)."""
    for folder in (submission_folder, source_folder):
        if folder is None or not Path(folder).is_dir():
            continue
        for name in utils.find_all_files(str(folder), list(ignore) + ["*.ipynb", "timestamp.txt"]):
            target = Path(dest) / os.path.relpath(name, folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                target.unlink()
            shutil.copy(name, target)
