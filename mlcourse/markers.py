"""nbgrader's regions in a cell's source, parsed in one place: solutions (``BEGIN SOLUTION`` ...
``END SOLUTION``), hidden tests and mark schemes, with the delimiters of the course config
(``ClearSolutions.begin_solution_delimeter`` and the like, nbgrader's own spelling). A nested or
unterminated region is refused with nbgrader's own words, as ``nbgrader generate_assignment``
would refuse it."""
from dataclasses import dataclass

from .errors import BadInput

SOLUTION, HIDDEN, MARK_SCHEME = "solution", "hidden test", "mark scheme"
# region -> (nbgrader preprocessor, its begin and end traits, their default values)
TRAITS = {
    SOLUTION: ("ClearSolutions", "begin_solution_delimeter", "end_solution_delimeter",
               "BEGIN SOLUTION", "END SOLUTION"),
    HIDDEN: ("ClearHiddenTests", "begin_test_delimeter", "end_test_delimeter",
             "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"),
    MARK_SCHEME: ("ClearMarkScheme", "begin_mark_scheme_delimeter", "end_mark_scheme_delimeter",
                  "BEGIN MARK SCHEME", "END MARK SCHEME"),
}
NESTED = {SOLUTION: "encountered nested begin solution statements",
          HIDDEN: "Encountered nested begin hidden tests statements",
          MARK_SCHEME: "Encountered nested begin mark scheme statements"}
UNTERMINATED = {SOLUTION: "no end solution statement found", HIDDEN: "No end hidden tests statement found",
                MARK_SCHEME: "No end mark scheme tests statement found"}


@dataclass(frozen=True)
class Delimiters:
    """{region: (begin, end)}, as ``pairs``; ``Delimiters()`` holds nbgrader's defaults."""
    pairs: tuple = tuple((kind, begin, end) for kind, (_, _, _, begin, end) in TRAITS.items())

    @classmethod
    def from_config(cls, config):
        """The delimiters a course's nbgrader config sets (defaults where it sets none)."""
        pairs = []
        for kind, (section, begin_trait, end_trait, begin, end) in TRAITS.items():
            settings = config[section] if section in config else {}
            pairs.append((kind, settings.get(begin_trait, begin), settings.get(end_trait, end)))
        return cls(tuple(pairs))

    def of(self, kind):
        """(begin, end) of one region."""
        return next((begin, end) for k, begin, end in self.pairs if k == kind)

    def marker_in(self, line):
        """The delimiter ``line`` holds, or None."""
        return next((m for _, begin, end in self.pairs for m in (begin, end) if m in line), None)


def regions(source, delimiters=Delimiters(), where="a cell"):
    """[(region or None, line, is_marker)] for each line of ``source``: the region the line is
    in (marker lines count as inside it). Raises ``BadInput`` with nbgrader's message on a
    nested or unterminated region."""
    out, inside = [], None
    for line in source.split("\n"):
        for kind, begin, end in delimiters.pairs:
            if begin in line:
                if inside is not None:
                    raise BadInput(f"{where}: {NESTED[kind] if inside == kind else 'a region begins inside another'}")
                inside = kind
                out.append((kind, line, True))
                break
            if end in line:
                out.append((inside or kind, line, True))
                inside = None
                break
        else:
            out.append((inside, line, False))
    if inside is not None:
        raise BadInput(f"{where}: {UNTERMINATED[inside]}")
    return out
