"""vCard import and export: real-world cards, broken cards among good ones, malformed uploads."""

from __future__ import annotations

import random
from typing import Any

import httpx2
import pytest

from inkbox_emulator.contacts.vcard import dump_card, parse_cards

C = "/api/v1/contacts"

APPLE = (
    "BEGIN:VCARD\r\n"
    "VERSION:3.0\r\n"
    "PRODID:-//Apple Inc.//macOS 14.0//EN\r\n"
    "N:Lovelace;Ada;Augusta;Lady;\r\n"
    "FN:Ada Lovelace\r\n"
    "ORG:Analytical Engines\\, Ltd;R&D;\r\n"
    "TITLE:Programmer\r\n"
    "EMAIL;type=INTERNET;type=WORK;type=pref:ada@example.com\r\n"
    "EMAIL;type=INTERNET;type=HOME:ada.home@exam\r\n"
    " ple.org\r\n"
    "TEL;type=CELL;type=VOICE;type=pref:(555) 123-4567\r\n"
    "TEL;type=WORK;type=VOICE:+44 20 7946 0958\r\n"
    "item1.URL;type=pref:https://ada.example\r\n"
    "item1.X-ABLabel:_$!<HomePage>!$_\r\n"
    "item2.X-ABDATE;type=pref:1835-07-08\r\n"
    "item2.X-ABLabel:_$!<Anniversary>!$_\r\n"
    "ADR;type=HOME;type=pref:;;12 St James's Square;London;;SW1Y 4LE;United Kingdom\r\n"
    "NOTE:Met at the demo.\\nFollow up\\, soon.\r\n"
    "BDAY:1815-12-10\r\n"
    "END:VCARD\r\n"
)

ANDROID_21 = (
    "BEGIN:VCARD\n"
    "VERSION:2.1\n"
    "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;J=C3=BCrgen;;;\n"
    "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:J=C3=BCrgen M=C3=BC=\n"
    "ller\n"
    "TEL;CELL;PREF:+49 151 23456789\n"
    "TEL;HOME:0049 30 1234567\n"
    "EMAIL;HOME:juergen@example.de\n"
    "END:VCARD\n"
)

OUTLOOK_40 = (
    "BEGIN:VCARD\r\n"
    "VERSION:4.0\r\n"
    "FN:Zoë Ψ-Test 李\r\n"
    'TEL;VALUE=uri;TYPE="cell,voice";PREF=1:tel:+1-555-987-6543\r\n'
    "EMAIL;TYPE=work:zoe@example.net\r\n"
    "BDAY:19900102\r\n"
    "ANNIVERSARY:20150620\r\n"
    "END:VCARD\r\n"
)


def upload(
    client: httpx2.Client, content: bytes | str, kind: str = "text/vcard"
) -> httpx2.Response:
    data = content.encode() if isinstance(content, str) else content
    return client.post(f"{C}/import", content=data, headers={"Content-Type": kind})


def test_real_world_cards() -> None:
    apple, android, outlook = (c.card for c in parse_cards(APPLE + ANDROID_21 + OUTLOOK_40))
    assert apple["preferred_name"] == "Ada Lovelace"
    assert (apple["given_name"], apple["middle_name"], apple["name_prefix"]) == (
        "Ada",
        "Augusta",
        "Lady",
    )
    assert apple["company_name"] == "Analytical Engines, Ltd"
    assert apple["emails"] == [
        {"value": "ada@example.com", "label": "work", "is_primary": True},
        {"value": "ada.home@example.org", "label": "home", "is_primary": False},
    ]
    assert apple["phones"] == [
        {"value_e164": "+15551234567", "label": "cell", "is_primary": True},
        {"value_e164": "+442079460958", "label": "work", "is_primary": False},
    ]
    assert apple["websites"] == [{"url": "https://ada.example", "label": "homepage"}]
    assert apple["dates"] == [{"date": "1835-07-08", "label": "anniversary"}]
    assert apple["addresses"][0]["street"] == "12 St James's Square"
    assert apple["addresses"][0]["postal"] == "SW1Y 4LE"
    assert apple["notes"] == "Met at the demo.\nFollow up, soon."
    assert apple["birthday"] == "1815-12-10"

    assert android["preferred_name"] == "Jürgen Müller"
    assert android["family_name"] == "Müller"
    assert [p["value_e164"] for p in android["phones"]] == ["+4915123456789", "+49301234567"]
    assert android["phones"][0]["is_primary"] is True

    assert outlook["preferred_name"] == "Zoë Ψ-Test 李"
    assert outlook["phones"] == [
        {"value_e164": "+15559876543", "label": "cell", "is_primary": True}
    ]
    assert outlook["birthday"] == "1990-01-02"
    assert outlook["dates"] == [{"date": "2015-06-20", "label": "anniversary"}]


def test_export_folds_long_lines_and_round_trips() -> None:
    card = parse_cards(APPLE)[0].card
    card["notes"] = "Ünïcödé " * 40
    text = dump_card({"id": "00000000-0000-0000-0000-000000000001", **card})
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    assert parse_cards(text)[0].card == card


@pytest.mark.parametrize(
    ("card", "reason"),
    [
        ("BEGIN:VCARD\nVERSION:3.0\nFN:X\nTEL:12\nEND:VCARD\n", "TEL"),
        ("BEGIN:VCARD\nVERSION:3.0\nFN:X\nEMAIL:not-an-email\nEND:VCARD\n", "EMAIL"),
        ("BEGIN:VCARD\nVERSION:3.0\nFN:X\nBDAY:--0412\nEND:VCARD\n", "BDAY"),
        ("BEGIN:VCARD\nVERSION:3.0\nEND:VCARD\n", "no name"),
        ("BEGIN:VCARD\nFN:X\nEND:VCARD\n", "VERSION"),
        ("BEGIN:VCARD\nVERSION:5.0\nFN:X\nEND:VCARD\n", "VERSION"),
        ("BEGIN:VCARD\nVERSION:3.0\nFN:X\nthis line has no colon\nEND:VCARD\n", "unreadable"),
    ],
)
def test_a_bad_card_among_good_ones_is_reported_by_index(
    admin: httpx2.Client, card: str, reason: str
) -> None:
    good = "BEGIN:VCARD\nVERSION:3.0\nFN:Good {}\nEND:VCARD\n"
    response = upload(admin, good.format(0) + card + good.format(2))
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["created_count"], result["error_count"]) == (2, 1)
    statuses = [(r["index"], r["status"]) for r in result["results"]]
    assert statuses == [(0, "created"), (1, "error"), (2, "created")]
    assert reason in result["results"][1]["error"]
    assert result["results"][1]["contact"] is None


def test_unterminated_last_card(admin: httpx2.Client) -> None:
    result = upload(admin, "BEGIN:VCARD\nVERSION:3.0\nFN:A\nEND:VCARD\nBEGIN:VCARD\nFN:B\n").json()
    assert [(r["index"], r["status"]) for r in result["results"]] == [(0, "created"), (1, "error")]


@pytest.mark.parametrize(
    ("content", "kind", "status"),
    [
        (b"", "text/vcard", 422),
        (b"just some text, no cards", "text/vcard", 422),
        (b"BEGIN:VCARD\nVERSION:3.0\nFN:A\nEND:VCARD\n", "application/json", 415),
        (b"BEGIN:VCARD\nVERSION:3.0\nFN:A\nEND:VCARD\n", "", 415),
        (b"x" * (5 * 1024 * 1024 + 1), "text/vcard", 413),
        (b"BEGIN:VCARD\nVERSION:3.0\nFN:A\nEND:VCARD\n" * 1001, "text/vcard", 422),
    ],
)
def test_malformed_uploads(admin: httpx2.Client, content: bytes, kind: str, status: int) -> None:
    assert upload(admin, content, kind).status_code == status


def test_content_type_parameters_and_old_encodings(admin: httpx2.Client) -> None:
    latin1 = "BEGIN:VCARD\nVERSION:3.0\nFN:José\nEND:VCARD\n".encode("latin-1")
    result = upload(admin, latin1, "text/x-vcard; charset=iso-8859-1").json()
    assert result["results"][0]["contact"]["preferred_name"] == "José"
    bom = "\ufeffBEGIN:VCARD\nVERSION:4.0\nFN:Bom\nEND:VCARD\n".encode()
    assert upload(admin, bom, "text/vcard; charset=utf-8").json()["created_count"] == 1


def test_export_of_one_and_many(admin: httpx2.Client) -> None:
    contact: dict[str, Any] = upload(admin, APPLE).json()["results"][0]["contact"]
    one = admin.get(f"{C}/{contact['id']}.vcf", headers={"Accept": "text/vcard"})
    assert one.status_code == 200
    assert one.headers["content-type"].startswith("text/vcard")
    assert one.text.startswith("BEGIN:VCARD\r\nVERSION:4.0\r\n")
    assert f"UID:urn:uuid:{contact['id']}" in one.text
    many = admin.post(f"{C}/vcard-export", json={"contact_ids": [contact["id"]] * 2}).json()
    assert (many["content_type"], many["contact_count"]) == ("text/vcard", 1)
    assert many["vcard"] == one.text


def test_mutated_uploads_never_fail_the_server(admin: httpx2.Client) -> None:
    rng = random.Random(1234)
    source = (APPLE + ANDROID_21 + OUTLOOK_40).encode()
    for _ in range(60):
        data = bytearray(source)
        for _ in range(rng.randint(1, 30)):
            position = rng.randrange(len(data))
            choice = rng.random()
            if choice < 0.4:
                data[position] = rng.randrange(256)
            elif choice < 0.7:
                del data[position : position + rng.randint(1, 20)]
            else:
                data[position:position] = rng.choice(
                    [b":", b";", b"=", b"\n ", b"\\", b'"', b"\r\n"]
                )
        response = upload(admin, bytes(data))
        assert response.status_code in (200, 422), response.text
