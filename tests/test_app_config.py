"""The annotator's config file: keymap and labels, and errors that name the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotations.errors import InputError
from annotations.models import EntityLabel, LabelScheme
from reader.config import DEFAULT_ENTITIES, DEFAULT_RELATIONS, load_config


def test_toml_config_gives_keymap_and_labels(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[keymap]\nundo = "ctrl+z"\n\n'
        '[[entities]]\nname = "PRODUCT_LINE"\nkey = "1"\ncolour = "#123456"\n\n'
        '[[relations]]\nname = "owns"\nkey = "o"\nheads = ["ORG"]\nchildren = ["ORG"]\n',
        encoding="utf-8",
    )
    config = load_config(path)
    assert config.keymap == {"undo": "ctrl+z"}
    scheme = config.apply_labels(LabelScheme(entities=[EntityLabel(name="ORG", key="1")]))
    # The configured label takes key 1; ORG keeps its place without a key.
    assert [(e.name, e.key) for e in scheme.entities] == [("ORG", None), ("PRODUCT_LINE", "1")]
    assert [r.name for r in scheme.relations] == ["owns"]


def test_json_config_and_defaults_for_an_empty_store(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{"keymap": {"quit": "ctrl+q"}}', encoding="utf-8")
    config = load_config(path)
    scheme = config.apply_labels(LabelScheme())
    assert scheme.entity_names == DEFAULT_ENTITIES
    assert scheme.relation_names == [r.name for r in DEFAULT_RELATIONS]
    # The common news labels get the number keys first.
    assert scheme.entity("PERSON").key == "1"  # type: ignore[union-attr]
    assert scheme.entity("GPE").key == "3"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("content", "reason"),
    [("[keymap\n", "cannot parse"), ('[[entities]]\nname = "TWO WORDS"\n', "entities.0.name")],
)
def test_bad_config_names_the_file_and_reason(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_config(path)
    assert str(path) in str(caught.value) and reason in str(caught.value)


def test_missing_explicit_config_is_an_error_missing_default_is_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(InputError):
        load_config(tmp_path / "nope.toml")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("READER_ANNOTATOR_CONFIG", raising=False)
    assert load_config().keymap == {}


@pytest.mark.anyio
@pytest.mark.parametrize("screen", ["review", "adjudicate"])
async def test_help_of_review_and_adjudicate_shows_the_users_keys(tmp_path: Path,
                                                                  screen: str) -> None:
    """With ``<screen>-undo = "z"`` in the config, help lists z, as the footer does."""
    from annotations.adjudication import Adjudication
    from annotations.models import Annotation, Document, Prediction, Span
    from annotations.store import GoldStore
    from reader.app import AdjudicateApp, ReviewApp
    from reader.config import AnnotatorConfig
    from reader.screens.help import HelpScreen

    text = "Ana Lima visited Bern.\n"
    with GoldStore(tmp_path / "gold.json") as store:
        doc = Document.from_text(text)
        store.add_documents([doc])
        store.add_entity_labels(["PER", "LOC"])
        ana, bern = Span(start=0, end=8, label="PER"), Span(start=17, end=21, label="LOC")
        store.save_annotations([Annotation(doc_id=doc.id, annotator=name, status="accept",
                                           spans=spans)
                                for name, spans in (("alice", [ana, bern]), ("bob", [ana]))])
        config = AnnotatorConfig(keymap={f"{screen}-undo": "z"})
        if screen == "review":
            store.put_predictions([Prediction(doc_id=doc.id, extractor="m@1", spans=[ana])])
            app: ReviewApp | AdjudicateApp = ReviewApp(store, "m@1", annotator="alice",
                                                       config=config)
        else:
            app = AdjudicateApp(store, Adjudication(store), config=config)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("question_mark")
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)
            rows = {row[3]: row[0] for row in app.screen.rows}
            assert rows[f"{screen}-undo"] == "z"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
