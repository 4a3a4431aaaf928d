"""Carry entity labels across machine translation with markers.

Before translation every entity of a source Doc is wrapped in a marker that names its type;
after translation the markers are found again, the text between them becomes an entity of
that type, and the markers are removed. The type is read from the marker itself (never
guessed from position or order), and the multiset of types found must equal the source's:
a sentence whose markers come back lost, duplicated, unbalanced, nested/overlapping, empty or
renamed is rejected with a :class:`ProjectionDrop` that names the reason, so the caller can
count it. Two marker styles exist because engines differ:

- ``brackets``: ``[PER Angela Merkel ]`` for engines that treat input as plain text. Literal
  square brackets in the source are escaped to fullwidth ``［］`` and restored afterwards, so
  every ASCII bracket in the output is a marker.
- ``html``: ``<span class="PER">Angela Merkel</span>`` for engines that keep markup (apertium
  ``-f html``). Text is HTML-escaped before and unescaped after.
"""
import html
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from ..data.docdata import get_pair_id, set_pair
from ..errors import InputError

# Drop reasons; stable strings, they are keys of the JSON report.
EMPTY_TRANSLATION = "empty_translation"
MARKER_LOST = "marker_lost"
MARKER_DUPLICATED = "marker_duplicated"
MARKER_UNBALANCED = "marker_unbalanced"
MARKER_OVERLAP = "marker_overlap"
MARKER_LABEL_CHANGED = "marker_label_changed"
EMPTY_ENTITY = "empty_entity"
DROP_REASONS = (
    EMPTY_TRANSLATION,
    MARKER_LOST,
    MARKER_DUPLICATED,
    MARKER_UNBALANCED,
    MARKER_OVERLAP,
    MARKER_LABEL_CHANGED,
    EMPTY_ENTITY,
)

Span = Tuple[int, int, str]  # character start, end, label in the plain target text


class ProjectionDrop(ValueError):
    """A translation whose markers cannot be trusted; ``reason`` is one of DROP_REASONS."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Segment:
    """A piece of recovered text; ``label`` is None outside entities."""

    text: str
    label: Optional[str] = None


class MarkerStyle:
    """How entities are wrapped before MT and found again after it."""

    name: str = ""

    def escape(self, text: str) -> str:
        raise NotImplementedError

    def unescape(self, text: str) -> str:
        raise NotImplementedError

    def wrap(self, text: str, label: str) -> str:
        raise NotImplementedError

    def segments(self, text: str, labels: Sequence[str]) -> List[Segment]:
        """Split marked text into plain and entity segments (still escaped).

        ``labels`` are the types the source sentence had; a marker naming any other type is
        a :data:`MARKER_LABEL_CHANGED` drop.
        """
        raise NotImplementedError


def _resolve_label(found: str, labels: Sequence[str]) -> str:
    """Map a marker's type back to a source type, tolerating an engine's case change only."""
    if found in labels:
        return found
    folded = {label.casefold(): label for label in labels}
    if found.casefold() in folded:
        return folded[found.casefold()]
    raise ProjectionDrop(MARKER_LABEL_CHANGED, f"marker type {found!r} not in {sorted(set(labels))}")


def _scan(
    text: str, pattern: "re.Pattern[str]", labels: Sequence[str], is_open: Callable[["re.Match[str]"], Optional[str]]
) -> List[Segment]:
    """Shared open/close scanner: ``is_open`` returns the marker's type or None for a close."""
    out: List[Segment] = []
    pos = 0
    current: Optional[str] = None
    start = 0
    for match in pattern.finditer(text):
        found = is_open(match)
        if found is not None:
            if current is not None:
                raise ProjectionDrop(MARKER_OVERLAP, "an entity opens inside another")
            out.append(Segment(text[pos:match.start()]))
            current = _resolve_label(found, labels)
            start = match.end()
        else:
            if current is None:
                raise ProjectionDrop(MARKER_UNBALANCED, "a closing marker without an opening one")
            out.append(Segment(text[start:match.start()], current))
            current = None
        pos = match.end()
    if current is not None:
        raise ProjectionDrop(MARKER_UNBALANCED, "an opening marker is never closed")
    out.append(Segment(text[pos:]))
    return out


class BracketMarkers(MarkerStyle):
    """``[LABEL text ]``; the type is the first word after the opening bracket."""

    name = "brackets"
    _escape = str.maketrans({"[": "［", "]": "］"})
    _unescape = str.maketrans({"［": "[", "］": "]"})
    # An opening bracket with its type (engines may add a space after "["), or a closing one.
    _marker = re.compile(r"\[\s*([^\s\[\]]+)|\]")

    def escape(self, text: str) -> str:
        return text.translate(self._escape)

    def unescape(self, text: str) -> str:
        return text.translate(self._unescape)

    def wrap(self, text: str, label: str) -> str:
        if not re.fullmatch(r"[^\s\[\]]+", label):
            raise ValueError(f"Entity label {label!r} cannot be written in a bracket marker.")
        return f"[{label} {text} ]"

    def segments(self, text: str, labels: Sequence[str]) -> List[Segment]:
        return _scan(text, self._marker, labels, lambda m: m.group(1))


class HtmlMarkers(MarkerStyle):
    """``<span class="LABEL">text</span>`` for engines that pass markup through."""

    name = "html"
    _marker = re.compile(r"<\s*span\s+class\s*=\s*[\"']([^\"']*)[\"']\s*>|<\s*/\s*span\s*>", re.I)
    _other_tag = re.compile(r"<[^>]*>")

    def escape(self, text: str) -> str:
        return html.escape(text, quote=False)

    def unescape(self, text: str) -> str:
        return html.unescape(text)

    def wrap(self, text: str, label: str) -> str:
        return f'<span class="{html.escape(label, quote=True)}">{text}</span>'

    def segments(self, text: str, labels: Sequence[str]) -> List[Segment]:
        segs = _scan(text, self._marker, labels, lambda m: None if m.group(1) is None else html.unescape(m.group(1)))
        for seg in segs:
            # Text was escaped, so any tag left is a broken marker (e.g. "<span>" lost its class).
            if self._other_tag.search(seg.text) or "<" in seg.text or ">" in seg.text:
                raise ProjectionDrop(MARKER_UNBALANCED, f"stray markup in {seg.text!r}")
        return segs


MARKER_STYLES: Dict[str, MarkerStyle] = {"brackets": BracketMarkers(), "html": HtmlMarkers()}


def get_marker_style(name: str) -> MarkerStyle:
    if name not in MARKER_STYLES:
        raise ValueError(f"Unknown marker style {name!r}; choose one of {sorted(MARKER_STYLES)}.")
    return MARKER_STYLES[name]


def mark_doc(doc: Doc, style: MarkerStyle) -> str:
    """The Doc's text with every entity wrapped in a typed marker, ready for MT (outer
    whitespace stripped: it only invites engines to drift)."""
    parts: List[str] = []
    pos = 0
    for ent in doc.ents:
        parts.append(style.escape(doc.text[pos:ent.start_char]))
        parts.append(style.wrap(style.escape(ent.text), ent.label_))
        pos = ent.end_char
    parts.append(style.escape(doc.text[pos:]))
    return "".join(parts).strip()


def recover(translation: str, source_labels: Sequence[str], style: MarkerStyle) -> Tuple[str, List[Span]]:
    """Plain target text and its entity character spans, or a :class:`ProjectionDrop`.

    Whitespace is normalised (runs collapse to one space, entity text is stripped) and an
    entity glued to a word by the engine gets a space, since a marker stands at a word
    boundary.
    """
    if not translation or not translation.strip():
        raise ProjectionDrop(EMPTY_TRANSLATION)
    segments = style.segments(translation, source_labels)
    text = ""
    spans: List[Span] = []
    for seg in segments:
        piece = re.sub(r"\s+", " ", style.unescape(seg.text))
        if seg.label is None:
            if text.endswith(" ") and piece.startswith(" "):
                piece = piece[1:]
            if spans and spans[-1][1] == len(text) and piece[:1].isalnum():
                piece = " " + piece
            text += piece
            continue
        piece = piece.strip()
        if not piece:
            raise ProjectionDrop(EMPTY_ENTITY, f"an empty {seg.label} entity")
        if text and (text[-1].isalnum() or (spans and spans[-1][1] == len(text))):
            text += " "
        spans.append((len(text), len(text) + len(piece), seg.label))
        text += piece
    found = Counter(label for _, _, label in spans)
    wanted = Counter(source_labels)
    if found - wanted and not (wanted - found):
        raise ProjectionDrop(MARKER_DUPLICATED, f"found {dict(found)}, source has {dict(wanted)}")
    if found != wanted:
        raise ProjectionDrop(MARKER_LOST, f"found {dict(found)}, source has {dict(wanted)}")
    lead = len(text) - len(text.lstrip())
    text = text.strip()
    spans = [(s - lead, e - lead, label) for s, e, label in spans]
    if not text:
        raise ProjectionDrop(EMPTY_TRANSLATION, "only markers came back")
    return text, spans


def build_doc(nlp: Language, text: str, spans: Sequence[Span], pair_id: str, lang: str) -> Tuple[Doc, int]:
    """Tokenise with the target language's tokenizer and set the entities.

    An entity boundary inside a token (``[ORG EU ]-Kommission`` -> one token) expands to the
    whole token; the number of such expansions is returned so callers can report it.
    """
    doc = nlp.make_doc(text)
    ents = []
    expanded = 0
    for start, end, label in spans:
        span = doc.char_span(start, end, label=label)
        if span is None:
            span = doc.char_span(start, end, label=label, alignment_mode="expand")
            expanded += 1
        ents.append(span)
    # Expansion can make two adjacent entities share a token; that is an overlap, not data.
    for a, b in zip(ents, ents[1:]):
        if b.start < a.end:
            raise ProjectionDrop(MARKER_OVERLAP, f"entities {a.text!r} and {b.text!r} share a token")
    doc.ents = ents
    set_pair(doc, pair_id, lang)
    return doc, expanded


@lru_cache(maxsize=None)
def target_nlp(lang: str) -> Language:
    """A cached ``spacy.blank(lang)``: the target language's own tokenizer.

    Not :func:`spacy_concner.data.text.blank_tokenizer`, which falls back to the multilingual
    tokenizer with a warning: a translation target spaCy does not know (a typo in ``--target``)
    is an error here, raised before anything is translated.
    """
    try:
        return spacy.blank(lang)
    except ImportError:
        raise InputError(
            f"Unknown language code {lang!r}: spaCy has no tokenizer for it. Use an ISO 639-1 code "
            "spaCy knows (de, es, nl, ...; see spacy.util.registry.languages)."
        ) from None


def project(source: Doc, translation: str, style: MarkerStyle, lang: str, nlp: Optional[Language] = None) -> Tuple[Doc, int]:
    """Target Doc for one translated source Doc (same pair id), or a :class:`ProjectionDrop`."""
    pair_id = get_pair_id(source)
    if pair_id is None:
        raise ValueError("Source Doc has no pair id; read it with spacy_concner.data.conll.read_conll or set_pair().")
    labels = [ent.label_ for ent in source.ents]
    text, spans = recover(translation, labels, style)
    return build_doc(nlp if nlp is not None else target_nlp(lang), text, spans, pair_id, lang)
