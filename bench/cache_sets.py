"""The semantic cache's test sets, built from GSM8K and MMLU questions (../shared/data/routing).

For each question: *variants* say the same thing differently (case, whitespace, punctuation,
filler words, sentence order) and must hit the question's cached answer; *traps* are near
duplicates that ask something else (another number, a negation, another name, another unit,
answer options swapped) and must not. Deterministic: the same seed builds the same sets.
"""

from __future__ import annotations

import csv
import json
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "routing"

_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.]*\d)")
_SENTENCE = re.compile(r"(?<=[a-z0-9%)][.?!])\s+(?=[A-Z])")
_OPTION = re.compile(r"^([A-D])\. (.+)$", re.MULTILINE)
_NEGATABLE = re.compile(r"\b(is|are|was|were|does|do|did|can|will|has|have)\b")
_NAME = re.compile(r"(?<=[a-z,] )[A-Z][a-z]{2,}\b")
_UNITS = {
    "km": "miles",
    "miles": "km",
    "kilometers": "miles",
    "meters": "feet",
    "feet": "meters",
    "inches": "centimeters",
    "pounds": "kilograms",
    "kg": "pounds",
    "hours": "minutes",
    "minutes": "seconds",
    "days": "weeks",
    "weeks": "months",
    "dollars": "euros",
    "cents": "dollars",
    "liters": "gallons",
    "gallons": "liters",
}
_UNIT = re.compile(r"\b(" + "|".join(_UNITS) + r")\b")
_FILLERS = (
    ("Hey, quick question: ", ""),
    ("Please, ", ""),
    ("", " Thanks!"),
    ("Hi! ", " Thank you."),
    ("I was wondering if you could help. ", ""),
)


@dataclass(frozen=True)
class Case:
    base: str  # the question whose answer is cached
    text: str  # what is asked
    kind: str  # which variant or trap


def questions(limit_gsm8k: int, limit_mmlu: int, seed: int = 7) -> list[str]:
    """GSM8K word problems and MMLU multiple-choice prompts, shuffled with `seed`."""
    rng = random.Random(seed)
    lines = (DATA / "gsm8k" / "test.jsonl").read_text().splitlines()
    gsm8k = [json.loads(line)["question"] for line in lines if line.strip()]
    mmlu: list[str] = []
    for path in sorted((DATA / "mmlu" / "responses").glob("*.csv")):
        with path.open(newline="") as handle:
            mmlu += [row["prompt"] for row in csv.DictReader(handle)]
    rng.shuffle(gsm8k)
    rng.shuffle(mmlu)
    return gsm8k[:limit_gsm8k] + mmlu[:limit_mmlu]


def variants(question: str, rng: random.Random) -> Iterator[Case]:
    yield Case(question, question.lower() if rng.random() < 0.5 else question.upper(), "case")
    spaced = re.sub(r" ", lambda _: " " * rng.randint(1, 3), question)
    yield Case(question, f"  {spaced}\n", "whitespace")
    yield Case(question, _repunctuate(question), "punctuation")
    before, after = rng.choice(_FILLERS)
    yield Case(question, f"{before}{question}{after}", "filler")
    sentences = _SENTENCE.split(question)
    if len(sentences) > 2 and not _OPTION.search(question):
        # The question (last sentence) first: how people often reorder a word problem.
        yield Case(question, " ".join([sentences[-1], *sentences[:-1]]), "reordered")


def traps(question: str, rng: random.Random) -> Iterator[Case]:
    for kind, make in _TRAPS.items():
        text = make(question, rng)
        if text is not None and text != question:
            yield Case(question, text, kind)


def _repunctuate(question: str) -> str:
    text = question.replace(",", "")
    if text.endswith("?"):
        return text[:-1] + " ??"
    return text + "!"


def _change_number(question: str, rng: random.Random) -> str | None:
    numbers = list(_NUMBER.finditer(question))
    if not numbers:
        return None
    found = rng.choice(numbers)
    value = found.group()
    other = str(int(float(value)) + rng.randint(1, 9)) if "." not in value else f"{value}5"
    return question[: found.start()] + other + question[found.end() :]


def _negate(question: str, rng: random.Random) -> str | None:
    verbs = list(_NEGATABLE.finditer(question))
    if not verbs:
        return None
    found = rng.choice(verbs)
    return question[: found.end()] + " not" + question[found.end() :]


def _swap_options(question: str, rng: random.Random) -> str | None:
    options = _OPTION.findall(question)
    if len(options) < 2 or len({text for _, text in options}) < 2:
        return None
    first, second = rng.sample(range(len(options)), 2)
    while options[first][1] == options[second][1]:
        first, second = rng.sample(range(len(options)), 2)
    texts = [text for _, text in options]
    texts[first], texts[second] = texts[second], texts[first]
    swapped = iter(texts)
    return _OPTION.sub(lambda m: f"{m.group(1)}. {next(swapped)}", question)


def _change_name(question: str, rng: random.Random) -> str | None:
    names = sorted(set(_NAME.findall(question)))
    if not names:
        return None
    name = rng.choice(names)
    other = rng.choice(["Priya", "Tomasz", "Amara", "Kenji", "Lucia", "Oskar", "Nadia"])
    return re.sub(rf"\b{name}\b", other, question)


def _change_unit(question: str, rng: random.Random) -> str | None:
    units = list(_UNIT.finditer(question))
    if not units:
        return None
    found = rng.choice(units)
    return question[: found.start()] + _UNITS[found.group()] + question[found.end() :]


_TRAPS: dict[str, Callable[[str, random.Random], str | None]] = {
    "number": _change_number,
    "negation": _negate,
    "options": _swap_options,
    "entity": _change_name,
    "unit": _change_unit,
}


# -- written sets: the kinds real users make, from templates -----------------------------------
#
# Each kind pairs a base prompt (cached) with one prompt asked after it. Variants say the same
# thing and must hit the base's answer; traps ask something else and must not. The slots are
# filled from the lists below with a seeded generator, a few hundred pairs per kind.

TASKS = (
    "reset my password", "change my email address", "cancel my subscription",
    "export my data to CSV", "delete my account", "add a team member", "enable two-factor login",
    "update my billing address", "download an invoice", "rotate an API key",
    "merge two branches in git", "undo the last git commit", "sort a list of tuples",
    "read a JSON file", "install the command line tool", "connect the app to Slack",
    "restore a deleted project", "upgrade my plan", "schedule a report",
    "invite a guest user", "set up a webhook", "change the default language",
    "transfer a project to another team", "configure single sign-on", "reset the dashboard",
)  # fmt: skip
TOPICS = (
    "the refund policy", "the free tier", "a service level agreement", "the data retention period",
    "rate limiting", "a webhook", "a workspace", "an API key", "a billing cycle",
    "two-factor authentication", "single sign-on", "the audit log", "a dead letter queue",
    "eventual consistency", "a foreign key", "a race condition", "memoization",
    "a reverse proxy", "a content delivery network", "a load balancer",
)  # fmt: skip
PAIRS = (
    ("TCP", "UDP"), ("Python", "Go"), ("Postgres", "MySQL"), ("Redis", "Memcached"),
    ("REST", "GraphQL"), ("Docker", "Podman"), ("Kafka", "RabbitMQ"), ("React", "Vue"),
    ("threads", "processes"), ("lists", "tuples"), ("arrays", "linked lists"),
    ("HTTP", "HTTPS"), ("SQL", "NoSQL"), ("unit tests", "integration tests"),
    ("git merge", "git rebase"), ("stacks", "queues"), ("JSON", "YAML"), ("Rust", "C++"),
    ("AWS", "Azure"), ("Java", "Kotlin"), ("Vim", "Emacs"), ("Linux", "Windows"),
    ("iOS", "Android"), ("Angular", "Svelte"), ("Terraform", "Pulumi"), ("Flask", "Django"),
    ("npm", "yarn"), ("IPv4", "IPv6"), ("OAuth", "SAML"), ("Nginx", "Apache"),
)  # fmt: skip
LANGUAGES = ("Python", "JavaScript", "Go", "Rust", "Java", "Ruby", "Kotlin", "TypeScript")
EVENTS = (
    ("won the World Cup", range(1990, 2023, 4)), ("hosted the Olympics", range(1988, 2021, 4)),
    ("won the Nobel Prize in Physics", range(1990, 2021)), ("released the first iPhone", (2007,)),
    ("won the Champions League", range(1995, 2021)), ("won the Tour de France", range(1995, 2021)),
)  # fmt: skip
WORD_ADDED = (
    ("What does HTTP status {n} mean?", "status", "status code"),
    ("Why do I get error {n} when I log in?", "error", "error code"),
    ("Where are the {thing} settings?", "settings", "settings page"),
    ("How long does a refund for order {n} take?", "refund", "refund request"),
    ("What does the {thing} error mean?", "error", "error message"),
    ("How do I change the {thing} options?", "options", "options menu"),
    ("Where do I find the {thing} docs?", "docs", "docs page"),
    ("Why is the {thing} slow?", "slow", "slow today"),
    ("Where can I see my {thing} history?", "history", "history log"),
    ("How do I reset the {thing} counter?", "counter", "counter value"),
    ("What is the {thing} quota?", "quota", "quota limit"),
    ("How do I read the {thing} logs?", "read", "quickly read"),
    ("Who can see the {thing} dashboard?", "dashboard", "dashboard page"),
)  # fmt: skip
THINGS = (
    "billing", "notification", "privacy", "security", "export", "import", "sync", "backup",
    "webhook", "login", "upload", "search", "calendar", "report", "invoice", "profile",
)  # fmt: skip
NUMERALS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty",
)  # fmt: skip
COUNTABLES = (
    ("split a file into {n} parts", "How do I"), ("add {n} users to my workspace", "How do I"),
    ("retry a request {n} times", "How do I"), ("print the first {n} lines of a file", "How do I"),
    ("keep {n} days of logs", "Can I"), ("run {n} workers at once", "Can I"),
    ("make {n} copies of a project", "How do I"),
    ("round a number to {n} decimal places", "How do I"),
)  # fmt: skip

_POLITE = (
    "Can you tell me {q}", "Could you please tell me {q}", "Please tell me {q}",
    "I was wondering {q}", "Would you mind telling me {q}", "Hi! Can you tell me {q}",
    "Hey, quick question: {Q} Thanks!", "I would like to know {q}", "Do you know {q}",
    "Please, {q} Thank you.",
)  # fmt: skip
_MODALS = ("can", "should", "could", "would", "do")


@dataclass(frozen=True)
class Written:
    base: str
    text: str
    kind: str
    # True: the base's answer is the right one; False: a trap.
    same: bool


def _cap(text: str) -> str:
    return text[0].upper() + text[1:]


def _polite(rng: random.Random) -> Written:
    task = rng.choice(TASKS)
    base = f"How do I {task}?"
    frame = rng.choice(_POLITE)
    indirect = f"how to {task}?" if rng.random() < 0.5 else f"how I can {task}?"
    return Written(base, frame.format(q=indirect, Q=base), "polite", True)


def _modal(rng: random.Random) -> Written:
    task = rng.choice(TASKS)
    first, second = rng.sample(_MODALS, 2)
    return Written(f"How {first} I {task}?", f"How {second} I {task}?", "modal", True)


def _added_word(rng: random.Random) -> Written:
    template, word, longer = rng.choice(WORD_ADDED)
    filled = template.format(n=rng.choice((400, 401, 403, 404, 409, 429, 500, 502, 503)),
                             thing=rng.choice(THINGS))  # fmt: skip
    return Written(filled, filled.replace(word, longer, 1), "added_word", True)


def _moved_phrase(rng: random.Random) -> Written:
    if rng.random() < 0.5:
        event, years = rng.choice(EVENTS)
        year = rng.choice(list(years))
        base = f"Who {event} in {year}?"
        moved = rng.choice(
            (f"In {year}, who {event}?", f"{year}: who {event}?", f"In {year} who {event}?")
        )
        return Written(base, moved, "moved_phrase", True)
    task = rng.choice(TASKS[11:15])
    language = rng.choice(LANGUAGES)
    base = f"How do I {task} in {language}?"
    return Written(base, f"In {language}, how do I {task}?", "moved_phrase", True)


def _contraction(rng: random.Random) -> Written:
    topic = rng.choice(TOPICS)
    task = rng.choice(TASKS)
    thing = rng.choice(THINGS)
    base, text = rng.choice(
        (
            (f"What is {topic}?", f"What's {topic}?"),
            (f"I cannot {task}. What should I do?", f"I can't {task}. What should I do?"),
            (f"Why does the {thing} page not load?", f"Why doesn't the {thing} page load?"),
            (f"Why is the {thing} export not working?", f"Why isn't the {thing} export working?"),
            (f"I am unable to {task}.", f"I'm unable to {task}."),
            (f"What is the limit for {thing} requests?", f"What's the limit for {thing} requests?"),
            (f"It does not let me {task}.", f"It doesn't let me {task}."),
            (f"I do not see the {thing} tab.", f"I don't see the {thing} tab."),
            (f"The {thing} button is not working.", f"The {thing} button isn't working."),
            (f"We are not getting {thing} emails.", f"We aren't getting {thing} emails."),
            (f"Where is the {thing} menu?", f"Where's the {thing} menu?"),
        )
    )
    return Written(base, text, "contraction", True)


def _numeral_word(rng: random.Random) -> Written:
    task, opener = rng.choice(COUNTABLES)
    n = rng.randrange(2, len(NUMERALS))
    digits, word = task.format(n=n), task.format(n=NUMERALS[n])
    first, second = (digits, word) if rng.random() < 0.5 else (word, digits)
    return Written(f"{opener} {first}?", f"{opener} {second}?", "numeral_word", True)


def _and_swap(rng: random.Random) -> Written:
    a, b = rng.choice(PAIRS)
    template = rng.choice(
        (
            "What is the difference between {a} and {b}?",
            "Compare {a} and {b}.",
            "What are the main differences between {a} and {b}?",
            "When should I use {a} and when {b}?",
            "Explain {a} and {b} with an example.",
            "What do {a} and {b} have in common?",
            "Can {a} and {b} be used together?",
            "Give me a short overview of {a} and {b}.",
        )
    )
    if "when {b}" in template:
        template = "How do {a} and {b} differ?"
    return Written(template.format(a=a, b=b), template.format(a=b, b=a), "and_swap", True)


# Traps.
_OPERATORS = ("=", "!=", "<", ">", "<=", ">=", "<>")
_COLUMNS = ("status", "age", "price", "quantity", "score", "retries", "priority", "level")


def _operator(rng: random.Random) -> Written:
    column = rng.choice(_COLUMNS)
    first, second = rng.sample(_OPERATORS, 2)
    value = rng.choice(("'active'", "18", "100", "0", "'paid'", "3"))
    template = rng.choice(
        (
            "Write a SQL query that deletes rows where {c} {op} {v}",
            "How many rows match WHERE {c} {op} {v} in the orders table?",
            "Does the filter {c}{op}{v} include archived records?",
            "Explain what SELECT * FROM users WHERE {c} {op} {v} returns",
            "In pandas, how do I keep rows where df.{c} {op} {v}?",
        )
    )
    return Written(
        template.format(c=column, op=first, v=value),
        template.format(c=column, op=second, v=value),
        "operator",
        False,
    )


_SNIPPETS = (
    ("`{f}(items)`", ("sorted", "reversed", "len", "sum", "max", "min", "set", "list")),
    ("`items.{f}(x)`", ("append", "extend", "remove", "index", "count", "insert")),
    ("`x = a {f} b`", ("+", "-", "*", "/", "//", "%", "**")),
    ("`for i in range({f}):`", ("10", "11", "n", "len(xs)", "n - 1")),
    ("`if x {f} 0:`", ("==", "!=", ">", "<", ">=", "<=")),
    ("`{f} = os.environ['HOME']`", ("home", "path", "base", "root")),
    ("`git {f} origin main`", ("push", "pull", "fetch", "merge")),
    ("`df.{f}('id')`", ("groupby", "sort_values", "drop", "set_index")),
)  # fmt: skip


def _code(rng: random.Random) -> Written:
    snippet, fills = rng.choice(_SNIPPETS)
    first, second = rng.sample(fills, 2)
    question = rng.choice(
        ("What does {s} do?", "Why does {s} raise an error here?", "Is {s} slow on big inputs?",
         "Explain {s} line by line.")
    )  # fmt: skip
    return Written(
        question.format(s=snippet.format(f=first)),
        question.format(s=snippet.format(f=second)),
        "code",
        False,
    )


_ROLE_TEMPLATES = (
    "How do I migrate from {a} to {b}?",
    "Is {a} faster than {b}?",
    "{a} vs {b}: which should I pick for a new project?",
    "Why would anyone choose {a} over {b}?",
    "Translate this {a} snippet to {b}.",
    "How do I move data from {a} into {b}?",
    "Is {a} better than {b} for beginners?",
    "What can {a} do that {b} cannot do?",
)


def _role_order(rng: random.Random) -> Written:
    a, b = rng.choice(PAIRS)
    template = rng.choice(_ROLE_TEMPLATES)
    return Written(template.format(a=a, b=b), template.format(a=b, b=a), "role_order", False)


_CONVERSIONS = (
    ("km", "miles"), ("miles", "km"), ("kg", "pounds"), ("pounds", "kg"), ("MB", "GB"),
    ("GB", "TB"), ("Celsius", "Fahrenheit"), ("Fahrenheit", "Kelvin"), ("meters", "feet"),
    ("liters", "gallons"), ("seconds", "milliseconds"), ("hours", "minutes"), ("USD", "EUR"),
    ("inches", "centimeters"), ("bytes", "bits"),
)  # fmt: skip
_UNIT_NAMES = sorted({u for pair in _CONVERSIONS for u in pair})


def _units(rng: random.Random) -> Written:
    source, target = rng.choice(_CONVERSIONS)
    other = rng.choice([u for u in _UNIT_NAMES if u not in (source, target)])
    amount = rng.choice((1, 5, 10, 12, 30, 100, 250, 1024))
    template = rng.choice(
        ("How many {t} is {n} {s}?", "Convert {n} {s} to {t}.", "What is {n} {s} in {t}?",
         "Is {n} {s} more than 1 {t}?")
    )  # fmt: skip
    base = template.format(n=amount, s=source, t=target)
    if rng.random() < 0.5:
        return Written(base, template.format(n=amount, s=other, t=target), "units", False)
    return Written(base, template.format(n=amount, s=source, t=other), "units", False)


_COUNTRIES = (
    "France", "Germany", "Spain", "Italy", "Japan", "Brazil", "Canada", "Kenya", "India",
    "Norway", "Chile", "Egypt", "Poland", "Vietnam", "Mexico", "Peru", "Ghana", "Greece",
)  # fmt: skip
_COMPANIES = ("Stripe", "Shopify", "Atlassian", "Spotify", "Airbnb", "Dropbox", "Zoom", "Slack")


def _entity(rng: random.Random) -> Written:
    if rng.random() < 0.5:
        a, b = rng.sample(_COUNTRIES, 2)
        template = rng.choice(
            ("What is the capital of {x}?", "How do I get a work visa for {x}?",
             "What currency does {x} use?", "Do you ship to {x}?")
        )  # fmt: skip
    else:
        a, b = rng.sample(_COMPANIES, 2)
        template = rng.choice(
            ("Who founded {x}?", "How do I connect {x} to my account?",
             "Does the integration with {x} support webhooks?")
        )  # fmt: skip
    return Written(template.format(x=a), template.format(x=b), "entity", False)


def _number(rng: random.Random) -> Written:
    task, opener = rng.choice(COUNTABLES)
    n = rng.randrange(2, 60)
    m = n + rng.choice((-1, 1, 2, 10))
    return Written(
        f"{opener} {task.format(n=n)}?", f"{opener} {task.format(n=m)}?", "number", False
    )


_NEGATIONS = (
    ("Why does my {t} sync?", "Why does my {t} not sync?"),
    ("Can I {task} without admin rights?", "Can I {task} with admin rights?"),
    ("Should I {task} before the upgrade?", "Should I not {task} before the upgrade?"),
    ("Why is the {t} page loading?", "Why is the {t} page not loading?"),
    ("Which plans include {t} support?", "Which plans do not include {t} support?"),
    ("What happens if I {task}?", "What happens if I never {task}?"),
)  # fmt: skip


def _negation(rng: random.Random) -> Written:
    base, other = rng.choice(_NEGATIONS)
    slots = {"t": rng.choice(THINGS), "task": rng.choice(TASKS)}
    first, second = base.format(**slots), other.format(**slots)
    if rng.random() < 0.5:
        first, second = second, first
    return Written(first, second, "negation", False)


_ANTONYMS = (
    ("enable", "disable"), ("increase", "decrease"), ("upload", "download"), ("import", "export"),
    ("encrypt", "decrypt"), ("largest", "smallest"), ("maximum", "minimum"), ("add", "remove"),
    ("start", "stop"), ("open", "close"), ("allow", "block"), ("subscribe", "unsubscribe"),
    ("show", "hide"), ("lock", "unlock"), ("fastest", "slowest"), ("first", "last"),
)  # fmt: skip


def _antonym(rng: random.Random) -> Written:
    a, b = rng.choice(_ANTONYMS)
    thing = rng.choice(THINGS)
    template = rng.choice(
        ("How do I {w} {t} notifications?", "What is the {w} {t} file size?",
         "Which setting lets me {w} {t} access?", "Is there a shortcut to {w} the {t} panel?")
    )  # fmt: skip
    return Written(template.format(w=a, t=thing), template.format(w=b, t=thing), "antonym", False)


_PLACES = ("Paris", "London", "Berlin", "Madrid", "Rome", "Lisbon", "Vienna", "Prague", "Oslo")


def _direction(rng: random.Random) -> Written:
    a, b = rng.sample(_PLACES, 2)
    template = rng.choice(
        ("How long is the train from {a} to {b}?", "Is it cheaper to fly from {a} to {b}?",
         "What is the time difference from {a} to {b}?", "Ship a parcel from {a} to {b}: how much?",
         "How far is {a} from {b} by road?")
    )  # fmt: skip
    return Written(template.format(a=a, b=b), template.format(a=b, b=a), "direction", False)


_IDENTIFIERS = (
    ("getUserById", "getUserByName"), ("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID"),
    ("max_connections", "max_connection_age"), ("E1001", "E1002"), ("v2.3.1", "v2.3.2"),
    ("user.email", "user.name"), ("config.yaml", "config.json"), ("--force", "--force-with-lease"),
    ("useEffect", "useMemo"), ("ERR_CONN_RESET", "ERR_CONN_REFUSED"), ("sk_live", "sk_test"),
    ("/api/v1/users", "/api/v2/users"), ("INV-2041", "INV-2014"), ("utf-8", "utf-16"),
)  # fmt: skip


def _identifier(rng: random.Random) -> Written:
    a, b = rng.choice(_IDENTIFIERS)
    if rng.random() < 0.5:
        a, b = b, a
    template = rng.choice(
        ("What does {x} do?", "Why do I get {x} after the upgrade?", "Where is {x} documented?",
         "Is {x} deprecated?", "How do I set {x} in production?", "What replaced {x}?",
         "Can I remove {x} safely?", "Where should {x} be defined?", "Why is {x} empty?")
    )  # fmt: skip
    return Written(template.format(x=a), template.format(x=b), "identifier", False)


WRITTEN_VARIANTS: dict[str, Callable[[random.Random], Written]] = {
    "polite": _polite,
    "modal": _modal,
    "added_word": _added_word,
    "moved_phrase": _moved_phrase,
    "contraction": _contraction,
    "numeral_word": _numeral_word,
    "and_swap": _and_swap,
}
WRITTEN_TRAPS: dict[str, Callable[[random.Random], Written]] = {
    "operator": _operator,
    "code": _code,
    "role_order": _role_order,
    "units": _units,
    "entity": _entity,
    "number": _number,
    "negation": _negation,
    "antonym": _antonym,
    "direction": _direction,
    "identifier": _identifier,
}


def written(per_kind: int, seed: int = 20) -> list[Written]:
    """`per_kind` distinct pairs of every written variant and trap kind."""
    rng = random.Random(seed)
    cases: list[Written] = []
    for makers in (WRITTEN_VARIANTS, WRITTEN_TRAPS):
        for make in makers.values():
            seen: set[tuple[str, str]] = set()
            for _ in range(per_kind * 50):
                case = make(rng)
                if case.base != case.text and (case.base, case.text) not in seen:
                    seen.add((case.base, case.text))
                    cases.append(case)
                if len(seen) == per_kind:
                    break
    return cases


# -- an FAQ / support workload -----------------------------------------------------------------
#
# A product's support questions as users type them: each intent (one FAQ entry) has phrasings
# written the ways people write them (some are rewordings the guard must accept, some use other
# words, which may miss but must never be served another intent's answer). Neighbouring intents
# differ in one word ("cancel" / "pause") so that a wrong answer has every chance to happen.

FAQ: dict[str, tuple[str, ...]] = {
    "reset-password": (
        "How do I reset my password?", "How can I reset my password?",
        "Can you tell me how to reset my password?", "how do i reset my password",
        "I forgot my password, how do I reset it?", "Password reset: how does it work?",
    ),
    "change-email": (
        "How do I change my email address?", "How can I change my email address?",
        "Could you tell me how to change my email address?", "How do I update my email?",
    ),
    "cancel-subscription": (
        "How do I cancel my subscription?", "How can I cancel my subscription?",
        "Please tell me how to cancel my subscription.", "I want to cancel my subscription.",
        "What's the way to cancel my subscription?",
    ),
    "pause-subscription": (
        "How do I pause my subscription?", "How can I pause my subscription?",
        "Can I pause my subscription?", "Is it possible to pause my subscription?",
    ),
    "add-user": (
        "How do I add a user to my team?", "How can I add a user to my team?",
        "Can you tell me how to add a user to my team?", "Adding a new user to my team?",
    ),
    "remove-user": (
        "How do I remove a user from my team?", "How can I remove a user from my team?",
        "Can you tell me how to remove a user from my team?",
    ),
    "refund-policy": (
        "What is your refund policy?", "What's your refund policy?",
        "Can you tell me what your refund policy is?", "Do you offer refunds?",
    ),
    "export-csv": (
        "How do I export my data to CSV?", "How can I export my data to CSV?",
        "Can I export my data to CSV?", "Export data as a CSV file?",
    ),
    "export-pdf": (
        "How do I export my data to PDF?", "How can I export my data to PDF?",
        "Can I export my data to PDF?",
    ),
    "import-csv": (
        "How do I import data from CSV?", "How can I import data from CSV?",
        "Could you tell me how to import data from CSV?",
    ),
    "two-factor-on": (
        "How do I enable two-factor authentication?", "How can I enable two-factor authentication?",
        "Can you tell me how to enable two-factor authentication?", "Turn on 2FA?",
    ),
    "two-factor-off": (
        "How do I disable two-factor authentication?",
        "How can I disable two-factor authentication?",
        "Can you tell me how to disable two-factor authentication?",
    ),
    "api-limit": (
        "What is the API rate limit?", "What's the API rate limit?",
        "Can you tell me what the API rate limit is?", "How many API calls can I make?",
    ),
    "api-limit-free": (
        "What is the API rate limit on the free plan?",
        "What's the API rate limit on the free plan?",
        "On the free plan, what is the API rate limit?",
    ),
    "storage-limit": (
        "How much storage do I get?", "How much storage do I get on my plan?",
        "Can you tell me how much storage I get?",
    ),
    "upgrade-plan": (
        "How do I upgrade my plan?", "How can I upgrade my plan?",
        "Please tell me how to upgrade my plan.", "Upgrading to a higher plan?",
    ),
    "downgrade-plan": (
        "How do I downgrade my plan?", "How can I downgrade my plan?",
        "Please tell me how to downgrade my plan.",
    ),
    "invoice": (
        "Where can I download my invoice?", "Where can I download my invoices?",
        "Where do I download my invoice?", "Can you tell me where to download my invoice?",
    ),
    "billing-address": (
        "How do I update my billing address?", "How can I update my billing address?",
        "Could you tell me how to update my billing address?", "Change billing address?",
    ),
    "delete-account": (
        "How do I delete my account?", "How can I delete my account?",
        "I want to delete my account.", "Can you tell me how to delete my account?",
    ),
    "delete-project": (
        "How do I delete a project?", "How can I delete a project?",
        "Can you tell me how to delete a project?",
    ),
    "restore-project": (
        "How do I restore a deleted project?", "How can I restore a deleted project?",
        "Can you tell me how to restore a deleted project?", "Undo deleting a project?",
    ),
    "slack": (
        "How do I connect Slack?", "How can I connect Slack?",
        "Can you tell me how to connect Slack?", "Slack integration setup?",
    ),
    "teams": (
        "How do I connect Microsoft Teams?", "How can I connect Microsoft Teams?",
        "Can you tell me how to connect Microsoft Teams?",
    ),
    "sso": (
        "Do you support single sign-on?", "Do you support SSO?",
        "Can you tell me if you support single sign-on?", "Is single sign-on supported?",
    ),
    "data-region-eu": (
        "Can I keep my data in the EU?", "Can my data be stored in the EU?",
        "Is it possible to keep my data in the EU?",
    ),
    "data-region-us": (
        "Can I keep my data in the US?", "Can my data be stored in the US?",
        "Is it possible to keep my data in the US?",
    ),
    "move-data-eu-us": (
        "How do I move my data from the EU to the US?",
        "Can you tell me how to move my data from the EU to the US?",
    ),
    "move-data-us-eu": (
        "How do I move my data from the US to the EU?",
        "Can you tell me how to move my data from the US to the EU?",
    ),
    "not-receiving-email": (
        "Why am I not receiving emails?", "Why am I not getting emails?",
        "Why don't I receive emails?", "I'm not receiving emails, why?",
    ),
    "receiving-too-many": (
        "Why am I receiving so many emails?", "Why do I get so many emails?",
        "How do I get fewer emails?",
    ),
    "seats-5": (
        "How much does a plan with 5 seats cost?", "How much does a plan with five seats cost?",
        "What does a 5 seat plan cost?",
    ),
    "seats-10": (
        "How much does a plan with 10 seats cost?", "How much does a plan with ten seats cost?",
        "What does a 10 seat plan cost?",
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Ask:
    intent: str
    text: str


def faq_traffic(requests: int, seed: int = 30, skew: float = 1.1) -> list[Ask]:
    """`requests` questions: intents by a Zipf law over a shuffled order (a few questions are
    asked most), each phrased as one of its phrasings, case and spacing as users type."""
    rng = random.Random(seed)
    intents = list(FAQ)
    rng.shuffle(intents)
    weights = [1 / (rank + 1) ** skew for rank in range(len(intents))]
    asks = []
    for intent in rng.choices(intents, weights, k=requests):
        text = rng.choice(FAQ[intent])
        if rng.random() < 0.2:
            text = text.lower()
        if rng.random() < 0.1:
            text = text.rstrip("?.") + "??"
        asks.append(Ask(intent, text))
    return asks
