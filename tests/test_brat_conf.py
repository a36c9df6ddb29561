"""brat's annotation.conf: argument types and symmetric-transitive relations carried
into the label scheme on import and written back on export (issue 19, item 6)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from annotations.formats.brat import declared_relations
from annotations.store import GoldStore
from reader.cli import app

runner = CliRunner()
CONF = """[entities]
!Agent
\tPerson
\tOrganization
Protein
GPE

[relations]
# a macro, as brat's own example configurations use
<AG>=Agent
Met\tArg1:<AG>, Arg2:<AG>, <REL-TYPE>:symmetric
Equiv\tArg1:Protein, Arg2:Protein, <REL-TYPE>:symmetric-transitive
Located\tArg1:Person|Protein, Arg2:GPE
Located\tArg1:Organization, Arg2:GPE
Any\tArg1:<ENTITY>, Arg2:<ENTITY>
<OVERLAP>\tArg1:<ENTITY>, Arg2:<ENTITY>, <OVL-TYPE>:<ANY>

[events]

[attributes]
"""
TEXT = "Anna met Ben. EpoR binds Jak2 in Oslo.\n"
ANN = ("T1\tPerson 0 4\tAnna\nT2\tPerson 9 12\tBen\nT3\tProtein 14 18\tEpoR\n"
       "T4\tProtein 25 29\tJak2\nT5\tGPE 33 37\tOslo\n"
       "R1\tMet Arg1:T2 Arg2:T1\nR2\tEquiv Arg1:T3 Arg2:T4\nR3\tLocated Arg1:T1 Arg2:T5\n")


def brat_folder(folder: Path, conf: str = CONF) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a.txt").write_text(TEXT, encoding="utf-8")
    (folder / "a.ann").write_text(ANN, encoding="utf-8")
    (folder / "annotation.conf").write_text(conf, encoding="utf-8")
    return folder


def relation_specs(db: Path) -> dict[str, tuple[list[str], list[str], bool, bool]]:
    with GoldStore(db, read_only=True) as store:
        return {r.name: (r.heads, r.children, r.symmetric, r.transitive)
                for r in store.labels.relations}


def test_declared_relations_read_types_hierarchy_macros_and_rel_type(tmp_path: Path):
    conf = brat_folder(tmp_path / "in") / "annotation.conf"
    found = {name: (r.heads, r.children, r.symmetric, r.transitive)
             for name, r in declared_relations(conf).items()}
    assert found == {
        "Met": (["Person", "Organization"], ["Person", "Organization"], True, False),
        "Equiv": (["Protein"], ["Protein"], True, True),
        "Located": (["Person", "Protein", "Organization"], ["GPE"], False, False),
        "Any": ([], [], False, False),
    }


def test_import_adopts_argument_types_and_symmetric_transitive_and_export_writes_them(
        tmp_path: Path):
    db = tmp_path / "gold.json"
    result = runner.invoke(app, ["import", str(brat_folder(tmp_path / "in")), "--format",
                                 "brat", "--as-gold", "--db", str(db)])
    assert result.exit_code == 0, result.output
    specs = relation_specs(db)
    assert specs["Equiv"] == (["Protein"], ["Protein"], True, True)
    assert specs["Met"] == (["Person", "Organization"], ["Person", "Organization"], True, False)
    out = tmp_path / "out"
    result = runner.invoke(app, ["export", "--db", str(db), "--format", "brat", "-o", str(out)])
    assert result.exit_code == 0, result.output
    conf = (out / "annotation.conf").read_text(encoding="utf-8").splitlines()
    assert "Equiv\tArg1:Protein, Arg2:Protein, <REL-TYPE>:symmetric-transitive" in conf
    assert ("Met\tArg1:Person|Organization, Arg2:Person|Organization, <REL-TYPE>:symmetric"
            in conf)
    assert "Located\tArg1:Person|Protein|Organization, Arg2:GPE" in conf
    # and back: a second store reads the exported folder into the same scheme
    again = tmp_path / "again.json"
    result = runner.invoke(app, ["import", str(out), "--format", "brat", "--as-gold",
                                 "--db", str(again)])
    assert result.exit_code == 0, result.output
    assert relation_specs(again) == {name: spec for name, spec in specs.items()}


def test_agreement_ignores_direction_of_a_relation_brat_declares_symmetric(tmp_path: Path):
    import json

    db = tmp_path / "gold.json"
    one, two = brat_folder(tmp_path / "one"), brat_folder(tmp_path / "two")
    (two / "a.ann").write_text(ANN.replace("Met Arg1:T2 Arg2:T1", "Met Arg1:T1 Arg2:T2"),
                               encoding="utf-8")
    for folder, name in ((one, "x"), (two, "y")):
        result = runner.invoke(app, ["import", str(folder), "--format", "brat", "--as-gold",
                                     "--annotator", name,
                                     "--db", str(db)])
        assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["agreement", "--db", str(db), "--json", "--bootstrap", "0"])
    assert result.exit_code == 0, result.output
    strict = json.loads(result.output)["pairs"][0]["relations"]["strict"]
    assert (strict["agreed"], strict["a"], strict["b"]) == (3, 3, 3)
