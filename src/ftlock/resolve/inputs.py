"""The user's input lines as the solver's requirements for one target.

Requirement lines (and constraint lines) become :class:`~ftlock.resolve.candidates.Requirement`
values: a marker that excludes the target drops the line, a path or URL becomes a direct
reference.  The front door parses them before the solver is loaded, to start fetching
what they name (:func:`ftlock.resolve.session.start`).
"""

from __future__ import annotations

from pathlib import Path

from packaging.markers import InvalidMarker
from packaging.requirements import InvalidRequirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from ftlock.errors import UsageError
from ftlock.resolve.candidates import Requirement
from ftlock.resolve.direct import is_direct_reference
from ftlock.resolve.reqfile import InputLine, ParsedInputs
from ftlock.resolve.target import Target
from ftlock.untrusted import parse_pep508, shorten


def input_requirement(line: InputLine, target: Target) -> Requirement | None:
    """Parse one user requirement; None when its marker excludes the target."""
    text = line.text.strip()
    if is_direct_reference(text):
        if "://" in text:
            url = text
        else:
            base = line.base_dir or Path.cwd()
            try:
                path: Path | None = (base / Path(text).expanduser()).resolve()
            except RuntimeError:  # ~user/... of an unknown user: not a path after all
                path = None
            if path is None or not path.exists():
                where = "" if line.origin == "requested" else f"{line.origin}: "
                raise UsageError(f"{where}{text!r} is neither a requirement nor an existing path")
            url = path.as_uri()
        return Requirement(canonicalize_name("<direct>"), url=url, text=text)
    try:
        req = parse_pep508(text)
    except InvalidRequirement as exc:
        where = "" if line.origin == "requested" else f"{line.origin}: "
        raise UsageError(f"{where}invalid requirement {shorten(text)!r}: {str(exc).splitlines()[0]}") from None
    if req.marker is not None:
        try:
            if not req.marker.evaluate({**target.markers, "extra": ""}):
                return None
        except InvalidMarker as exc:  # pragma: no cover - parsed already
            raise UsageError(f"invalid marker in {text!r}: {exc}") from None
    result = Requirement.from_pep508(req, text)
    if result.url and "://" not in result.url and not result.url.startswith("file:"):
        base = line.base_dir or Path.cwd()
        result = Requirement(
            result.name, result.specifier, result.extras, (base / result.url).resolve().as_uri(), text
        )
    return result


def parse_inputs(
    inputs: ParsedInputs, target: Target
) -> tuple[list[Requirement], list[str], dict[str, SpecifierSet]]:
    """The requirements that apply to the target (with each one's origin, for ``# via``) and
    the constraints, merged per project."""
    parsed = [(line, input_requirement(line, target)) for line in inputs.requirements]
    requirements = [req for _, req in parsed if req is not None]
    origins = [line.origin for line, req in parsed if req is not None]
    constraints: dict[str, SpecifierSet] = {}
    for line in inputs.constraints:
        req = input_requirement(line, target)
        if req is None:
            continue
        if req.url:
            raise UsageError(f"{line.origin}: constraints cannot be direct references ({line.text})")
        constraints[req.name] = constraints.get(req.name, SpecifierSet()) & req.specifier
    return requirements, origins, constraints
