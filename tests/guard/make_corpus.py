"""Generate the guard's PII corpus: true entities in many formats and places, and hard negatives.

    .venv/bin/python -m tests.guard.make_corpus          # rewrites tests/guard/corpus.jsonl

Each line is `{"text": ..., "entities": [{"entity", "start", "end"}], "kind": ...}`. True
values are built to be valid the way a real one is (Luhn and an issuer's prefix, mod-97 and the
country's layout, national check digits, numbering plans), checked with the same libraries a
validator would use, so a detector that misses one misses a real one. Hard negatives are what
such detectors get wrong: Luhn-invalid and unissued 16-digit numbers, order ids, dates and
timestamps, version strings, phone-like ids, ISBNs, UUIDs, hex hashes, SSNs from never-issued
ranges, IBANs with a wrong checksum, near-miss keys. The seed is fixed: the file is reproducible.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import random
import string
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType
from stdnum import iban, luhn, verhoeff
from stdnum.br import cpf
from stdnum.cn import ric
from stdnum.es import dni
from stdnum.fi import hetu
from stdnum.it import codicefiscale
from stdnum.se import personnummer
from stdnum.us import ssn

CORPUS = Path(__file__).with_name("corpus.jsonl")
SEED = 15
POSITIVE_TEXTS = 1500
NEGATIVE_TEXTS = 1000

Maker = Callable[[random.Random], str]

# --------------------------------------------------------------------------- true entities

_FIRST = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
          "mallory", "oscar", "peggy", "rupert", "sybil", "trent", "victor", "walter", "zoe",
          "maria", "jose", "wei", "yuki", "olga", "ahmed", "priya", "lars", "chloe"]  # fmt: skip
_LAST = ["smith", "jones", "garcia", "muller", "rossi", "dubois", "tanaka", "kim", "nguyen",
         "silva", "novak", "olsen", "brown", "patel", "cohen", "ivanova", "oconnor"]  # fmt: skip
_DOMAINS = ["example.com", "mail.example.org", "corp.example.co.uk", "example.de", "uni.edu",
            "company.io", "startup.ai", "post.example.fr", "gmail.com", "outlook.com",
            "sub.domain.example.net", "example.com.br", "kk.example.jp"]  # fmt: skip


def email(rng: random.Random) -> str:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    local = rng.choice(
        [
            f"{first}.{last}",
            f"{first}_{last}",
            f"{first}{rng.randint(1, 999)}",
            f"{first[0]}{last}",
            f"{first}+{rng.choice(['news', 'work', 'tag1'])}",
            f"{first}.{last}.{rng.randint(10, 99)}",
            f"{first.upper()}.{last.capitalize()}",
            f"{first}-{last}",
        ]
    )
    return f"{local}@{rng.choice(_DOMAINS)}"


_PHONE_REGIONS = ["US", "GB", "DE", "FR", "IN", "BR", "JP", "AU", "ES", "IT", "NL", "SE", "CH",
                  "MX", "CA", "SG", "ZA", "PL"]  # fmt: skip
_US_AREAS = ["212", "415", "646", "312", "617", "206", "303", "512", "713", "305", "404", "818"]


def phone(rng: random.Random) -> str:
    while True:
        region = rng.choice(_PHONE_REGIONS)
        kind = rng.choice([PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE])
        example = phonenumbers.example_number_for_type(region, kind)
        national = str(example.national_number)
        if region in ("US", "CA") and rng.random() < 0.6:
            national = rng.choice(_US_AREAS) + str(rng.randint(200, 999)) + national[6:]
        tail = "".join(rng.choice(string.digits) for _ in range(4))
        number = phonenumbers.parse(f"+{example.country_code}{national[:-4]}{tail}")
        if not phonenumbers.is_valid_number(number):
            continue
        if region in ("US", "CA") and rng.random() < 0.6:
            digits = str(number.national_number)
            area, exchange, line = digits[:3], digits[3:6], digits[6:]
            return rng.choice(
                [
                    f"({area}) {exchange}-{line}",
                    f"{area}-{exchange}-{line}",
                    f"{area}.{exchange}.{line}",
                    f"{area} {exchange} {line}",
                    f"1-{area}-{exchange}-{line}",
                    f"+1 ({area}) {exchange}-{line}",
                    f"+1-{area}-{exchange}-{line}",
                ]
            )
        style = rng.choice([PhoneNumberFormat.INTERNATIONAL, PhoneNumberFormat.E164])
        return phonenumbers.format_number(number, style)


# (prefix, length) per network, as issued.
_CARD_PREFIXES = [("4", 16), ("4", 16), ("4", 13), ("51", 16), ("55", 16), ("2221", 16),
                  ("2720", 16), ("34", 15), ("37", 15), ("6011", 16), ("65", 16), ("644", 16),
                  ("3528", 16), ("3589", 16), ("36", 14), ("300", 14), ("62", 16), ("4", 19),
                  ("62", 19)]  # fmt: skip


def _card_digits(rng: random.Random) -> str:
    prefix, length = rng.choice(_CARD_PREFIXES)
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    return body + luhn.calc_check_digit(body)


def credit_card(rng: random.Random) -> str:
    digits = _card_digits(rng)
    return _group_card(rng, digits)


def _group_card(rng: random.Random, digits: str) -> str:
    style = rng.choice(["compact", "space", "dash"])
    if style == "compact":
        return digits
    separator = " " if style == "space" else "-"
    if len(digits) == 13:
        return digits
    if len(digits) == 15:
        return separator.join([digits[:4], digits[4:10], digits[10:]])
    if len(digits) == 14:
        return separator.join([digits[:4], digits[4:10], digits[10:]])
    groups = [digits[i : i + 4] for i in range(0, len(digits), 4)]
    return separator.join(groups)


# BBAN layouts: n digits, a capital letters, c either.
_BBAN = {"DE": "8n10n", "GB": "4a6n8n", "NL": "4a10n", "ES": "4n4n1n1n10n", "FR": "5n5n11c2n",
         "IT": "1a5n5n12c", "BE": "3n7n2n", "CH": "5n12c", "AT": "5n11n", "PL": "8n16n",
         "IE": "4a6n8n", "PT": "4n4n11n2n", "SE": "3n16n1n", "NO": "4n6n1n", "DK": "4n9n1n",
         "FI": "3n11n"}  # fmt: skip


def _bban(rng: random.Random, layout: str) -> str:
    out, count = [], ""
    for char in layout:
        if char.isdigit():
            count += char
            continue
        alphabet = {"n": string.digits, "a": string.ascii_uppercase}.get(
            char, string.ascii_uppercase + string.digits
        )
        out.extend(rng.choice(alphabet) for _ in range(int(count)))
        count = ""
    return "".join(out)


def _iban_compact(rng: random.Random) -> str:
    while True:
        country = rng.choice(list(_BBAN))
        bban = _bban(rng, _BBAN[country])
        number = country + iban.calc_check_digits(country + "00" + bban) + bban
        if iban.is_valid(number):
            return number


def iban_number(rng: random.Random) -> str:
    number = _iban_compact(rng)
    if rng.random() < 0.5:
        return number
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


def us_ssn(rng: random.Random) -> str:
    while True:
        area = rng.randint(1, 899)
        number = f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"
        if ssn.is_valid(number):
            return number if rng.random() < 0.7 else number.replace("-", " ")


def _complete(body: str, alphabet: str, width: int, valid: Callable[[str], bool]) -> str:
    """`body` + the check characters that make it valid (found by trying them)."""
    candidates = [""]
    for _ in range(width):
        candidates = [c + a for c in candidates for a in alphabet]
    for check in candidates:
        if valid(body + check):
            return body + check
    raise ValueError("no check characters make this valid")


def _date(rng: random.Random) -> tuple[int, int, int]:
    return rng.randint(1940, 2005), rng.randint(1, 12), rng.randint(1, 28)


def national_id(rng: random.Random) -> str:
    kind = rng.choice(["dni", "cpf", "cf", "hetu", "pnr", "aadhaar", "ric"])
    year, month, day = _date(rng)
    if kind == "dni":
        body = "".join(rng.choice(string.digits) for _ in range(8))
        return body + ("-" if rng.random() < 0.3 else "") + dni.calc_check_digit(body)
    if kind == "cpf":
        body = "".join(rng.choice(string.digits) for _ in range(9))
        number = _complete(body, string.digits, 2, cpf.is_valid)
        return f"{number[:3]}.{number[3:6]}.{number[6:9]}-{number[9:]}"
    if kind == "cf":
        letters = "".join(rng.choice(string.ascii_uppercase) for _ in range(6))
        month_letter = "ABCDEHLMPRST"[month - 1]
        day_value = day + (40 if rng.random() < 0.5 else 0)
        place = rng.choice(["A562", "H501", "F205", "L219", "G273"])
        body = f"{letters}{year % 100:02d}{month_letter}{day_value:02d}{place}"
        return body + codicefiscale.calc_check_digit(body)
    if kind == "hetu":
        century = "-" if year < 2000 else "A"
        body = f"{day:02d}{month:02d}{year % 100:02d}{century}{rng.randint(2, 899):03d}"
        return _complete(body, "0123456789ABCDEFHJKLMNPRSTUVWXY", 1, hetu.is_valid)
    if kind == "pnr":
        body = f"{year % 100:02d}{month:02d}{day:02d}-{rng.randint(0, 999):03d}"
        return _complete(body, string.digits, 1, personnummer.is_valid)
    if kind == "aadhaar":
        body = str(rng.randint(2, 9)) + "".join(rng.choice(string.digits) for _ in range(10))
        number = body + verhoeff.calc_check_digit(body)
        return f"{number[:4]} {number[4:8]} {number[8:]}"
    region = rng.choice(["110105", "310101", "110101"])
    body = f"{region}{year}{month:02d}{day:02d}{rng.randint(0, 999):03d}"
    return _complete(body, string.digits + "X", 1, ric.is_valid)


def ip_address(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.55:
        return str(ipaddress.IPv4Address(rng.randint(0x01000000, 0xDFFFFFFF)))
    if kind < 0.65:
        private = rng.choice([0x0A000000, 0xC0A80000, 0xAC100000])  # 10/8, 192.168/16, 172.16/12
        return str(ipaddress.IPv4Address(private + rng.randint(1, 65000)))
    address = ipaddress.IPv6Address(
        (0x2001 << 112) | (0x0DB8 << 96) | rng.getrandbits(rng.choice([16, 32, 64, 96]))
    )
    style = rng.random()
    if style < 0.5:
        return address.compressed
    if style < 0.7:
        return address.exploded
    if style < 0.85:
        return f"::ffff:{ipaddress.IPv4Address(rng.randint(0x01000000, 0xDFFFFFFF))}"
    return f"fe80::{rng.getrandbits(16):x}:{rng.getrandbits(16):x}"


_B62 = string.ascii_letters + string.digits
_URLSAFE = _B62 + "-_"


def _chars(rng: random.Random, alphabet: str, count: int) -> str:
    while True:
        value = "".join(rng.choice(alphabet) for _ in range(count))
        if any(c.isdigit() for c in value) and any(c.isalpha() for c in value):
            return value


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def secret(rng: random.Random) -> str:
    kind = rng.choice(
        [
            "openai",
            "openai_project",
            "anthropic",
            "aws",
            "github",
            "github_pat",
            "slack",
            "jwt",
            "private_key",
            "gateway",
            "gateway_admin",
        ]
    )
    if kind == "openai":
        return "sk-" + _chars(rng, _B62, 48)
    if kind == "openai_project":
        return "sk-proj-" + _chars(rng, _URLSAFE, rng.choice([56, 100, 132]))
    if kind == "anthropic":
        return "sk-ant-api03-" + _chars(rng, _URLSAFE, 93) + "AA"
    if kind == "aws":
        return rng.choice(["AKIA", "ASIA"]) + "".join(
            rng.choice(string.ascii_uppercase + "234567") for _ in range(16)
        )
    if kind == "github":
        return rng.choice(["ghp_", "gho_", "ghs_"]) + _chars(rng, _B62, 36)
    if kind == "github_pat":
        return "github_pat_" + _chars(rng, _B62, 22) + "_" + _chars(rng, _B62, 59)
    if kind == "slack":
        return (
            rng.choice(["xoxb-", "xoxp-"])
            + f"{rng.randint(10**10, 10**12)}-{rng.randint(10**10, 10**12)}-"
            + _chars(rng, _B62, 24)
        )
    if kind == "jwt":
        header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        claims = {"sub": str(rng.randint(1, 10**6)), "name": rng.choice(_FIRST), "iat": 1700000000}
        payload = _b64url(json.dumps(claims).encode())
        signature = _b64url(hashlib.sha256(rng.randbytes(16)).digest())
        return f"{header}.{payload}.{signature}"
    if kind == "private_key":
        label = rng.choice(
            ["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY"]
        )
        body = base64.b64encode(rng.randbytes(rng.choice([48, 96, 180]))).decode()
        lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
        return f"-----BEGIN {label}-----\n{lines}\n-----END {label}-----"
    prefix = "sk-gwadmin-" if kind == "gateway_admin" else "sk-gw-"
    return prefix + _b64url(rng.randbytes(32))


MAKERS: dict[str, Maker] = {
    "email": email,
    "phone": phone,
    "credit_card": credit_card,
    "iban": iban_number,
    "us_ssn": us_ssn,
    "national_id": national_id,
    "ip_address": ip_address,
    "secret": secret,
}

# What people write before each kind of value (and sometimes nothing).
_LEADS = {
    "email": ["email", "e-mail:", "contact", "write to", "reply-to:", "cc", "from"],
    "phone": ["call", "phone:", "tel.", "mobile", "reach me on", "fax", "whatsapp"],
    "credit_card": ["card", "card number", "cc#", "paid with", "Visa", "PAN:"],
    "iban": ["IBAN", "IBAN:", "account", "wire to", "bank account"],
    "us_ssn": ["SSN", "SSN:", "social security number", "ssn#"],
    "national_id": [
        "ID",
        "national id",
        "DNI",
        "CPF",
        "codice fiscale",
        "henkilötunnus",
        "personnummer",
        "Aadhaar",
        "身份证",
    ],
    "ip_address": ["host", "ip", "from address", "server", "client_ip=", "peer"],
    "secret": [
        "key",
        "token",
        "api_key =",
        "Authorization: Bearer",
        "export OPENAI_API_KEY=",
        "secret:",
    ],
}

# --------------------------------------------------------------------------- hard negatives


def _digits(rng: random.Random, count: int) -> str:
    return str(rng.randint(1, 9)) + "".join(rng.choice(string.digits) for _ in range(count - 1))


def _luhn_invalid(rng: random.Random) -> str:
    while True:
        digits = _card_digits(rng)
        wrong = digits[:-1] + str((int(digits[-1]) + rng.randint(1, 9)) % 10)
        if not luhn.is_valid(wrong):
            return _group_card(rng, wrong)


def _unissued(rng: random.Random) -> str:
    body = rng.choice(["1", "7", "8", "9", "0"]) + _digits(rng, 14)
    return _group_card(rng, body + luhn.calc_check_digit(body))


def _bad_ssn(rng: random.Random) -> str:
    area = rng.choice([0, 666, rng.randint(900, 999)])
    choice = rng.random()
    if choice < 0.4:
        return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"
    if choice < 0.7:
        return f"{rng.randint(1, 665):03d}-00-{rng.randint(1, 9999):04d}"
    return f"{rng.randint(1, 665):03d}-{rng.randint(1, 99):02d}-0000"


def _bad_iban(rng: random.Random) -> str:
    number = _iban_compact(rng)
    check = (int(number[2:4]) + rng.randint(1, 50)) % 100
    wrong = f"{number[:2]}{check:02d}{number[4:]}"
    if iban.is_valid(wrong):
        wrong = number[:-1] + str((int(number[-1]) + 1) % 10) if number[-1].isdigit() else wrong
    return (
        wrong if rng.random() < 0.5 else " ".join(wrong[i : i + 4] for i in range(0, len(wrong), 4))
    )


def _bad_phone(rng: random.Random) -> str:
    return rng.choice(
        [
            f"({rng.choice(['000', '111', '123'])}) "
            f"{rng.randint(200, 999)}-{rng.randint(0, 9999):04d}",
            f"+1 {rng.choice(['123', '011', '100'])} 456 {rng.randint(0, 9999):04d}",
            f"{rng.randint(200, 999)}-{rng.randint(0, 9999):04d}",
            f"ext. {rng.randint(100, 99999)}",
            f"+{rng.randint(1, 9)}{rng.randint(0, 99)}",
        ]
    )


def _date_like(rng: random.Random) -> str:
    year, month, day = rng.randint(1990, 2030), rng.randint(1, 12), rng.randint(1, 28)
    return rng.choice(
        [
            f"{year}-{month:02d}-{day:02d}",
            f"{day:02d}/{month:02d}/{year}",
            f"{month:02d}.{day:02d}.{year}",
            f"{year}-{month:02d}-{day:02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:"
            f"{rng.randint(0, 59):02d}Z",
            f"{year}{month:02d}{day:02d}",
            f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}",
            str(rng.randint(1_500_000_000, 1_800_000_000)),
            str(rng.randint(1_500_000_000_000, 1_800_000_000_000)),
        ]
    )


def _version(rng: random.Random) -> str:
    parts = [str(rng.randint(0, 30)) for _ in range(rng.choice([2, 3, 3, 4]))]
    dotted = ".".join(parts)
    return rng.choice(
        [
            f"v{dotted}",
            f"version {dotted}",
            f"{'.'.join(parts[:3])}-beta.{rng.randint(1, 9)}",
            f"release {dotted}",
            f"build {dotted}",
            f"Python {rng.randint(2, 3)}.{rng.randint(0, 13)}.{rng.randint(0, 20)}",
            f"{dotted}.{rng.randint(0, 9)}.{rng.randint(0, 9)}"
            if len(parts) == 4
            else f"v{dotted}",
            f"10.0.{rng.randint(10000, 22999)}.{rng.randint(100, 9999)}",
        ]
    )


def _order_id(rng: random.Random) -> str:
    return rng.choice(
        [
            f"ORD-{rng.randint(2015, 2026)}-{rng.randint(100000, 999999)}",
            f"#{rng.randint(10**7, 10**10)}",
            f"INV-{rng.randint(0, 999999):06d}-{rng.randint(10, 99)}",
            f"order {_digits(rng, rng.choice([8, 10, 12]))}",
            f"PO{_digits(rng, 9)}",
            "tracking 1Z"
            + "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(16)),
            f"ticket {rng.randint(100, 999)}-{rng.randint(100, 999)}-{rng.randint(10000, 99999)}",
            f"SKU {rng.randint(100, 999)}-{rng.randint(10, 99)}-"
            f"{rng.randint(1000, 9999)}-{rng.randint(1, 9)}",
            f"ref {_digits(rng, 11)}",
        ]
    )


def _hash(rng: random.Random) -> str:
    data = rng.randbytes(32)
    return rng.choice(
        [
            hashlib.sha256(data).hexdigest(),
            hashlib.sha1(data).hexdigest(),
            hashlib.md5(data).hexdigest(),
            hashlib.sha1(data).hexdigest()[:7],
            f"sha256:{hashlib.sha256(data).hexdigest()}",
            base64.b64encode(data).decode(),
            str(uuid.UUID(bytes=data[:16])),
        ]
    )


def _near_miss_secret(rng: random.Random) -> str:
    return rng.choice(
        [
            "sk-learn",
            "scikit-learn's sk-learn API",
            "sk-"
            + "-".join(
                rng.choice(["not", "a", "real", "key", "example", "placeholder"]) for _ in range(8)
            ),
            "sk-" + _chars(rng, _B62, 12),
            "AKIA" + "".join(rng.choice(string.ascii_uppercase) for _ in range(8)),
            "ghp_" + _chars(rng, _B62, 10),
            "xoxb-not-a-token",
            "eyJhbGciOiJIUzI1NiJ9",
            "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ\n-----END CERTIFICATE-----",
            "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n"
            "-----END PUBLIC KEY-----",
            "task-" + _digits(rng, 5),
            "the sk-gw- prefix",
        ]
    )


def _bad_email(rng: random.Random) -> str:
    name = rng.choice(_FIRST)
    return rng.choice(
        [
            f"{name}@localhost",
            f"@{name}",
            "icon@2x.png",
            "logo@3x.jpg",
            f"{name} at example dot com",
            f"{name}@",
            f"{name}@@example.com",
            "user@[redacted]",
        ]
    )


def _bad_ip(rng: random.Random) -> str:
    return rng.choice(
        [
            f"{rng.randint(256, 999)}.{rng.randint(0, 255)}."
            f"{rng.randint(0, 255)}.{rng.randint(0, 255)}",
            f"{rng.randint(1, 255)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}",
            ":".join(f"{rng.getrandbits(8):02x}" for _ in range(6)),
            "std::vector<int>",
            "a::b::c",
            f"{rng.randint(1, 255)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}."
            f"{rng.randint(0, 255)}.{rng.randint(0, 255)}",
            "1.2.3.4.5.6",
        ]
    )


def _bad_national(rng: random.Random) -> str:
    body = "".join(rng.choice(string.digits) for _ in range(8))
    right = dni.calc_check_digit(body)
    wrong = rng.choice([c for c in "TRWAGMYFPDXBNJZSQVHLCKE" if c != right])
    choice = rng.random()
    if choice < 0.4:
        return body + wrong
    if choice < 0.7:
        digits = "".join(rng.choice(string.digits) for _ in range(9))
        good = _complete(digits, string.digits, 2, cpf.is_valid)
        bad = good[:-1] + str((int(good[-1]) + 1) % 10)
        return f"{bad[:3]}.{bad[3:6]}.{bad[6:9]}-{bad[9:]}"
    digits = str(rng.randint(2, 9)) + "".join(rng.choice(string.digits) for _ in range(10))
    check = verhoeff.calc_check_digit(digits)
    bad = digits + str((int(check) + 1) % 10)
    return f"{bad[:4]} {bad[4:8]} {bad[8:]}"


NEGATIVES: list[Maker] = [_luhn_invalid, _unissued, _bad_ssn, _bad_iban, _bad_phone, _date_like,
                          _version, _order_id, _hash, _near_miss_secret, _bad_email, _bad_ip,
                          _bad_national]  # fmt: skip

# --------------------------------------------------------------------------- texts

_SENTENCES = [
    "Please review the attached notes before the meeting.",
    "The deployment finished without errors.",
    "Can you summarise this support ticket for me?",
    "Here is the log output from last night:",
    "Translate the following into French.",
    "We need this fixed before the release.",
    "The customer says the invoice was wrong.",
    "Refactor this function so it is easier to test.",
    "Thanks, that worked.",
    "What does this error mean?",
    "Draft a polite reply to the message below.",
    "The meeting moved to Thursday afternoon.",
]
_WRAPS = [
    "{lead} {value}",
    "{lead}: {value}.",
    "{lead} ({value})",
    "{lead} {value}, thanks",
    '"{value}"',
    "'{value}'",
    "{value}",
    "<td>{value}</td>",
    '{{"{field}": "{value}"}}',
    "{field}={value}",
    "- {value}",
    "[{value}]",
    "{lead}\n{value}\n",
    "{lead} {value};",
]


def _place(rng: random.Random, value: str, lead: str, field: str) -> str:
    wrap = rng.choice(_WRAPS)
    return wrap.format(lead=lead, value=value, field=field)


def _text(
    rng: random.Random, pieces: list[tuple[str | None, str]]
) -> tuple[str, list[dict[str, object]]]:
    """Join sentences and pieces in a random order; the labels' offsets follow."""
    parts: list[tuple[str | None, str, str]] = []
    for entity, value in pieces:
        lead = rng.choice(_LEADS.get(entity or "", ["ref", "see", "id", "note"]))
        field = rng.choice(["value", "contact", "ref", "data", "user"])
        parts.append((entity, value, _place(rng, value, lead, field)))
    filler = rng.sample(_SENTENCES, rng.randint(0, 3))
    order: list[tuple[str | None, str, str]] = parts + [(None, "", s) for s in filler]
    rng.shuffle(order)
    text, labels = "", []
    for entity, value, chunk in order:
        if text:
            text += rng.choice([" ", "\n", " ", "  "])
        if entity is not None and value:
            start = len(text) + chunk.index(value)
            labels.append({"entity": entity, "start": start, "end": start + len(value)})
        text += chunk
    return text, labels


def generate(seed: int = SEED) -> list[dict[str, object]]:
    rng = random.Random(seed)
    corpus: list[dict[str, object]] = []
    entities = list(MAKERS)
    for index in range(POSITIVE_TEXTS):
        chosen = [entities[index % len(entities)], *rng.sample(entities, rng.randint(0, 2))]
        pieces: list[tuple[str | None, str]] = [(entity, MAKERS[entity](rng)) for entity in chosen]
        pieces += [(None, rng.choice(NEGATIVES)(rng)) for _ in range(rng.randint(0, 2))]
        text, labels = _text(rng, pieces)
        corpus.append({"kind": "positive", "text": text, "entities": labels})
    for _ in range(NEGATIVE_TEXTS):
        pieces = [(None, rng.choice(NEGATIVES)(rng)) for _ in range(rng.randint(1, 4))]
        text, labels = _text(rng, pieces)
        corpus.append({"kind": "negative", "text": text, "entities": labels})
    return corpus


def write(path: Path = CORPUS) -> int:
    corpus = generate()
    with path.open("w") as out:
        for item in corpus:
            out.write(json.dumps(item, ensure_ascii=False) + "\n")
    return len(corpus)


if __name__ == "__main__":
    print(f"{write()} texts written to {CORPUS}", file=sys.stderr)
