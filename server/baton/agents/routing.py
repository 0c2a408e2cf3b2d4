"""The deterministic fast path of routing: obvious tasks are routed without a model call.

`fast_route` reads the task the way a person would skim it: is it a question or a
change request, is the change anchored to a selection / diagnostic / one named file,
and does anything say the work reaches further (several files, "everywhere", a
feature, a migration). When the signals disagree or are missing it returns
`route=None` and the model classifier decides; a wrong fast answer costs the person
either money (plan for a one-liner) or an approval they rely on (edit for a
refactor), so deferring is always the safe choice.

`promote_edit` is the safety net after the fact: an `edit` run whose change turned
out bigger than an edit is promoted to `plan` and asks for approval.
"""

from __future__ import annotations

import posixpath
import re

from pydantic import BaseModel, Field

from ..wire import Route


class RouteGuess(BaseModel):
    route: Route | None  # None: unsure, ask the model classifier
    confidence: float = Field(ge=0.0, le=1.0)
    reason: str


# Verbs that ask for a change when they start a clause ("fix it", "please add ...").
CHANGE_VERBS = frozenset("""
    add fix make change rename remove delete drop refactor implement update replace convert
    write create move extract migrate port upgrade downgrade bump split simplify optimize
    optimise clean tidy handle support use switch set introduce wire build sort translate
    inline swap memoize memoise turn resolve silence document restructure rewrite reorganize
    reorganise generate include enable disable allow cache deprecate merge apply patch
    correct format reformat cover raise return guard wrap unwrap avoid prevent ensure
    validate sanitize escape replace shorten rework reword adjust tweak increase decrease
    lower limit parametrize parameterize annotate type-hint dedupe deduplicate vendor pin
    unpin install configure expose hide hook register test
""".split())

# Verbs that ask for information, not a change ("explain this", "list the callers").
INFO_VERBS = frozenset("""
    explain describe summarize summarise tell show list find review check look walk compare
    identify trace analyze analyse outline clarify eli5 what why how where when which who
""".split())

# Opening words that make a sentence a question even without a question mark.
WH_WORDS = frozenset("what what's whats why how how's where where's when which who who's whose".split())

# Ways people wrap a request as a question or a courtesy; stripped before looking for the verb.
_POLITE = re.compile(
    r"^(?:(?:please|pls|plz|kindly|just|also|now|ok(?:ay)?|so|hey|hi)\b[\s,]*)*"
    r"(?:(?:can|could|would|will)\s+(?:you|u|we)\s+(?:please\s+)?(?:mind\s+)?"
    r"|(?:go\s+ahead\s+and|let'?s|let\s+us|i\s+(?:want|need|would\s+like)\s+you\s+to"
    r"|help\s+me)\s+)?(?:please\s+)?")

# Openings that make a sentence a question about the code even with a change verb in it.
_ASK_PHRASES = re.compile(
    r"^(?:how\s+(?:do|would|should|can|could|might)\s+(?:i|we|you|one)\b"
    r"|what(?:'s|\s+is)\s+the\s+best\s+way|what\s+would\s+it\s+take|is\s+it\s+worth"
    r"|should\s+(?:i|we)\b|i\s+(?:don'?t|do\s+not)\s+(?:understand|get)\b"
    r"|i'?m\s+(?:curious|wondering|confused)|(?:just\s+)?curious\b|wondering\b"
    r"|any\s+idea\b|not\s+sure\s+(?:why|how|what)|can\s+you\s+(?:explain|tell|show|describe"
    r"|walk|help\s+me\s+understand)|could\s+you\s+(?:explain|tell|show|describe|walk))")

# A statement of how things should be is a change request ("the timeout should be configurable").
_DESIRE = re.compile(
    r"\b(?:should(?:\s+not|n'?t)?\s+(?:be|return|accept|raise|use|have|work|not|only|never|always)"
    r"|needs?\s+(?:to\s+)?\w+|i\s+want\b|we\s+want\b|it\s+would\s+be\s+nice\s+if)")

# The work reaches past one place.
_BREADTH = re.compile(
    r"\b(?:everywhere|throughout|across|codebase|code\s+base|project[- ]wide|repo[- ]wide"
    r"|whole|entire|every|all\s+(?:the\s+)?(?:\w+\s+)?\w+s\b|all\s+(?:call(?:ers|\s+sites)|usages"
    r"|uses|references|occurrences|places)|the\s+other\s+\w+s\b|each\s+(?:file|module|handler"
    r"|endpoint|command|test|function|class))")

# New places to write: another module, a package of its own.
_NEW_PLACES = re.compile(
    r"\b(?:(?:its|their)\s+own\s+(?:module|package|file|folder|directory|crate|library)"
    r"|(?:new|separate)\s+(?:modules|packages|files|folders|directories)"
    r"|(?:into|in)\s+a\s+(?:new\s+)?(?:package|library)"
    r"|(?:with|and)\s+(?:its\s+|their\s+|the\s+)?(?:tests|docs|documentation|callers)\b"
    r"|update\s+(?:the\s+)?(?:imports|callers|client|docs|tests))")

# Work that changes how the project is built (only when nothing anchors it).
_PROJECT_VERBS = re.compile(
    r"\b(?:migrate|migration|port\s+(?:the|it|this|our|from|to)|upgrade|switch\s+(?:from|to)"
    r"|replace\s+.+\bwith\b|refactor|restructure|reorgani[sz]e|re-?architect|split\s+.+\binto"
    r"|extract\s+.+\binto|implement|introduce|build\s+(?:a|an|the)|support)")
# Words that name a capability; a request to add one is a feature. Not when the request is
# a fix: "the login page is broken, fix it" says where the bug is, not what to build.
_FEATURE_NOUNS = re.compile(
    r"\b(?:feature|integration|plugin|endpoints?|api|oauth|login|authentication|auth|i18n"
    r"|locali[sz]ation|pagination|mode|ci|pipeline|page|layer|backend|frontend"
    r"|users\s+(?:can|to|should)|be\s+able\s+to)\b")
_FIX = re.compile(r"\b(?:fix\w*|broken|bugs?|buggy|crash\w*|fails?|failing|errors?)\b")


def _project_work(text: str) -> re.Match[str] | None:
    verb = _PROJECT_VERBS.search(text)
    if verb or _FIX.search(text):
        return verb
    return _FEATURE_NOUNS.search(text)


# Small edits that a single named file bounds well.
_SMALL_CHANGE = re.compile(
    r"\b(?:typos?|spelling|version|bump|rename|unused|import|link|port|copyright|year"
    r"|log\s+level|default|constant|comment|docstring|keys?|entry|entries|line|dependency"
    r"|extras?|setting|value|name|ignore|dockerfile|readme)\b")

_FILE_EXTS = (
    "py pyi md rst txt toml cfg ini conf yaml yml json jsonc lock js jsx ts tsx mjs cjs go rs c h "
    "cc cpp hpp java kt swift rb php cs lua vim sh bash zsh fish sql html css scss vue svelte "
    "xml proto graphql tf env gitignore gitattributes dockerignore editorconfig").split()
_FILE = re.compile(
    r"(?<![\w@])(?:[\w.-]+/)*[\w-]*\.(?:" + "|".join(_FILE_EXTS) + r")(?![\w/])"
    r"|\b(?:Dockerfile|Makefile|LICENSE|README|CHANGELOG|CONTRIBUTING|Justfile|Procfile)\b")
_QUOTED = re.compile(r"`[^`]*`|\"[^\"]*\"|'[^'\s][^']*'(?=\s|$|[.,;:!?])")
_CLAUSES = re.compile(r"[.;!?:\n]+|,\s*|\s+(?:and|then|but|also|so)\s+")
_WORD = re.compile(r"[a-z0-9_'-]+")


def count_files_named(task: str) -> int:
    """Distinct file names in the task text (`a.py`, `docs/x.md`, `.gitignore`, `Dockerfile`)."""
    return len({m.group(0).lower() for m in _FILE.finditer(task)})


def _verb(word: str) -> str:
    """Base form of a gerund ("making" → "make", "swapping" → "swap"), else the word."""
    if word.endswith("ing") and len(word) > 5:
        stem = word[:-3]
        for cand in (stem, stem + "e", stem[:-1]):
            if cand in CHANGE_VERBS:
                return cand
    return word


def _clause_kinds(text: str) -> tuple[int, int]:
    """(change clauses, info clauses): clauses that open with a change or an info verb."""
    change = info = 0
    for clause in _CLAUSES.split(text):
        clause = clause.strip()
        stripped = _POLITE.sub("", clause, count=1)
        wrapped = stripped != clause
        clause = stripped
        words = _WORD.findall(clause)
        if not words:
            continue
        first = _verb(words[0])
        if first == "get" and words[1:3] == ["rid", "of"]:
            change += 1
        elif first in ("have", "get") and wrapped:
            change += 1  # "can we have a --dry-run flag": a request for something new
        elif first in CHANGE_VERBS and not (first == "use" and len(words) > 1 and words[1] == "case"):
            change += 1
        elif first in INFO_VERBS:
            info += 1
    return change, info


def _is_question(text: str) -> bool:
    if _ASK_PHRASES.match(text):
        return True
    first = (_WORD.findall(text) or [""])[0]
    if text.rstrip().endswith("?"):
        return True
    # Without a question mark only a wh-word marks a question: an opening "do", "have" or
    # "can we" is as often an imperative or a request ("do the same for the reviewer").
    return first in WH_WORDS


def _asks_for_change(text: str, changes: int) -> bool:
    if changes:
        return True
    if re.match(r"^fix\b", text) or re.search(r"\bfix(?:\s+(?:it|this|that))?\s*[.!]?$", text):
        return True
    return bool(_DESIRE.search(text)) and not _is_question(text)


def fast_route(task: str, *, has_selection: bool, has_diagnostic: bool,
               files_named: int | None = None) -> RouteGuess:
    """Route an obvious task without a model, or return route=None to defer to the classifier.

    `files_named` overrides the count of file names found in the task text.
    """
    raw = " ".join(task.split())
    if not _WORD.search(raw.lower()):
        return RouteGuess(route=None, confidence=0.0, reason="the task has no words to go by")
    # Quoted text is data (an error message, a name), not instructions: "Fix: 'os' imported but unused".
    text = _QUOTED.sub(" q ", raw).lower()
    files = count_files_named(raw) if files_named is None else files_named
    anchored = has_selection or has_diagnostic
    anchor = "the selection" if has_selection else "the diagnostic"
    changes, infos = _clause_kinds(text)
    question = _is_question(text)
    ask_phrase = bool(_ASK_PHRASES.match(text))
    change = _asks_for_change(text, changes) and not ask_phrase
    words = len(_WORD.findall(text))

    if has_diagnostic and re.match(r"^fix\s*:", raw.lower()):
        return RouteGuess(route=Route.EDIT, confidence=0.95,
                          reason="a 'Fix' request on a diagnostic: one targeted change")

    if not change:
        if question or infos:
            where = f" about {anchor}" if anchored else ""
            return RouteGuess(route=Route.ASK, confidence=0.9,
                              reason=f"a question{where}; no change is asked for")
        return RouteGuess(route=None, confidence=0.0,
                          reason="neither a clear question nor a clear change request")

    # A change is asked for. What says it reaches past one place?
    breadth = _BREADTH.search(text)
    if breadth:
        return RouteGuess(route=Route.PLAN, confidence=0.9,
                          reason=f"the change reaches across the project ('{breadth.group(0)}')")
    if files >= 2:
        return RouteGuess(route=Route.PLAN, confidence=0.85,
                          reason=f"the task names {files} files")
    new_place = _NEW_PLACES.search(text)
    if new_place:
        return RouteGuess(route=Route.PLAN, confidence=0.8,
                          reason=f"the change reaches other files ('{new_place.group(0)}')")
    if changes >= (3 if anchored else 2):
        return RouteGuess(route=Route.PLAN, confidence=0.75,
                          reason=f"the task asks for {changes} separate changes")

    if anchored:
        if words <= 25:
            return RouteGuess(route=Route.EDIT, confidence=0.85,
                              reason=f"a short change request on {anchor}")
        return RouteGuess(route=None, confidence=0.0,
                          reason=f"a long request on {anchor}: its scope is unclear")

    project = _project_work(text)
    if project and files == 0:
        return RouteGuess(route=Route.PLAN, confidence=0.75,
                          reason=f"project-level work with no selection or file to bound it "
                                 f"('{project.group(0)}')")
    # A second object ("the README and the docs site") means a second place to change.
    if files == 1 and words <= 16 and not project and " and " not in text and _SMALL_CHANGE.search(text):
        return RouteGuess(route=Route.EDIT, confidence=0.75,
                          reason="a small change to the one file the task names")
    return RouteGuess(route=None, confidence=0.0,
                      reason="a change request with nothing that bounds its scope")


def _norm(path: str) -> str:
    return posixpath.normpath(path.replace("\\", "/")).lstrip("/") if path else path


def promote_edit(files_changed: int, lines_changed: int, selected_file: str | None,
                 changed_paths: list[str], max_lines: int) -> str | None:
    """Why an `edit` run's change should go through `plan` approval instead, or None.

    Paths are workspace-relative. Without a selected file, more than one changed file
    is already more than an edit.
    """
    paths = sorted({_norm(p) for p in changed_paths})
    n_files = max(files_changed, len(paths))
    if selected_file is not None:
        sel = _norm(selected_file)
        others = [p for p in paths if p != sel]
        if others:
            shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
            return f"the change touches {shown} besides the selected file {sel}"
        if n_files > 1 and not paths:
            return f"the change touches {n_files} files besides the selected file {sel}"
    elif n_files > 1:
        return f"the change touches {n_files} files; an edit changes one"
    if lines_changed > max_lines:
        return f"the change is {lines_changed} lines, more than the {max_lines} an edit may change"
    return None
