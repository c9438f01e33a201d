"""A prompt read as the tokens that carry its meaning, for the guard to compare.

The embedder's own pre-tokenizer (BERT's: whitespace, then every punctuation mark on its own)
cuts the text; pieces that touch are put back together where they form one thing: a number
("3.5", "150,000"), an identifier ("parse_config", "obj.method"), a contraction ("what's"),
an operator ("!=", ">="). Then each token is classed, and what people vary without changing the
question is dropped: politeness frames, function words, modal verbs; contractions are spelt
out and numerals written as words become digits. What is left is in order, each token with its
class and where it stands (first of a sentence, after a dropped preposition).

Tokens inside backticks are code: kept verbatim, every symbol included.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from tokenizers.pre_tokenizers import BertPreTokenizer

# Token classes.
WORD = "w"  # a content word
NUMBER = "n"
CODE = "i"  # an identifier, or anything inside backticks
SYMBOL = "o"  # operators, comparison signs, units and currencies written as symbols
NEGATION = "x"
ANCHOR = "a"  # a word whose neighbours are roles: "from A to B", "A than B", "A vs B"
CONJUNCTION = "c"
QUESTION = "q"  # what is asked: how, why, which, ...
LABEL = "l"  # "A." at the start of a line: an answer option's label

Fingerprint = tuple[str, ...]


# An encoded token is its class, four flags, then its text (Token.encode).
_TEXT_AT = 5


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    kind: str
    # First token of a sentence (or of a line).
    starts: bool = False
    # Came right after a dropped place or time preposition ("in 2014").
    introduced: bool = False
    # Something was dropped (or punctuation stood) right before it.
    gap: bool = False
    # Written with a capital (or in capitals) where a sentence does not start: a name.
    capital: bool = False

    def encode(self) -> str:
        return (
            f"{self.kind}{'s' if self.starts else '-'}{'p' if self.introduced else '-'}"
            f"{'g' if self.gap else '-'}{'C' if self.capital else '-'}{self.text}"
        )

    @staticmethod
    def decode(encoded: str) -> Token:
        kind, flags, capital, text = encoded[0], encoded[1:4], encoded[4], encoded[_TEXT_AT:]
        return Token(text, kind, flags[0] == "s", flags[1] == "p", flags[2] == "g", capital == "C")


_ARTICLES = {"a", "an", "the"}
_AUXILIARIES = {"is", "are", "am", "be", "been", "being", "do", "does", "did", "done"}
_MODALS = {"can", "could", "may", "might", "shall", "should", "will", "would", "must"}
_PRONOUNS = {"i", "me", "my", "mine", "myself", "we", "us", "our", "ours", "you", "your"}
_PRONOUNS |= {"yours", "yourself", "it", "its", "u", "ur"}
_COURTESY = {"please", "pls", "plz", "kindly", "thanks", "thank", "thx", "hey", "hi", "hello"}
_COURTESY |= {"just", "actually", "basically", "really", "um", "uh", "ok", "okay", "so", "also"}
# Dropped, but the token after them is marked: a moved "in 2014" is recognised as a phrase.
_PLACE = {"in", "on", "at", "for", "during", "within", "inside"}
_DROPPED = _ARTICLES | _AUXILIARIES | _MODALS | _PRONOUNS | _COURTESY | _PLACE | {"there"}
_NEGATIONS = {"not", "no", "never", "none", "nobody", "nothing", "nowhere", "neither", "nor"}
_NEGATIONS |= {"without", "cannot", "except", "unless"}
_ANCHORS = {"to", "from", "into", "onto", "than", "vs", "versus", "over", "under", "above"}
_ANCHORS |= {"below", "before", "after", "via", "toward", "towards", "against", "per", "by"}
_ANCHORS |= {"of", "with", "between", "until", "through", "minus", "plus", "times", "divided"}
_ANCHORS |= {"instead", "rather", "between", "among", "up", "down", "off", "out"}
_CONJUNCTIONS = {"and", "or", "but", "then"}
_QUESTIONS = {"how", "why", "what", "which", "who", "whom", "whose", "where", "when", "whether"}
# "to" after these starts an infinitive ("how to", "want to"), not a direction.
_BEFORE_INFINITIVE = _QUESTIONS | {"want", "wants", "need", "needs", "like", "try", "trying"}
_BEFORE_INFINITIVE |= {"able", "way", "going", "have", "has", "used", "possible", "best"}
_BEFORE_INFINITIVE |= {"easiest", "fastest", "supposed", "wish", "ways", "steps", "order"}
# Politeness frames, matched as whole phrases before anything is dropped.
_FRAMES: tuple[tuple[str, ...], ...] = tuple(
    tuple(phrase.split())
    for phrase in (
        "i would like to know",
        "i want to know",
        "i need to know",
        "i was wondering if",
        "i was wondering",
        "i wonder if",
        "i wonder",
        "would you mind telling me",
        "would you mind",
        "do you know",
        "let me know",
        "tell me",
        "help me understand",
        "help me",
        "quick question",
        "thank you",
        "in advance",
        "is it possible to",
        "any idea",
    )
)
# The frames by their first word, longest first as above: a frame is only tried where it can
# start, so a long prompt costs one dict lookup a word instead of one slice a frame.
_FRAMES_BY_FIRST: dict[str, tuple[tuple[str, ...], ...]] = {
    first: tuple(frame for frame in _FRAMES if frame[0] == first)
    for first in dict.fromkeys(frame[0] for frame in _FRAMES)
}
_CONTRACTIONS = {"t": "not", "re": "are", "ve": "have", "ll": "will", "d": "would", "m": "am"}
# The stem before "n't" ("don", "isn"), and the few that do not just lose their "n".
_IRREGULAR = {"won": "will", "can": "can", "shan": "shall", "ain": "is"}
# "'s" is "is" after these, a possessive after anything else (and dropped then).
_IS_AFTER = _QUESTIONS | {"it", "that", "this", "there", "here", "he", "she", "what", "let"}
_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000, "billion": 1_000_000_000}
# Marks that separate, quote or end, and carry no meaning of their own outside code.
_PUNCTUATION = set(".,;:?!\"'`()[]{}\u2014\u2013\u2026\u00ab\u00bb\u201c\u201d")
_SENTENCE_END = set(".?!;")
# The pre-tokenizer cuts at these and at Unicode's other punctuation (Rust's
# is_ascii_punctuation: string.punctuation).
_ASCII_PUNCTUATION = frozenset(string.punctuation)
# Joined to the alphanumeric pieces either side of them: "a_b", "a.b", "a-b", "a/b", "a::b".
_JOINERS = {"_", ".", "-", "/", ":", "@", "#"}
# What BERT's pre-tokenizer splits on and drops: Unicode's White_Space (Rust's
# char::is_whitespace). Python's own whitespace adds \x1c-\x1f, which the pre-tokenizer keeps.
_SPACES = "\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_RUN = re.compile(f"([{_SPACES}]*)([^{_SPACES}]+)")


@lru_cache(maxsize=1)
def _pre_tokenizer() -> BertPreTokenizer:
    return BertPreTokenizer()


@dataclass(frozen=True, slots=True)
class _Piece:
    text: str
    # Alphanumeric (a word or a number), else one punctuation character.
    alnum: bool


def read(text: str) -> list[Token]:
    """The prompt's meaning-bearing tokens, in order."""
    # Three passes of str.replace are several times faster than one str.translate.
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u2212", "-")
    tokens: list[Token] = []
    for position, segment in enumerate(text.split("`")):
        if position % 2:
            tokens += _code(segment)
        else:
            tokens += _prose(segment)
    return tokens


def fingerprint(tokens: list[Token]) -> Fingerprint:
    return tuple(map(Token.encode, tokens))


def tokens_of(fingerprint: Fingerprint) -> list[Token]:
    return [_decoded(encoded) for encoded in fingerprint]


def texts_of(fingerprint: Fingerprint) -> list[str]:
    """The tokens' texts, without decoding them."""
    return [encoded[_TEXT_AT:] for encoded in fingerprint]


def numbers_of(fingerprint: Fingerprint) -> list[str]:
    """The texts of its NUMBER tokens, without decoding them."""
    return [encoded[_TEXT_AT:] for encoded in fingerprint if encoded[0] == NUMBER]


# The guard decodes every candidate's fingerprint on every lookup, and building a frozen
# Token costs ~20 times a cache hit; the same encoded tokens recur across prompts, and a
# Token is immutable, so one copy serves them all.
_decoded = lru_cache(maxsize=1 << 16)(Token.decode)
# For the same reason a prompt's tokens are made through a cache too: a long prompt has
# hundreds, at ~1.3 µs to build each and ~0.2 µs to find one (a third of reading it).
_token = lru_cache(maxsize=1 << 16)(Token)


def _pieces(texts: Iterable[str]) -> list[_Piece]:
    return [_Piece(text, text[0].isalnum()) for text in texts]


def _code(segment: str) -> list[Token]:
    """Inside backticks every piece counts, verbatim; the first is marked as a boundary."""
    pieces = _pre_tokenizer().pre_tokenize_str(segment)
    return [Token(p, CODE, starts=i == 0, gap=i == 0) for i, (p, _) in enumerate(pieces)]


def _prose(segment: str) -> list[Token]:
    words = _words(segment)
    words = _without_frames(words)
    letters = list(filter(str.isalpha, segment))
    # In a prompt typed in capitals, capitals say nothing; elsewhere "US" is not "us".
    shouting = sum(map(str.isupper, letters)) > 0.7 * len(letters)
    return _classify(words, shouting)


@dataclass(frozen=True, slots=True)
class _Word:
    """A joined run of touching pieces: a word, number, identifier or symbol, before classing."""

    text: str
    kind: str  # WORD, NUMBER, CODE, SYMBOL, or "." for punctuation
    original: str
    starts: bool = False
    ends: bool = False  # sentence-ending punctuation
    label: bool = False


_LINE_BREAK = _Word("\n", ".", "\n", ends=True)
_COMMA = _Word(",", ".", ",")


def _words(segment: str) -> list[_Word]:
    words: list[_Word] = []
    line_start = True
    # Whether the space before the next run, back to the last character that is not a space
    # (Python's: a run of \x1c-\x1f alone is crossed too), breaks a line; from the start on.
    newline = True
    # Each run of touching pieces, the text between the pre-tokenizer's spaces, and the
    # spaces before it.
    for space, run in _RUN.findall(segment):
        newline = newline or "\n" in space
        if newline and words:
            # A line break ends a sentence, whatever punctuation it lacks.
            words.append(_LINE_BREAK)
        line_start = line_start or newline
        label, joined = _read_run(run)
        if line_start and label is not None:
            words.append(label)
        else:
            words += joined
        line_start = False
        newline = newline and run.isspace()
    return words


@lru_cache(maxsize=1 << 16)
def _read_run(text: str) -> tuple[_Word | None, tuple[_Word, ...]]:
    """A run of touching pieces as an answer option's label (when it starts a line), and as
    words. Runs recur across prompts (most are one word and its punctuation), and with no
    space inside, the pre-tokenizer cuts one the same alone as in its prompt: each is read
    once, and its words, immutable, are shared."""
    run = _split(text)
    first = run[0].text
    label = _Word(f"({first.lower()})", LABEL, first, label=True) if _is_label(run) else None
    return label, tuple(_join(run))


def _split(run: str) -> list[_Piece]:
    """A run cut as the pre-tokenizer cuts it: at every punctuation mark. A word alone, or
    with one ASCII mark after it, is most runs, and is cut here without the call (a cold
    long prompt spent a third of its reading in it): a letter or digit is never one of the
    marks it cuts at (Unicode's punctuation classes)."""
    if run.isalnum():
        return [_Piece(run, True)]
    if run[-1] in _ASCII_PUNCTUATION and run[:-1].isalnum():
        return [_Piece(run[:-1], True), _Piece(run[-1], False)]
    return _pieces(piece for piece, _ in _pre_tokenizer().pre_tokenize_str(run))


def _is_label(run: list[_Piece]) -> bool:
    return len(run) == 2 and run[0].alnum and len(run[0].text) == 1 and run[1].text in (".", ")")


def _join(run: list[_Piece]) -> list[_Word]:
    """One whitespace-free run of pieces as words: identifiers, numbers, contractions, symbols."""
    words: list[_Word] = []
    i = 0
    while i < len(run):
        piece = run[i]
        if not piece.alnum:
            j = i
            while j < len(run) and not run[j].alnum:
                j += 1
            words.append(_symbol("".join(p.text for p in run[i:j])))
            i = j
            continue
        parts, j = [piece.text], i + 1
        while j + 1 < len(run) and run[j + 1].alnum and run[j].text in _JOINERS | {","}:
            joiner = run[j].text
            if joiner == "," and not (parts[-1].isdigit() and _thousands(run[j + 1].text)):
                break
            if joiner == "-" and parts[-1].isdigit() != run[j + 1].text.isdigit():
                break
            parts += [joiner, run[j + 1].text]
            j += 2
        if j + 1 < len(run) and run[j].text == "'" and run[j + 1].alnum:
            words += _contraction("".join(parts), run[j + 1].text)
            i = j + 2
            continue
        if j < len(run) and _suffix_sign(run, j):
            # "C++", "C#", "F#": the signs are part of the name.
            end = j
            while end < len(run) and run[end].text in "+#":
                end += 1
            name = "".join(parts) + "".join(p.text for p in run[j:end])
            words.append(_Word(name.lower(), CODE, name))
            i = end
            continue
        words.append(_joined(parts))
        i = j
    return words


def _suffix_sign(run: list[_Piece], j: int) -> bool:
    """Signs ending a name: "++" or "#" right after a word, with nothing alphanumeric after."""
    end = j
    while end < len(run) and run[end].text in ("+", "#"):
        end += 1
    return end > j and (end == len(run) or not run[end].alnum) and run[j - 1].text.isalpha()


def _thousands(text: str) -> bool:
    return len(text) == 3 and text.isdigit()


def _symbol(text: str) -> _Word:
    if all(c in _PUNCTUATION for c in text):
        return _Word(text, ".", text, ends=any(c in _SENTENCE_END for c in text))
    return _Word(text, SYMBOL, text)


def _joined(parts: list[str]) -> _Word:
    original = "".join(parts)
    pieces, joiners = parts[::2], parts[1::2]
    numeric = all(p.isdigit() for p in pieces) and all(j in ",." for j in joiners)
    if numeric and joiners.count(".") <= 1:
        return _Word(original.replace(",", ""), NUMBER, original)
    if all(j == "-" for j in joiners) and all(p.isalpha() for p in pieces):
        return _Word(original.lower(), WORD, original)
    if len(parts) == 1 and not any(c.isdigit() for c in original):
        return _Word(original.lower(), WORD, original)
    # Outside backticks an identifier's case is the writer's, as every other word's is.
    return _Word(original.lower(), CODE, original)


def _contraction(stem: str, suffix: str) -> list[_Word]:
    low, suffix = stem.lower(), suffix.lower()
    if suffix == "t" and low.endswith("n"):
        base = _IRREGULAR.get(low, low[:-1])
        return [_Word(base, WORD, stem), _Word("not", WORD, "n't")]
    if suffix == "s":
        if low in _IS_AFTER:
            return [_Word(low, WORD, stem), _Word("is", WORD, "'s")]
        return [_joined([stem])]
    if suffix in _CONTRACTIONS:
        return [_Word(low, WORD, stem), _Word(_CONTRACTIONS[suffix], WORD, suffix)]
    return [_joined([stem]), _joined([suffix])]


def _without_frames(words: list[_Word]) -> list[_Word]:
    """Drop politeness frames ("could you tell me", "I was wondering if"), as whole phrases."""
    kept: list[_Word] = []
    done = 0
    # Only where a frame's first word stands (a long prompt has few).
    for i in [i for i, word in enumerate(words) if word.text in _FRAMES_BY_FIRST]:
        if i < done:
            continue
        for frame in _FRAMES_BY_FIRST[words[i].text]:
            end = i + len(frame)
            if tuple(w.text for w in words[i:end]) == frame:
                kept += words[done:i]
                # The frame stood where a sentence may start: keep that boundary.
                if kept and not kept[-1].ends:
                    kept.append(_COMMA)
                done = end
                break
    kept += words[done:]
    return kept


def _classify(words: list[_Word], shouting: bool) -> list[Token]:
    tokens: list[Token] = []
    sentence_start, gap, introduced = True, True, False
    i, count = 0, len(words)
    while i < count:
        word = words[i]
        if word.kind == ".":
            sentence_start = sentence_start or word.ends
            gap = True
            i += 1
            continue
        kind, text = _kind(words, i, shouting)
        if kind == NUMBER and word.kind == WORD:
            text, width = _number_at(words, i)
            i += width
        else:
            i += 1
        if kind == "":
            introduced = introduced or word.text in _PLACE
            gap = True
            continue
        capital = not sentence_start and kind == WORD and word.original[:1].isupper()
        tokens.append(_token(text, kind, sentence_start, introduced, gap, capital))
        sentence_start, gap, introduced = False, False, False
    return tokens


def _kind(words: list[_Word], i: int, shouting: bool) -> tuple[str, str]:
    """The class of the word at `i`: NUMBER for a number written in words (read by
    _number_at), "" for a word to drop."""
    word = words[i]
    text = word.text
    if word.kind != WORD:
        return word.kind, text
    lexical = _lexical(text)
    if lexical[0] == NUMBER:
        return lexical
    if not shouting and len(word.original) > 1 and word.original.isupper():
        return WORD, text  # an acronym ("US", "IT"), never a function word
    if text == "to" and i and words[i - 1].text in _BEFORE_INFINITIVE:
        return "", text
    return lexical


@lru_cache(maxsize=1 << 16)
def _lexical(text: str) -> tuple[str, str]:
    """A lower-case word's class by the word alone (most words of a prompt recur): NUMBER
    where a number written in words starts."""
    if _value(text) is not None:
        return NUMBER, text
    if text in _NEGATIONS:
        return NEGATION, "not" if text == "cannot" else text
    if text in _ANCHORS:
        return ANCHOR, text
    if text in _CONJUNCTIONS:
        return CONJUNCTION, text
    if text in _QUESTIONS:
        return QUESTION, text
    if text in _DROPPED:
        return "", text
    return WORD, _singular(text)


def _singular(word: str) -> str:
    """ "works" and "work", "policies" and "policy" read alike: dropping "does" or a plural
    leaves the question as it was ("How does it work?" / "… how it works?")."""
    if len(word) <= 3 or not word.endswith("s") or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    return word[:-1]


def _number_at(words: list[_Word], i: int) -> tuple[str, int]:
    """The number written in words from `i` on ("twenty-one", "three hundred"), where a word
    with a value stands: its digits and how many words it spans."""
    total, current, width = 0, _value(words[i].text) or 0, 1
    while i + width < len(words) and words[i + width].kind == WORD:
        following = words[i + width].text
        if following in _SCALES:
            current *= _SCALES[following]
            if _SCALES[following] >= 1000:
                total, current = total + current, 0
        elif _continues(words[i + width - 1].text, following):
            current += _value(following) or 0
        else:
            break
        width += 1
    return str(total + current), width


@lru_cache(maxsize=1 << 16)
def _value(word: str) -> int | None:
    if word in _UNITS:
        return _UNITS[word]
    if word in _TENS:
        return _TENS[word]
    head, _, tail = word.partition("-")
    if head in _TENS and tail in _UNITS and 0 < _UNITS[tail] < 10:
        return _TENS[head] + _UNITS[tail]
    return None


def _continues(before: str, word: str) -> bool:
    """ "twenty one", "hundred five": `word` adds to the number `before` ends."""
    if word not in _UNITS:
        return False
    return (before in _TENS and 0 < _UNITS[word] < 10) or before in _SCALES
