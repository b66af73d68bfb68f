"""`readinglist export`: formats, filters, -o FILE, and user errors."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import threading

import pytest
from click.testing import CliRunner

from export_fixtures import add_described_item, build_library, library, write_answer  # noqa: F401
from readinglist.cli import cli
from readinglist.db import open_db


def run(db_path, *args):
    return CliRunner().invoke(cli, ["export", "--db", str(db_path), *args])


@pytest.mark.parametrize(
    "fmt, start",
    [
        ("bibtex", "@misc{andrejkarpathy2023lets,"),
        ("biblatex", "@online{andrejkarpathy2023lets,"),
        ("ris", "TY  - VIDEO"),
        ("csljson", "["),
        ("json", "["),
        ("csv", "citekey,id,type,title"),
        ("netscape", "<!DOCTYPE NETSCAPE-Bookmark-file-1>"),
    ],
)
def test_every_format_to_stdout(library, db_path, fmt, start):
    result = run(db_path, "--format", fmt)
    assert result.exit_code == 0, result.output
    assert result.output.startswith(start)


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_json_and_csv_exports_carry_what_list_json_has(library, db_path, fmt):
    # README: "every field"; the exports had no priority, reading_minutes, fetch_status, channels, ...
    library.execute("UPDATE items SET priority = 'high', reading_minutes = 7, fetch_status = 'ok'"
                    " WHERE url = 'https://arxiv.org/abs/1706.03762'")
    result = run(db_path, "-f", fmt)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output) if fmt == "json" else list(csv.DictReader(io.StringIO(result.output)))
    listed = json.loads(CliRunner().invoke(cli, ["list", "--json", "--status", "all", "--db", str(db_path)]).output)
    assert set(listed[0]) - {"meta"} <= set(rows[0])
    paper = next(row for row in rows if row["url"] == "https://arxiv.org/abs/1706.03762")
    expected = ("high", 7, "ok", ["ai_notes", "ml_digest"]) if fmt == "json" else ("high", "7", "ok", "ai_notes|ml_digest")
    assert (paper["priority"], paper["reading_minutes"], paper["fetch_status"], paper["channels"]) == expected


def _keys(db_path, *args):
    result = run(db_path, "-f", "json", *args)
    assert result.exit_code == 0, result.output
    return sorted(row["citekey"] for row in json.loads(result.output))


def test_filters(library, db_path):
    assert _keys(db_path, "--kind", "repo") == ["huggingface2018transformers", "karpathy2022nanogpt"]
    assert _keys(db_path, "--status", "read") == ["vaswani2017attention"]
    assert _keys(db_path, "--status", "archived") == ["examplenet2024"]
    assert _keys(db_path, "--tag", "трансформеры") == ["petrov2024ustroeny"]
    # First seen: the first mention, else when it was added.
    assert _keys(db_path, "--since", "2024-06-10", "--kind", "paper") == [
        "cruz2020preprint", "devlin2018bert", "he2016deep", "lecun2015deep", "maldacena1997large"]
    assert _keys(db_path, "--kind", "channel") == ["tme2024ml"]
    assert len(_keys(db_path)) == 16  # channels left out by default


def _add_post(db, post_id, channel, url, forwarded_from=None):
    """A post in ``channel`` (forwarded from ``forwarded_from``) mentioning the item at ``url``."""
    from readinglist.db import item_id_for, mention_id_for, mentions_written

    item_id = item_id_for(url)
    db["posts"].insert({"id": post_id, "source": "test", "channel": channel, "forwarded_from": forwarded_from,
                        "date": "2024-05-01T10:00:00+00:00", "text": "see", "hashtags": "[]"})
    db["mentions"].insert({"id": mention_id_for(item_id, post_id, url), "item_id": item_id, "post_id": post_id,
                           "url": url, "context": "see"})
    mentions_written(db, [item_id])
    db.conn.commit()


DIGEST = ["andrejkarpathy2023lets", "karpathy2022nanogpt", "petrov2024ustroeny", "vaswani2017attention", "vcru2024ii"]


@pytest.mark.parametrize(
    "typed, keys",
    [
        ("ml_digest", DIGEST),
        # One channel however it is typed, and every spelling the posts store (ML_Digest too).
        ("@ML_DIGEST", DIGEST),
        ("t.me/ml_digest", DIGEST),
        ("https://t.me/s/ml_digest", DIGEST),
        ("ai_notes", ["exampleorg2023", "vaswani2017attention"]),
        ("nobody", []),
    ],
)
def test_channel_takes_the_items_list_channel_takes(library, db_path, typed, keys):
    """--channel works in export as in list: any spelling, forwarded posts count for the channel that wrote them."""
    _add_post(library, "spelled", "ML_Digest", "https://github.com/karpathy/nanogpt")
    _add_post(library, "forwarded", "elsewhere", "https://www.youtube.com/watch?v=kCc8FmEb1nY", forwarded_from="ml_digest")
    assert _keys(db_path, "--channel", typed) == keys
    assert _keys(db_path, "-c", typed) == keys
    listed = CliRunner().invoke(cli, ["list", "--db", str(db_path), "--status", "all", "--json", "--channel", typed])
    assert len(json.loads(listed.output)) == len(keys)


@pytest.mark.parametrize("day", ["2024-06-10", "20240610", "2024-W24-1"])
def test_since_takes_every_iso_spelling_of_a_date(library, db_path, day):
    assert _keys(db_path, "--since", day, "--kind", "paper") == [
        "cruz2020preprint", "devlin2018bert", "he2016deep", "lecun2015deep", "maldacena1997large"]


def test_output_file(library, db_path, tmp_path):
    target = tmp_path / "reading.bib"
    result = CliRunner().invoke(cli, ["export", "--db", str(db_path), "-o", str(target)])
    assert result.exit_code == 0
    assert result.output == f"Exported 16 items to {target} (bibtex).\n"
    assert target.read_text(encoding="utf-8").count("\n@") == 15
    quiet = CliRunner().invoke(cli, ["export", "--db", str(db_path), "-o", str(target), "-f", "ris", "--quiet"])
    assert quiet.output == "" and target.read_text(encoding="utf-8").startswith("TY  - ")


@pytest.mark.parametrize(
    "filters, message",
    [([], "Exported 16 items"), (["--tag", "трансформеры"], "Exported 1 item"), (["--tag", "none"], "Exported 0 items")],
)
def test_the_output_file_message_counts_items(library, db_path, tmp_path, filters, message):
    target = tmp_path / "reading.ris"
    result = run(db_path, "-f", "ris", *filters, "-o", str(target))
    assert (result.exit_code, result.output) == (0, f"{message} to {target} (ris).\n")


@pytest.fixture
def umask():
    """Set the process umask for a test (and put the old one back)."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


@pytest.mark.parametrize(
    "mask, existing_mode, expected_mode",
    [(0o022, None, 0o644), (0o077, None, 0o600), (0o002, None, 0o664), (0o022, 0o644, 0o644), (0o077, 0o644, 0o644),
     (0o022, 0o640, 0o640), (0o022, 0o600, 0o600)],
)
@pytest.mark.parametrize("through_symlink", [False, True])
def test_output_file_keeps_mode_and_symlink(library, db_path, tmp_path, umask, mask, existing_mode, expected_mode,
                                            through_symlink):
    # The temporary file was made 0600 and renamed over the target, replacing a symlink with a file.
    umask(mask)
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "reading.bib"
    if existing_mode is not None:
        target.write_text("old")
        target.chmod(existing_mode)
    named = target
    if through_symlink:
        named = folder / "link.bib"
        named.symlink_to(target.name)
    result = run(db_path, "-o", str(named), "--quiet")
    assert (result.exit_code, result.output) == (0, "")
    assert named.is_symlink() is through_symlink
    assert target.read_text(encoding="utf-8").startswith("@")
    assert stat.S_IMODE(target.stat().st_mode) == expected_mode
    assert sorted(p.name for p in folder.iterdir()) == sorted({"reading.bib", named.name})  # no temporary file left


@pytest.mark.parametrize(
    "name, make, message",
    [
        ("readinglist.db", None, "is the database"),  # -o reading<TAB>
        ("link.db", lambda folder: (folder / "link.db").symlink_to("readinglist.db"), "is the database"),
        ("hard.db", lambda folder: os.link(folder / "readinglist.db", folder / "hard.db"), "is the database"),
        ("readinglist.db-wal", None, "is the database"),  # where the last commits are until a checkpoint
        ("other.db", lambda folder: open_db(folder / "other.db").close(), "is an SQLite database"),
    ],
)
def test_export_never_writes_over_a_database(library, db_path, monkeypatch, name, make, message):
    # -o readinglist.db replaced the whole reading list with a .bib file, exit 0.
    folder = db_path.parent
    monkeypatch.chdir(folder)
    if make:
        make(folder)
    target = folder / name
    before = (target.lstat().st_ino, target.read_bytes()[:16])  # the export itself stores citation keys
    result = run(db_path, "-o", name)
    assert (result.exit_code, result.output) == (1, f"Error: {name}: {message}; choose another output file\n")
    assert (target.lstat().st_ino, target.read_bytes()[:16]) == before
    assert _keys(db_path, "--kind", "repo") == ["huggingface2018transformers", "karpathy2022nanogpt"]


def _reader(open_stream) -> tuple[threading.Thread, list[bytes]]:
    """A thread reading a pipe to its end (its writer would block on a full pipe)."""
    chunks: list[bytes] = []

    def read():
        with open_stream() as stream:
            chunks.append(stream.read())

    thread = threading.Thread(target=read, daemon=True)  # left waiting if nothing opens the FIFO
    thread.start()
    return thread, chunks


def _fifo(folder):
    os.mkfifo(folder / "fifo")
    return "fifo", lambda: open(folder / "fifo", "rb"), None


def _pipe(folder):
    read_end, write_end = os.pipe()
    # What /dev/stdout is when the output goes into a pipe.
    return f"/proc/self/fd/{write_end}", lambda: open(read_end, "rb"), write_end


def _null_device(folder):
    if os.geteuid() != 0:
        pytest.skip("mknod needs root")
    os.mknod(folder / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    return "null", None, None


@pytest.mark.parametrize("make", [_fifo, _pipe, _null_device])
def test_output_to_a_device_fifo_or_pipe_is_written_not_replaced(library, db_path, tmp_path, monkeypatch, make):
    # The export was renamed over the FIFO or device node, replacing it with a regular file
    # (as root, -o /dev/null destroyed /dev/null); -o /dev/stdout into a pipe failed with
    # "cannot write (No such file or directory)".
    folder = tmp_path / "out"
    folder.mkdir()
    monkeypatch.chdir(folder)
    name, open_stream, write_end = make(folder)
    before = os.stat(name).st_mode
    thread, chunks = _reader(open_stream) if open_stream else (None, [])
    result = run(db_path, "-o", name, "-f", "ris")
    if write_end is not None:
        os.close(write_end)
    if thread:
        thread.join(10)
    assert (result.exit_code, result.output) == (0, f"Exported 16 items to {name} (ris).\n")
    if not name.startswith("/proc/"):
        assert os.stat(name).st_mode == before
        assert os.listdir(folder) == [name]  # no temporary file left
    if thread:
        assert chunks[0].startswith(b"TY  - ") and chunks[0].count(b"\nER  -") == 16


def test_same_keys_on_every_export(library, db_path):
    first = run(db_path, "-f", "bibtex").output
    assert run(db_path, "-f", "bibtex").output == first


@pytest.mark.parametrize(
    "args, message",
    [
        (["--since", "yesterday"], "Error: --since: invalid date 'yesterday' (use YYYY-MM-DD)\n"),
        (["-o", "/nonexistent-dir/x.bib"], "Error: /nonexistent-dir/x.bib: cannot write (No such file or directory)\n"),
    ],
)
def test_bad_input_is_one_error_line(library, db_path, args, message):
    result = run(db_path, *args)
    assert result.exit_code == 1
    assert result.output == message


def test_unknown_format_is_a_usage_error(library, db_path):
    result = CliRunner().invoke(cli, ["export", "--db", str(db_path), "-f", "docx"], prog_name="readinglist")
    assert result.exit_code == 1
    assert result.output == (
        "Error: Invalid value for '--format' / '-f': 'docx' is not one of 'bibtex', 'biblatex', 'ris', 'csljson',"
        " 'json', 'csv', 'netscape' (see 'readinglist export --help')\n"
    )


def test_empty_selection_is_an_empty_valid_file(library, db_path):
    result = run(db_path, "-f", "csljson", "--tag", "no-such-tag")
    assert result.exit_code == 0
    assert json.loads(result.output) == []


def _unbraced(value: str) -> str:
    return value.replace("{", "").replace("}", "")


# The container's field in bibtex, biblatex and a Zotero item.
JOURNAL = ("journal", "journaltitle", "publicationTitle")
PROCEEDINGS = ("booktitle", "booktitle", "proceedingsTitle")


@pytest.mark.parametrize(
    "url, identifiers, answer, fields, container",
    [
        ("https://doi.org/10.1111/cdev.13000", {"doi": "10.1111/cdev.13000"},
         ("crossref", "crossref_child_development.json"), JOURNAL, "Child Development"),
        ("https://doi.org/10.1109/cvpr.2016.90", {"doi": "10.1109/cvpr.2016.90"}, ("crossref", "crossref_cvpr.json"),
         PROCEEDINGS, "2016 IEEE Conference on Computer Vision and Pattern Recognition (CVPR)"),
        ("https://doi.org/10.5281/zenodo.7654321", {"doi": "10.5281/zenodo.7654321"},
         ("datacite", "datacite_article.json"), JOURNAL, "Journal of Open Reading"),
    ],
)
def test_the_journal_or_proceedings_a_site_names_is_in_every_format(db_path, url, identifiers, answer, fields, container):
    # Records read meta keys no adapter writes (container_title, journal); Crossref and DataCite store "container".
    from pybtex.database import parse_string

    from readinglist.export import select_items
    from readinglist.zotero import zotero_item

    db = open_db(db_path)
    add_described_item(db, url, answer, **identifiers)
    bibtex_field, biblatex_field, zotero_field = fields
    bibtex = parse_string(run(db_path, "-f", "bibtex").output, "bibtex").entries.values()
    assert [_unbraced(entry.fields[bibtex_field]) for entry in bibtex] == [container]
    biblatex = parse_string(run(db_path, "-f", "biblatex").output, "bibtex").entries.values()
    assert [_unbraced(entry.fields[biblatex_field]) for entry in biblatex] == [container]
    assert f"\nT2  - {container}\n" in run(db_path, "-f", "ris").output
    assert [item["container-title"] for item in json.loads(run(db_path, "-f", "csljson").output)] == [container]
    assert [item["container"] for item in json.loads(run(db_path, "-f", "json").output)] == [container]
    assert zotero_item(select_items(db)[0])[zotero_field] == container


@pytest.mark.parametrize(
    "fmt, expected",
    [
        # The year the item was added (it has no mention), not the year the DOI was deposited (2004).
        ("bibtex", "@inproceedings{arya2024clock,\n"
                   "  author    = {Arya, Ravi},\n"
                   "  title     = {Clock Drift in Small Clusters},\n"
                   "  booktitle = {Proceedings of the Example Workshop on Distributed Systems, 2003},\n"
                   "  year      = {2024},\n"
                   "  pages     = {12--17},\n"
                   "  publisher = {Example Press},\n"
                   "  doi       = {10.1000/workshop.2003.17},\n"
                   "  url       = {https://doi.org/10.1000/workshop.2003.17},\n"
                   "}\n"),
        ("ris", "TY  - CPAPER\nTI  - Clock Drift in Small Clusters\nAU  - Arya, Ravi\nPY  - 2024\n"
                "T2  - Proceedings of the Example Workshop on Distributed Systems, 2003\nSP  - 12\nEP  - 17\n"
                "PB  - Example Press\nDO  - 10.1000/workshop.2003.17\nUR  - https://doi.org/10.1000/workshop.2003.17\n"
                "Y2  - 2024/06/10/\nID  - arya2024clock\nER  - \n"),
    ],
    ids=["bibtex", "ris"],
)
def test_a_crossref_work_without_a_publication_date_gets_no_deposit_date(db_path, fmt, expected):
    add_described_item(open_db(db_path), "https://doi.org/10.1000/workshop.2003.17", ("crossref", "crossref_no_date.json"),
                       doi="10.1000/workshop.2003.17")
    result = run(db_path, "-f", fmt)
    assert (result.exit_code, result.output) == (0, expected)


@pytest.mark.parametrize(
    "fmt, expected",
    [
        ("bibtex", "@article{naumann1999burnet,\n"
                   "  author  = {Naumann, Clas},\n"
                   "  title   = {Burnet moths of the Alps \\& the Carpathians: a review of Zygaena and {CO2} uptake},\n"
                   "  journal = {Annals \\& Records of Lepidoptera},\n"
                   "  year    = {1999},\n"
                   "  month   = jul,\n"
                   "  volume  = {46},\n"
                   "  number  = {2},\n"
                   "  pages   = {214--215},\n"
                   "  doi     = {10.1000/moths.1999.214},\n"
                   "  url     = {https://doi.org/10.1000/moths.1999.214},\n"
                   "}\n"),
        ("ris", "TY  - JOUR\nTI  - Burnet moths of the Alps & the Carpathians: a review of Zygaena and CO2 uptake\n"
                "AU  - Naumann, Clas\nPY  - 1999\nDA  - 1999/07//\nT2  - Annals & Records of Lepidoptera\nVL  - 46\n"
                "IS  - 2\nSP  - 214\nEP  - 215\nPB  - Example Press\nDO  - 10.1000/moths.1999.214\n"
                "UR  - https://doi.org/10.1000/moths.1999.214\nY2  - 2024/06/10/\nID  - naumann1999burnet\nER  - \n"),
    ],
    ids=["bibtex", "ris"],
)
def test_html_entities_and_markup_in_crossref_titles_are_not_exported(db_path, fmt, expected):
    add_described_item(open_db(db_path), "https://doi.org/10.1000/moths.1999.214", ("crossref", "crossref_entities.json"),
                       doi="10.1000/moths.1999.214")
    result = run(db_path, "-f", fmt)
    assert (result.exit_code, result.output) == (0, expected)


def _authors_as_exported(db_path, fmt: str):
    """The authors of the one exported item, as the format writes them."""
    import re

    from readinglist.export import select_items
    from readinglist.zotero import zotero_item

    if fmt == "zotero":
        return zotero_item(select_items(open_db(db_path))[0])["creators"]
    output = run(db_path, "-f", fmt).output
    if fmt == "csljson":
        return json.loads(output)[0]["author"]
    if fmt == "ris":
        return [line[6:] for line in output.splitlines() if line.startswith("AU  - ")]
    return re.search(r"^  author\s+= (.*),$", output, re.M).group(1)


CROSSREF_NAMES = ("https://doi.org/10.1000/helium.2014.5", "10.1000/helium.2014.5", ("crossref", "crossref_names.json"))
DATACITE_NAMES = ("https://doi.org/10.5281/zenodo.1000005", "10.5281/zenodo.1000005", ("datacite", "datacite_names.json"))


def _zotero_authors(*names):
    return [{"creatorType": "author", **({"name": name} if isinstance(name, str) else dict(zip(("firstName", "lastName"), name)))}
            for name in names]


@pytest.mark.parametrize(
    "item, fmt, expected",
    [
        (CROSSREF_NAMES, "bibtex", "{Del Maestro, A. and Dalla Serra, Mauro and de la Cruz, Maria and King, Jr., Martin Luther"
                                   " and {Pore Physics Consortium}}"),
        (CROSSREF_NAMES, "biblatex", "{Del Maestro, A. and Dalla Serra, Mauro and de la Cruz, Maria and King, Jr., Martin Luther"
                                     " and {Pore Physics Consortium}}"),
        (CROSSREF_NAMES, "ris", ["Del Maestro, A.", "Dalla Serra, Mauro", "de la Cruz, Maria", "King, Martin Luther, Jr.",
                                 "Pore Physics Consortium"]),
        (CROSSREF_NAMES, "csljson", [{"family": "Del Maestro", "given": "A."}, {"family": "Dalla Serra", "given": "Mauro"},
                                     {"family": "Cruz", "given": "Maria", "non-dropping-particle": "de la"},
                                     {"family": "King", "given": "Martin Luther", "suffix": "Jr."},
                                     {"literal": "Pore Physics Consortium"}]),
        (CROSSREF_NAMES, "zotero", _zotero_authors(("A.", "Del Maestro"), ("Mauro", "Dalla Serra"), ("Maria", "de la Cruz"),
                                                   ("Martin Luther", "King Jr."), "Pore Physics Consortium")),
        (DATACITE_NAMES, "bibtex", "{Del Maestro, Adrian and Dalla Serra, Mauro and Lima, Ana and {Pore Physics Lab, Inc.}}"),
        (DATACITE_NAMES, "ris", ["Del Maestro, Adrian", "Dalla Serra, Mauro", "Lima, Ana", "Pore Physics Lab, Inc."]),
        (DATACITE_NAMES, "csljson", [{"family": "Del Maestro", "given": "Adrian"}, {"family": "Dalla Serra", "given": "Mauro"},
                                     {"family": "Lima", "given": "Ana"}, {"literal": "Pore Physics Lab, Inc."}]),
        (DATACITE_NAMES, "zotero", _zotero_authors(("Adrian", "Del Maestro"), ("Mauro", "Dalla Serra"), ("Ana", "Lima"),
                                                   "Pore Physics Lab, Inc.")),
    ],
    ids=[f"{source}-{fmt}" for source, formats in (("crossref", ("bibtex", "biblatex", "ris", "csljson", "zotero")),
                                                   ("datacite", ("bibtex", "ris", "csljson", "zotero"))) for fmt in formats],
)
def test_family_names_of_several_words_are_kept_in_every_format(db_path, item, fmt, expected):
    url, doi, answer = item
    add_described_item(open_db(db_path), url, answer, doi=doi)
    assert _authors_as_exported(db_path, fmt) == expected


def _add_page(db, authors: list[str]) -> None:
    """An article page as ``fetch`` stores it, with the authors its meta tags gave."""
    from readinglist.db import item_id_for

    url = "https://journal.example/article/1"
    db["items"].insert({"id": item_id_for(url), "url": url, "kind": "article", "domain": "journal.example",
                        "status": "unread", "added_at": "2024-06-10T12:00:00+00:00", "published": "2023",
                        "title": "Применение трансформеров", "authors": json.dumps(authors, ensure_ascii=False)})
    db.conn.commit()


RUSSIAN_INITIALS = ["Петров А. В.", "Сидорова Е.Н.", "Smith J."]
CUT_LIST = ["Иванов И. И.", "others"]  # "Иванов И. И. и др."


@pytest.mark.parametrize(
    "authors, fmt, expected",
    [
        (RUSSIAN_INITIALS, "bibtex", "{Петров, А. В. and Сидорова, Е.Н. and Smith, J.}"),
        (RUSSIAN_INITIALS, "biblatex", "{Петров, А. В. and Сидорова, Е.Н. and Smith, J.}"),
        (RUSSIAN_INITIALS, "ris", ["Петров, А. В.", "Сидорова, Е.Н.", "Smith, J."]),
        (RUSSIAN_INITIALS, "csljson", [{"family": "Петров", "given": "А. В."}, {"family": "Сидорова", "given": "Е.Н."},
                                       {"family": "Smith", "given": "J."}]),
        (RUSSIAN_INITIALS, "zotero", _zotero_authors(("А. В.", "Петров"), ("Е.Н.", "Сидорова"), ("J.", "Smith"))),
        (CUT_LIST, "bibtex", "{Иванов, И. И. and others}"),
        (CUT_LIST, "biblatex", "{Иванов, И. И. and others}"),
        (CUT_LIST, "ris", ["Иванов, И. И."]),
        (CUT_LIST, "csljson", [{"family": "Иванов", "given": "И. И."}]),
        (CUT_LIST, "zotero", _zotero_authors(("И. И.", "Иванов"))),
    ],
    ids=[f"{case}-{fmt}" for case in ("initials", "cut") for fmt in ("bibtex", "biblatex", "ris", "csljson", "zotero")],
)
def test_names_written_surname_first_with_initials_in_every_format(db_path, authors, fmt, expected):
    _add_page(open_db(db_path), authors)
    assert _authors_as_exported(db_path, fmt) == expected


def test_names_written_surname_first_key_by_the_surname(db_path):
    _add_page(open_db(db_path), RUSSIAN_INITIALS)
    assert run(db_path, "-f", "bibtex").output.startswith("@misc{petrov2023primenenie,\n")


def _locator_as_exported(db_path, fmt: str):
    """Where the one exported item is in its journal (pages, article number), as the format writes it."""
    from readinglist.export import select_items
    from readinglist.zotero import zotero_item

    if fmt == "zotero":
        return zotero_item(select_items(open_db(db_path))[0]).get("pages")
    output = run(db_path, "-f", fmt).output
    if fmt == "csljson":
        return {key: value for key, value in json.loads(output)[0].items() if key in ("page", "number")}
    return [line for line in output.splitlines() if line.startswith(("  pages ", "  eid ", "SP  -", "EP  -"))]


ARTICLE_NUMBER = ("https://doi.org/10.1000/physrev.106.022212", "10.1000/physrev.106.022212", "crossref_article_number.json")
BOTH = ("https://doi.org/10.1000/bio.2011.e1001", "10.1000/bio.2011.e1001", "crossref_pages_and_article_number.json")


@pytest.mark.parametrize(
    "item, fmt, expected",
    [
        (ARTICLE_NUMBER, "bibtex", ["  pages   = {022212},", "  eid     = {022212},"]),
        (ARTICLE_NUMBER, "biblatex", ["  eid          = {022212},"]),
        (ARTICLE_NUMBER, "ris", ["SP  - 022212"]),
        (ARTICLE_NUMBER, "csljson", {"page": "022212"}),
        (ARTICLE_NUMBER, "zotero", "022212"),
        # Pages when the journal gives them; the article number only where it has a field of its own.
        (BOTH, "bibtex", ["  pages   = {1--12},", "  eid     = {e1001},"]),
        (BOTH, "biblatex", ["  pages        = {1--12},", "  eid          = {e1001},"]),
        (BOTH, "ris", ["SP  - 1", "EP  - 12"]),
        (BOTH, "csljson", {"page": "1-12"}),
        (BOTH, "zotero", "1-12"),
    ],
    ids=[f"{case}-{fmt}" for case in ("number", "both") for fmt in ("bibtex", "biblatex", "ris", "csljson", "zotero")],
)
def test_the_article_number_locates_the_article_in_every_format(db_path, item, fmt, expected):
    url, doi, answer = item
    add_described_item(open_db(db_path), url, ("crossref", answer), doi=doi)
    assert _locator_as_exported(db_path, fmt) == expected


ARXIV_REF = ("https://arxiv.org/abs/astro-ph/9901001", {"arxiv_id": "astro-ph/9901001"}, ("arxiv", "arxiv_journal_ref.atom.xml"))
PREPRINT_BIBTEX = (
    "  author        = {Example, Saul},\n"
    "  title         = {Distances to Faint Supernovae},\n"
    "  year          = {1998},\n"
    "  month         = dec,\n"
    "  doi           = {10.1000/apj.517.565},\n"
    "  eprint        = {astro-ph/9901001},\n"
    "  archivePrefix = {arXiv},\n"
    "  primaryClass  = {astro-ph},\n"
)
PREPRINT_BIBLATEX = (
    "  author      = {Example, Saul},\n"
    "  title       = {Distances to Faint Supernovae},\n"
    "  date        = {1998-12-08},\n"
    "  doi         = {10.1000/apj.517.565},\n"
    "  eprint      = {astro-ph/9901001},\n"
    "  eprinttype  = {arXiv},\n"
    "  eprintclass = {astro-ph},\n"
)


def _journal_as_exported(db_path, fmt: str):
    """What the one exported item says of where it was published."""
    from readinglist.export import select_items
    from readinglist.zotero import zotero_item

    if fmt == "zotero":
        item = zotero_item(select_items(open_db(db_path))[0])
        return {key: item[key] for key in ("itemType", "publicationTitle", "extra") if key in item}
    output = run(db_path, "-f", fmt).output
    if fmt == "csljson":
        item = json.loads(output)[0]
        return {key: item[key] for key in ("type", "container-title", "publisher", "number", "note") if key in item}
    return output


@pytest.mark.parametrize(
    "fmt, expected",
    [
        ("bibtex", "@misc{example1998distances,\n" + PREPRINT_BIBTEX
         + "  note          = {Astrophys.J.517:565-586,1999},\n"
           "  url           = {https://arxiv.org/abs/astro-ph/9901001},\n"
           "  langid        = {english},\n"
           "  abstract      = {We measure distances.},\n"
           "}\n"),
        ("biblatex", "@online{example1998distances,\n" + PREPRINT_BIBLATEX
         + "  note        = {Astrophys.J.517:565-586,1999},\n"
           "  url         = {https://arxiv.org/abs/astro-ph/9901001},\n"
           "  langid      = {english},\n"
           "  abstract    = {We measure distances.},\n"
           "}\n"),
        ("ris", "TY  - GEN\nTI  - Distances to Faint Supernovae\nAU  - Example, Saul\nPY  - 1998\nDA  - 1998/12/08/\n"
                "PB  - arXiv\nM3  - Preprint\nAN  - arXiv:astro-ph/9901001\nDB  - arXiv\nDO  - 10.1000/apj.517.565\n"
                "UR  - https://arxiv.org/abs/astro-ph/9901001\nY2  - 2024/06/10/\nLA  - en\nAB  - We measure distances.\n"
                "N1  - Astrophys.J.517:565-586,1999\nID  - example1998distances\nER  - \n"),
        ("csljson", {"type": "article", "publisher": "arXiv", "number": "arXiv:astro-ph/9901001",
                     "note": "Astrophys.J.517:565-586,1999"}),
        ("zotero", {"itemType": "preprint",
                    "extra": "Citation Key: example1998distances\nJournal reference: Astrophys.J.517:565-586,1999"}),
    ],
    ids=["bibtex", "biblatex", "ris", "csljson", "zotero"],
)
def test_an_arxiv_journal_reference_is_a_note_not_a_journal(db_path, fmt, expected):
    url, identifiers, answer = ARXIV_REF
    add_described_item(open_db(db_path), url, answer, **identifiers)
    assert _journal_as_exported(db_path, fmt) == expected


@pytest.mark.parametrize(
    "fmt, expected",
    [
        ("bibtex", "@article{example1999distances,\n"
                   "  author        = {Example, Saul},\n"
                   "  title         = {Distances to Faint Supernovae},\n"
                   "  journal       = {The Astrophysical Journal},\n"
                   "  year          = {1999},\n"  # the journal's, not the preprint's (1998)
                   "  month         = jun,\n"
                   "  volume        = {517},\n"
                   "  number        = {2},\n"
                   "  pages         = {565--586},\n"
                   "  doi           = {10.1000/apj.517.565},\n"
                   "  eprint        = {astro-ph/9901001},\n"
                   "  archivePrefix = {arXiv},\n"
                   "  primaryClass  = {astro-ph},\n"
                   "  url           = {https://arxiv.org/abs/astro-ph/9901001},\n"
                   "  langid        = {english},\n"
                   "  abstract      = {We measure distances.},\n"
                   "}\n"),
        ("csljson", {"type": "article-journal", "container-title": "The Astrophysical Journal",
                     "publisher": "Example Astronomical Society"}),
        ("zotero", {"itemType": "journalArticle", "publicationTitle": "The Astrophysical Journal",
                    "extra": "Citation Key: example1999distances\narXiv: astro-ph/9901001"}),
    ],
    ids=["bibtex", "csljson", "zotero"],
)
@pytest.mark.parametrize("refreshed", [False, True], ids=["merged", "merged-then-refreshed"])
def test_an_arxiv_paper_is_a_journal_article_once_crossref_names_the_journal(db_path, fmt, expected, refreshed):
    from readinglist.metadata import merge_duplicates

    db = open_db(db_path)
    url, identifiers, answer = ARXIV_REF
    item_id = add_described_item(db, url, answer, **identifiers)
    # The DOI the arXiv entry names, fetched from Crossref, is folded into the arXiv item.
    add_described_item(db, "https://doi.org/10.1000/apj.517.565", ("crossref", "crossref_apj.json"), doi="10.1000/apj.517.565")
    assert merge_duplicates(db) == 1
    if refreshed:  # `fetch --refresh` asks arXiv again: the preprint's date must not come back, nor the journal go
        write_answer(db, item_id, *answer)
        write_answer(db, item_id, *answer)
    db.conn.commit()
    assert _journal_as_exported(db_path, fmt) == expected


@pytest.mark.parametrize(
    "fmt, expected",
    [
        ("ris", ["N1  - Astrophys.J.517:565-586,1999", "N1  - Compare with §3"]),
        ("csljson", "Astrophys.J.517:565-586,1999\n\nCompare with §3"),
    ],
    ids=["ris", "csljson"],
)
def test_the_journal_reference_and_the_users_note_are_both_kept(db_path, fmt, expected):
    url, identifiers, answer = ARXIV_REF
    add_described_item(open_db(db_path), url, answer, note="Compare with §3", **identifiers)
    output = run(db_path, "-f", fmt).output
    notes = json.loads(output)[0]["note"] if fmt == "csljson" else [line for line in output.splitlines() if line.startswith("N1")]
    assert notes == expected


def test_a_cut_author_list_says_others_only_in_bibtex(db_path):
    """BibTeX has a keyword for "and more"; elsewhere "others" would be an author's name."""
    from readinglist.export import select_items
    from readinglist.zotero import zotero_item

    db = open_db(db_path)
    db["items"].insert({"id": "a1", "url": "https://example.org/big-collab", "kind": "paper", "status": "unread",
                        "added_at": "2024-06-10T12:00:00+00:00", "title": "A Big Collaboration",
                        "authors": json.dumps(["Ann Lee", "Bo Chen", "others"])})
    db.conn.commit()
    assert "  author = {Lee, Ann and Chen, Bo and others},\n" in run(db_path, "-f", "bibtex").output
    assert [line for line in run(db_path, "-f", "ris").output.splitlines() if line.startswith("AU")] == [
        "AU  - Lee, Ann", "AU  - Chen, Bo"]
    assert [a["family"] for a in json.loads(run(db_path, "-f", "csljson").output)[0]["author"]] == ["Lee", "Chen"]
    assert [c["lastName"] for c in zotero_item(select_items(db)[0])["creators"]] == ["Lee", "Chen"]


LONG_ABSTRACT = (
    "Pruning removes the weights of a language model that matter least for its answers. We study which facts a pruned "
    "language model forgets first, and how fast it forgets them as the pruning rate grows. Rare facts are lost long "
    "before common ones, even at a pruning rate of ten percent. Common facts survive until half of the weights are "
    "gone, and the loss on ordinary text barely moves until then. The usual benchmarks therefore hide the damage, "
    "since they ask mostly about common facts. We propose choosing the weights to prune by their effect on a small set "
    "of rare facts. This keeps most rare facts at the same pruning rate and costs one extra pass over the calibration data."
)
LONG_ABSTRACT_SUMMARY = (
    "Pruning removes the weights of a language model that matter least for its answers. We study which facts a pruned "
    "language model forgets first, and how fast it forgets them as the pruning rate grows. Rare facts are lost long "
    "before common ones, even at a pruning rate of ten percent. This keeps most rare facts at the same pruning rate "
    "and costs one extra pass over the calibration data."
)


@pytest.mark.parametrize("fmt", ["bibtex", "biblatex", "ris", "csljson", "zotero", "netscape", "json"])
def test_citation_formats_export_the_whole_abstract_of_a_paper_whose_summary_is_shorter(db_path, fmt):
    # arXiv's abstract is longer than a summary may be: the summary is its extract, the abstract stays whole.
    from pybtex.database import parse_string

    from readinglist.export import select_items
    from readinglist.zotero import zotero_item

    db = open_db(db_path)
    add_described_item(db, "https://arxiv.org/abs/2401.00001", ("arxiv", "arxiv_long_abstract.atom.xml"),
                       arxiv_id="2401.00001")
    if fmt == "zotero":
        assert zotero_item(select_items(db)[0])["abstractNote"] == LONG_ABSTRACT
        return
    result = run(db_path, "-f", fmt)
    assert result.exit_code == 0
    if fmt in ("bibtex", "biblatex"):
        (entry,) = parse_string(result.output, "bibtex").entries.values()
        assert _unbraced(entry.fields["abstract"]) == LONG_ABSTRACT
    elif fmt == "ris":
        assert f"\nAB  - {LONG_ABSTRACT}\n" in result.output
    elif fmt == "csljson":
        assert json.loads(result.output)[0]["abstract"] == LONG_ABSTRACT
    elif fmt == "netscape":
        assert f"<DD>{LONG_ABSTRACT_SUMMARY}\n" in result.output
    else:
        assert json.loads(result.output)[0]["summary"] == LONG_ABSTRACT_SUMMARY


CITED_TITLE = "In-Context Reinforcement Learning for Variable Action Spaces"


def _add_cited_paper(db, authors: list[str]) -> None:
    """A paper a post cites by title, as ``readinglist resolve`` leaves it when no search finds it."""
    from readinglist.db import item_id_for
    from readinglist.references import reference_url

    url = reference_url(CITED_TITLE)
    db["items"].insert({"id": item_id_for(url), "url": url, "kind": "unresolved",
                        "title": CITED_TITLE, "title_source": "reference", "status": "unread", "fetch_status": "skipped",
                        "added_at": "2024-06-10T12:00:00+00:00",
                        "meta": json.dumps({"reference": {"authors": authors, "via": "author", "attempts": 1}})})
    db.conn.commit()


@pytest.mark.parametrize(
    "authors, fmt, expected",
    [
        (["Sinii", "Kuznetsov"], "bibtex", f"@misc{{sinii2024context,\n  author = {{Sinii and Kuznetsov}},\n"
                                           f"  title  = {{{CITED_TITLE}}},\n  year   = {{2024}},\n}}\n"),
        (["Sinii", "Kuznetsov"], "biblatex", f"@misc{{sinii2024context,\n  author = {{Sinii and Kuznetsov}},\n"
                                             f"  title  = {{{CITED_TITLE}}},\n  date   = {{2024}},\n}}\n"),
        (["Sinii", "Kuznetsov"], "ris", f"TY  - GEN\nTI  - {CITED_TITLE}\nAU  - Sinii\nAU  - Kuznetsov\nPY  - 2024\n"
                                        "ID  - sinii2024context\nER  - \n"),
        (["Sinii", "Kuznetsov"], "csljson", [{"id": "sinii2024context", "type": "article", "title": CITED_TITLE,
                                              "author": [{"family": "Sinii"}, {"family": "Kuznetsov"}],
                                              "issued": {"date-parts": [[2024]]}}]),
        (["Sinii", "Kuznetsov"], "zotero", {"itemType": "preprint", "title": CITED_TITLE,
                                            "creators": [{"creatorType": "author", "firstName": "", "lastName": "Sinii"},
                                                         {"creatorType": "author", "firstName": "", "lastName": "Kuznetsov"}],
                                            "extra": "Citation Key: sinii2024context", "tags": [], "collections": []}),
        (["Sinii", "Kuznetsov"], "json", ("urn:readinglist:title:", "paper", ["Sinii", "Kuznetsov"], False, None)),
        # No surname given: the documented fallback author, which Zotero leaves out.
        ([], "bibtex", f"@misc{{anonymous2024context,\n  author = {{{{Anonymous}}}},\n"
                       f"  title  = {{{CITED_TITLE}}},\n  year   = {{2024}},\n}}\n"),
        ([], "ris", f"TY  - GEN\nTI  - {CITED_TITLE}\nAU  - Anonymous\nPY  - 2024\nID  - anonymous2024context\nER  - \n"),
        ([], "zotero", {"itemType": "preprint", "title": CITED_TITLE, "creators": [],
                        "extra": "Citation Key: anonymous2024context", "tags": [], "collections": []}),
        ([], "json", ("urn:readinglist:title:", "paper", ["Anonymous"], True, None)),
    ],
    ids=[*(f"surnames-{fmt}" for fmt in ("bibtex", "biblatex", "ris", "csljson", "zotero", "json")),
         *(f"none-{fmt}" for fmt in ("bibtex", "ris", "zotero", "json"))],
)
def test_a_paper_cited_by_title_is_a_paper_with_no_url(db_path, authors, fmt, expected):
    """It was a web page whose URL was our URN (urn:readinglist:title:...), accessed on the day it was added, by 'Anonymous'."""
    from readinglist.export import select_items
    from readinglist.zotero import zotero_item

    db = open_db(db_path)
    _add_cited_paper(db, authors)
    if fmt == "zotero":
        assert zotero_item(select_items(db, kind="unresolved")[0]) == expected
        return
    result = run(db_path, "-f", fmt, "--kind", "unresolved")
    assert result.exit_code == 0, result.output
    if fmt == "json":
        [row] = json.loads(result.output)
        # JSON and CSV keep every field as `list --json` has it: the URN stays the item's url there.
        assert (row["url"][:22], row["type"], row["authors"], row["authors_are_fallback"], row["accessed"]) == expected
    elif fmt == "csljson":
        assert json.loads(result.output) == expected
    else:
        assert result.output == expected
