"""A request in a locale the skill does not list (issue 22, finding 11): Alexa sends none to an English-only
skill, but a misrouted one got en-US's answer, "call nine one one", wherever the person was. Now the English
words with locales.yaml's ``unlisted`` entry: no country's number. Through the real app and SQLite file."""

from __future__ import annotations

import shutil

import pytest

from envelopes import intent, launch, speech
from said import keys_of
from skill.engine import ContentError, default_content
from skill.engine.guide import CONTENT_DIR, load_content

CONTENT = default_content()
UNLISTED = ["ja-JP", "hi-IN", "de-DE", "fr-FR", "es-ES"]


def _numbers(table: str) -> set[str]:
    return {info.__dict__[table]["emergency_number"] for info in CONTENT.locales.values()}


@pytest.mark.parametrize("locale", UNLISTED)
def test_a_red_flag_in_an_unlisted_locale_names_no_countrys_number(shared_client, new_user_id, locale):
    request = intent("DescribeSymptomIntent", {"description": "i can't feel my legs"}, user_id=new_user_id(),
                     locale=locale)
    response = shared_client.post("/alexa", json=request)
    assert response.status_code == 200
    assert keys_of(response).triage == "emergency"
    body = response.get_json()
    said, card = speech(body), body["response"]["card"]["content"]
    assert CONTENT.unlisted.spoken["emergency_number"] in said
    assert CONTENT.unlisted.written["emergency_number"] in card
    assert not [number for number in _numbers("spoken") if number in said]
    assert not [number for number in _numbers("written") if number in card]


@pytest.mark.parametrize("locale", UNLISTED)
def test_every_answer_in_an_unlisted_locale_is_english_without_a_number(shared_client, new_user_id, locale):
    response = shared_client.post("/alexa", json=launch(user_id=new_user_id(), locale=locale))
    assert response.status_code == 200 and keys_of(response).say[0] == "steps.stop_activity.say"
    said = speech(response.get_json())
    assert not [number for number in _numbers("spoken") if number in said]


def test_listed_locales_keep_their_own_number(shared_client, new_user_id):
    for locale, info in CONTENT.locales.items():
        request = intent("DescribeSymptomIntent", {"description": "i can't feel my legs"}, user_id=new_user_id(),
                         locale=locale)
        assert info.spoken["emergency_number"] in speech(shared_client.post("/alexa", json=request).get_json())


def test_the_unlisted_entry_is_required(tmp_path):
    """locales.yaml without it is refused at start-up, like any other content mistake."""
    copy = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, copy)
    text = (copy / "locales.yaml").read_text()
    (copy / "locales.yaml").write_text(text.replace("\nunlisted:", "\nnot_unlisted:"))
    with pytest.raises(ContentError, match="unlisted"):
        load_content(copy)

