"""One rule for the names that come from data or config: entity and relation labels,
extractor and annotator names, and label colours.

A name is checked where it enters (models' validators, the config, importers, the
command line): printable, no control or format characters, at most
``MAX_NAME_LENGTH`` characters.  A colour must parse as a Rich ``Color``.  What the
store already holds is read leniently (see ``models.LENIENT``), so a store written
before these rules still opens; :func:`scheme_problems` lists what it holds that the
rules refuse, and :func:`safe_colour` gives a colour to show in its place.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.color import Color, ColorParseError, ColorType

if TYPE_CHECKING:
    from .models import LabelScheme

MAX_NAME_LENGTH = 100
FALLBACK_COLOUR = "#7f7f7f"
"""Shown in place of a stored colour that does not parse (a grey)."""


def name_problem(value: object) -> str | None:
    """Why ``value`` is not an acceptable name, or None."""
    if not isinstance(value, str):
        return f"must be a string, not {type(value).__name__}"
    if not value:
        return "must not be empty"
    if len(value) > MAX_NAME_LENGTH:
        return f"is {len(value)} characters long (at most {MAX_NAME_LENGTH})"
    if value.isprintable():
        return None
    for index, char in enumerate(value):
        # isprintable() is False for control (Cc), format (Cf: bidi overrides, zero
        # width), surrogate, private-use and unassigned code points, and for every
        # separator but the space.
        if not char.isprintable():
            return (f"holds the control or invisible character U+{ord(char):04X} at "
                    f"position {index}")
    return None


def label_problem(value: object) -> str | None:
    """Why ``value`` cannot be an entity or relation label: a name that also holds no
    whitespace (brat's .ann and annotation.conf, and CoNLL, separate fields with it)."""
    problem = name_problem(value)
    if problem is None and any(c.isspace() for c in value):  # type: ignore[attr-defined]
        problem = "contains whitespace"
    return problem


def _refused(value: str, what: str, problem: str | None) -> str:
    """``value`` when there is no ``problem``, else a ``ValueError`` that names it."""
    if problem is not None:
        raise ValueError(f"{what} {value!r:.120} {problem}")
    return value


def check_label(value: str, what: str = "label") -> str:
    """``value`` if it is an acceptable label, else a ``ValueError`` that names it."""
    return _refused(value, what, label_problem(value))


def check_name(value: str, what: str = "name") -> str:
    """``value`` if it is an acceptable ``what`` (e.g. "entity label"), else a
    ``ValueError`` that names it."""
    return _refused(value, what, name_problem(value))


def colour_problem(value: object) -> str | None:
    if not isinstance(value, str):
        return f"must be a string, not {type(value).__name__}"
    try:
        parsed = Color.parse(value)
    except ColorParseError:
        return ("is not a colour (use a name such as red or dark_cyan, #rrggbb, "
                "or rgb(r,g,b))")
    if parsed.type == ColorType.DEFAULT:
        return "is the terminal's default, not a colour"
    return None


def check_colour(value: str, what: str = "colour") -> str:
    """``value`` if Rich parses it as a colour, else a ``ValueError`` naming it."""
    return _refused(value, what, colour_problem(value))


def safe_colour(value: object) -> str:
    """``value`` if it is a colour, else :data:`FALLBACK_COLOUR`: for showing what a
    store holds without trusting it."""
    return value if isinstance(value, str) and colour_problem(value) is None else FALLBACK_COLOUR


def label_colours(scheme: LabelScheme) -> dict[str, str]:
    """Each entity label's colour by name; a stored colour that is not one shows as
    :data:`FALLBACK_COLOUR`."""
    return {label.name: safe_colour(label.colour) for label in scheme.entities}


def css_colour(value: object) -> str:
    """The colour as ``#rrggbb`` (all a stylesheet ever receives), or the fallback."""
    return Color.parse(safe_colour(value)).get_truecolor().hex


def scheme_problems(scheme: LabelScheme, *, extractors: Iterable[str] = (),
                    annotators: Iterable[str] = ()) -> list[str]:
    """What a store holds that the rules refuse, one line each, for a notice (the UI
    shows such names escaped, and bad colours as the fallback grey).  Pass
    ``store.labels``, and ``store.extractors()`` and ``store.annotators()`` to check
    those names too."""
    problems = []
    for what, names in (("extractor name", extractors), ("annotator name", annotators)):
        for name in names:
            problem = name_problem(name)
            if problem:
                problems.append(f"{what} {name!r:.60} {problem}")
    for label in scheme.entities:
        problem = name_problem(label.name)
        if problem:
            problems.append(f"entity label {label.name!r:.60} {problem}")
        problem = colour_problem(label.colour)
        if problem:
            problems.append(f"entity label {label.name!r:.60}: colour {label.colour!r:.60} "
                            f"{problem}; shown as {FALLBACK_COLOUR}")
    for rel in scheme.relations:
        problem = name_problem(rel.name)
        if problem:
            problems.append(f"relation label {rel.name!r:.60} {problem}")
    return problems
