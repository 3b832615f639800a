"""Near-copies in a class: of the answer key, or of each other. Reported, never scored.

Each submission's answer cells are compared by winnowing with ``copydetect``: the code is
tokenized with every name and string masked (so renaming hides nothing), cut into overlapping
k-grams of tokens short enough to sit inside one statement (so reordering lines hides little),
fingerprinted, and two texts are as similar as the share of their fingerprints they have in
common. The released stubs (signatures, docstrings) are boilerplate and count for nothing.
"""
import hashlib
import inspect
import io
from contextlib import contextmanager
from dataclasses import dataclass, field
from unittest import mock

import nbformat
import numpy as np
import copydetect.utils
from copydetect import CodeFingerprint, compare_files
from nbgrader import utils

# Tuned on 02_svm's answer key, three solutions written independently of it and a disguised copy
# (tests/independent_solutions/): the copy shares 0.83 with the key, the closest independent one 0.58.
NOISE = 15        # the shortest run of masked characters that counts as shared (copydetect's noise threshold)
GUARANTEE = 18    # runs this long are always found (its guarantee threshold)
THRESHOLD = 0.7   # flag when this share of either side's code is shared
MIN_TOKENS = 40   # texts with fewer fingerprinted characters than this are too short to judge
REFERENCE = "the answer key"


@dataclass(frozen=True)
class Flag:
    """``student``'s answers share ``similarity`` of their code with ``other`` (another student,
    or the answer key); ``mine`` and ``theirs`` are the lines holding the shared code on each side."""
    student: str
    other: str
    similarity: float
    mine: str = field(default="", compare=False, repr=False)
    theirs: str = field(default="", compare=False, repr=False)

    def __str__(self):
        return f"{self.other} ({self.similarity:.0%})"


def answer_text(nb):
    """The source of the answer cells of a notebook (parsed, or its bytes), in order."""
    if isinstance(nb, (bytes, str)):
        try:
            nb = nbformat.reads(nb, as_version=4)
        except Exception:  # an unreadable notebook has no answers to compare
            return ""
    return "\n\n".join(c.source for c in nb.cells if c.cell_type == "code" and utils.is_solution(c))


def reference_texts(source_nb, answer_key_objects):
    """What a copy of the answer key would be copied from: the instructor notebook's answer
    cells and the source of each reference object."""
    texts = [answer_text(source_nb)]
    texts += [inspect.getsource(obj) for obj in answer_key_objects]
    return "\n\n".join(texts)


def class_flags(ctx, specs, answers):
    """``find_copies`` for ``answers`` ({student: answer text}) of the assignment of ``specs``
    (one per notebook) in the course ``ctx``: against its answer key, with the stubs nbgrader
    releases as boilerplate."""
    from nbgrader.preprocessors import ClearSolutions

    from ..answer_key import resolve
    from .spec import source_notebook

    references, stubs = [], []
    for spec in specs:
        source_nb = nbformat.read(source_notebook(ctx, spec.assignment, spec.notebook), as_version=4)
        released, _ = ClearSolutions(config=ctx.config).preprocess(nbformat.from_dict(source_nb), {})
        references.append(reference_texts(source_nb, [resolve(name) for name in spec.answer_key]))
        stubs.append(answer_text(released))
    return find_copies(answers, "\n\n".join(references), "\n\n".join(stubs))


def _stable_kgram_hashes(text, k):
    """copydetect's k-gram hashes, from a fixed hash rather than Python's per-process ``hash``,
    so that a class gets the same similarities in every run."""
    return np.array([int.from_bytes(hashlib.blake2b(text[i:i + k].encode(), digest_size=8).digest(), "little",
                                    signed=True) for i in range(len(text) - k + 1)], dtype=np.int64)


@contextmanager
def _stable_hashes():
    with mock.patch.object(copydetect.utils, "hashed_kgrams", _stable_kgram_hashes):
        yield


class _Fingerprints:
    def __init__(self, boilerplate):
        self.win = GUARANTEE - NOISE + 1
        every = CodeFingerprint("boilerplate", NOISE, 1, language="python", fp=io.StringIO(boilerplate)).hashes
        self.boilerplate = np.unique(np.array(sorted(every), dtype=np.int64))

    def __call__(self, name, text):
        fp = CodeFingerprint(name, NOISE, self.win, self.boilerplate, language="python", fp=io.StringIO(text))
        return fp if fp.token_coverage >= MIN_TOKENS else None


def matched_lines(fingerprint, slices, limit=60):
    """The whole lines of ``fingerprint``'s code that hold the shared ``slices`` (at most ``limit``)."""
    code = fingerprint.raw_code
    lines = set()
    for start, end in zip(*slices):
        first = code.count("\n", 0, int(start))
        lines.update(range(first, first + code.count("\n", int(start), int(end)) + 1))
    every = code.split("\n")
    return "\n".join(every[i] for i in sorted(lines)[:limit] if i < len(every))


def find_copies(answers, reference, boilerplate, threshold=THRESHOLD):
    """Flags for ``answers`` ({student: answer text}) against ``reference`` (text of the answer
    key) and each other; ``boilerplate`` is the released notebook's answer cells. One flag per
    student and other, both directions for a pair of students, most similar first."""
    with _stable_hashes():
        fingerprint = _Fingerprints(boilerplate)
        prints = {s: fingerprint(s, text) for s, text in sorted(answers.items())}
        prints = {s: p for s, p in prints.items() if p is not None}
        key = fingerprint(REFERENCE, reference)
    flags = []
    students = sorted(prints)
    for i, student in enumerate(students):
        if key is not None:
            _, (mine, _), (at, at_key) = compare_files(prints[student], key)
            if mine >= threshold:
                flags.append(Flag(student, REFERENCE, float(mine), matched_lines(prints[student], at),
                                  matched_lines(key, at_key)))
        for other in students[i + 1:]:
            _, (a, b), (at, at_other) = compare_files(prints[student], prints[other])
            if max(a, b) >= threshold:
                mine, theirs = matched_lines(prints[student], at), matched_lines(prints[other], at_other)
                flags += [Flag(student, other, float(max(a, b)), mine, theirs),
                          Flag(other, student, float(max(a, b)), theirs, mine)]
    return sorted(flags, key=lambda f: (-f.similarity, f.student, f.other))
