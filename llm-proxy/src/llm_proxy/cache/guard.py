"""The check on top of similarity that keeps near-duplicates from being served each other's answers.

Embeddings place "Tom has 3 apples" and "Tom has 5 apples" side by side; so they do a question
and its negation, two cities, two function names, `=` and `!=`, kilometres and miles, "from A
to B" and "from B to A". The guard aligns the two prompts' readings (reading.py: the tokens
that carry meaning, function words, politeness and modals already dropped, contractions and
numerals normalised) and accepts only differences that cannot change what is asked:

- the two sides of a symmetric "and" swapped ("TCP and UDP" / "UDP and TCP");
- one phrase moved: a number ("in 2014" → "2014 …"), a whole sentence, or a prepositional
  phrase moved to or from the edge of its sentence;
- one plain word added or dropped ("status" / "status code"), or a bare "what".

Anything else refuses: a token replaced by another (a number, a name, an identifier, an
operator, a unit, an antonym), negation added or removed, words around a role-bearing word
("to", "from", "than", "vs", an operator, an option label) changed, numbers reordered.
"""

from __future__ import annotations

from difflib import SequenceMatcher

from llm_proxy.cache.reading import (
    ANCHOR,
    CODE,
    CONJUNCTION,
    LABEL,
    NEGATION,
    NUMBER,
    QUESTION,
    SYMBOL,
    WORD,
    Fingerprint,
    Token,
    numbers_of,
    texts_of,
    tokens_of,
)

# Words whose neighbours say who does what to whom: they must keep them.
_ROLE_BEARING = {ANCHOR, SYMBOL, LABEL, NEGATION}
# A moved phrase may not carry these: moving them moves what they bind.
_UNMOVABLE = {ANCHOR, SYMBOL, LABEL, NEGATION, CONJUNCTION}
# Added words that narrow or widen what is asked: never one of the harmless additions.
_SCOPE_WORDS = {
    "all", "any", "every", "each", "only", "some", "most", "least", "more", "less", "first",
    "last", "next", "previous", "new", "old", "same", "other", "both", "either", "few", "many",
    "much", "several", "again", "also", "even", "still", "yet", "already", "ever", "always",
    "usually", "often", "sometimes", "he", "she", "they", "them", "his", "her", "their",
    "this", "that", "these", "those", "if", "was", "were", "had", "has", "have", "best",
    "worst", "better", "worse", "very", "too", "enough", "almost", "nearly", "exactly",
}  # fmt: skip
_WIDEST_CONJUNCT = 3


def agree(cached: Fingerprint, asked: list[Token]) -> bool:
    """Whether a prompt read as `asked` may be served the answer cached for `cached`.

    The asked prompt comes as read (reading.read), not encoded: it is compared with every
    candidate, and decoding it again for each costs as much as the comparison.
    """
    first = texts_of(cached)
    # The same reading, or other numbers (which no swap or moved negation changes), decide
    # most candidates: from the encoded tokens, before decoding them (~0.1 ms a candidate
    # on a 2,000-character prompt) and before the passes that look for swaps (~1 ms).
    if first == _texts(asked):
        return True
    if numbers_of(cached) != _numbers(asked):
        return False
    return _agree_apart(tokens_of(cached), first, asked)


def _agree_apart(cached: list[Token], first: list[str], asked: list[Token]) -> bool:
    """`agree` for two readings with other words but the same numbers (`first`: cached's
    texts)."""
    asked = _negation_placed(cached, _unswapped(cached, asked))
    second = _texts(asked)
    if first == second:
        return True
    if not _roles_kept(cached, asked):
        return False
    deleted: list[tuple[int, int]] = []
    inserted: list[tuple[int, int]] = []
    matcher = SequenceMatcher(None, first, second, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("delete", "replace"):
            deleted.append((i1, i2))
        if tag in ("insert", "replace"):
            inserted.append((j1, j2))
    moved = _moves(cached, deleted, asked, inserted)
    if moved is None:
        return False
    rest = [cached[i] for a, b in deleted for i in range(a, b)]
    rest += [asked[j] for a, b in inserted for j in range(a, b)]
    if not rest:
        return True
    shared = len(first) - sum(b - a for a, b in deleted)
    return len(rest) == 1 and shared >= 2 and _harmless(rest[0])


def _numbers(tokens: list[Token]) -> list[str]:
    return [t.text for t in tokens if t.kind == NUMBER]


def _roles_kept(first: list[Token], second: list[Token]) -> bool:
    """Every role-bearing token keeps the words either side of it, within its sentence
    (sentences may be reordered, so the roles are compared as a multiset)."""
    return sorted(_roles(first)) == sorted(_roles(second))


def _roles(tokens: list[Token]) -> list[tuple[str, str, str]]:
    found = []
    for i, token in enumerate(tokens):
        if token.kind not in _ROLE_BEARING:
            continue
        before = tokens[i - 1].text if i and not token.starts else ""
        after = tokens[i + 1].text if i + 1 < len(tokens) and not tokens[i + 1].starts else ""
        found.append((token.text, before, after))
    return found


def _moves(
    first: list[Token],
    deleted: list[tuple[int, int]],
    second: list[Token],
    inserted: list[tuple[int, int]],
) -> int | None:
    """Pair each deleted run with an equal inserted one: how many phrases moved (at most one),
    removing the pairs from the lists; None if a move is one that may change the meaning."""
    moves = 0
    for span in list(deleted):
        texts = [t.text for t in first[span[0] : span[1]]]
        for other in inserted:
            if [t.text for t in second[other[0] : other[1]]] != texts:
                continue
            if moves or not _movable(first, span, second, other):
                return None
            deleted.remove(span)
            inserted.remove(other)
            moves += 1
            break
    return moves


def _movable(
    first: list[Token], span: tuple[int, int], second: list[Token], other: tuple[int, int]
) -> bool:
    if _whole_sentences(first, span) and _whole_sentences(second, other):
        return True
    block = first[span[0] : span[1]]
    if any(t.kind in _UNMOVABLE for t in block):
        return False
    if all(t.kind == NUMBER for t in block):
        return True
    introduced = first[span[0]].introduced or second[other[0]].introduced
    return introduced and _at_edge(first, span) and _at_edge(second, other)


def _whole_sentences(tokens: list[Token], span: tuple[int, int]) -> bool:
    start, end = span
    return tokens[start].starts and (end == len(tokens) or tokens[end].starts)


def _at_edge(tokens: list[Token], span: tuple[int, int]) -> bool:
    start, end = span
    return tokens[start].starts or end == len(tokens) or tokens[end].starts


def _harmless(token: Token) -> bool:
    """A word whose addition leaves the question as it was: plain, lowercase, not a scope word
    (or a bare "what": "What is the 2014 GDP of France?" / "2014 GDP of France?")."""
    if token.kind == QUESTION:
        return token.text == "what"
    return (
        token.kind == WORD
        and not token.capital
        and token.text.isalpha()
        and len(token.text) > 2
        and token.text not in _SCOPE_WORDS
        and not _superlative(token.text)
    )


# Words ending in "est" that are not superlatives.
_NOT_SUPERLATIVE = {"request", "interest", "suggest", "digest", "manifest", "contest", "protest"}
_NOT_SUPERLATIVE |= {"harvest", "invest", "guest", "honest", "forest", "arrest", "quest"}


def _superlative(word: str) -> bool:
    return word.endswith("est") and len(word) > 5 and word not in _NOT_SUPERLATIVE


def _unswapped(cached: list[Token], asked: list[Token]) -> list[Token]:
    """`asked` with the conjuncts of each "and" put back in `cached`'s order where they were
    swapped ("UDP and TCP" for "TCP and UDP"); conjuncts are plain words, never numbers."""
    ands_cached = [i for i, t in enumerate(cached) if t.kind == CONJUNCTION and t.text == "and"]
    ands_asked = [i for i, t in enumerate(asked) if t.kind == CONJUNCTION and t.text == "and"]
    if not ands_cached or len(ands_cached) != len(ands_asked):
        return asked
    result = list(asked)
    for k, m in zip(ands_cached, ands_asked, strict=True):
        result = _swap_back(cached, k, result, m)
    return result


def _swap_back(cached: list[Token], k: int, asked: list[Token], m: int) -> list[Token]:
    for left in range(1, _WIDEST_CONJUNCT + 1):
        for right in range(1, _WIDEST_CONJUNCT + 1):
            ours_left, ours_right = cached[k - left : k], cached[k + 1 : k + 1 + right]
            theirs_left, theirs_right = asked[m - right : m], asked[m + 1 : m + 1 + left]
            if k - left < 0 or m - right < 0 or len(ours_right) < right:
                continue
            if len(theirs_right) < left or not _conjunct(ours_left) or not _conjunct(ours_right):
                continue
            if _texts(ours_left) == _texts(theirs_right) and _texts(ours_right) == _texts(
                theirs_left
            ):
                if ours_left == ours_right:
                    return asked
                return [
                    *asked[: m - right],
                    *ours_left,
                    asked[m],
                    *ours_right,
                    *asked[m + 1 + left :],
                ]
    return asked


def _negation_placed(cached: list[Token], asked: list[Token]) -> list[Token]:
    """`asked` with a negation moved to where `cached` has it, when the only difference is
    the "n't" of an inverted question: "Why doesn't the page load?" / "Why does the page not
    load?". The words it moves past must be plain words of the same sentence."""
    if len(cached) != len(asked):
        return asked
    for i, token in enumerate(cached):
        if token.kind != NEGATION:
            continue
        for j, other in enumerate(asked):
            if other.kind != NEGATION or other.text != token.text or i == j:
                continue
            moved = [*asked[:j], *asked[j + 1 :]]
            moved.insert(i, other)
            if _texts(moved) != _texts(cached):
                continue
            low, high = min(i, j), max(i, j)
            early = cached[i] if i < j else asked[j]
            inverted = early.starts or (
                low > 0 and (cached if i < j else asked)[low - 1].kind == QUESTION
            )
            crossed = cached[low + 1 : high + 1] if i < j else cached[low:high]
            if inverted and all(
                t.kind == WORD and not t.starts and t.text not in _SCOPE_WORDS for t in crossed
            ):
                return moved
    return asked


def _conjunct(tokens: list[Token]) -> bool:
    return all(t.kind in (WORD, CODE) for t in tokens) and not any(t.starts for t in tokens[1:])


def _texts(tokens: list[Token]) -> list[str]:
    return [t.text for t in tokens]
