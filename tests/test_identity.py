import os
import subprocess
import sys
import textwrap
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harvester import identity as identity_module
from harvester.identity import KINDS, Identity, canonical_url, identify, registered_domain

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --------------------------------------------------------------------------- generic rules

GENERIC = [
    # scheme, host case, www, default ports, fragment, trailing slash, empty query
    ("HTTP://Example.COM/Path", "https://example.com/Path"),
    ("http://www.example.com/a/", "https://example.com/a"),
    ("https://www.example.com:443/a#frag", "https://example.com/a"),
    ("http://example.com:80/", "https://example.com/"),
    ("https://example.com", "https://example.com/"),
    ("https://example.com/?", "https://example.com/"),
    ("https://example.com/?&&", "https://example.com/"),
    ("https://example.com#top", "https://example.com/"),
    ("https://example.com:8080/x", "https://example.com:8080/x"),
    ("https://example.com./x", "https://example.com/x"),
    ("https://user:secret@example.com/x", "https://example.com/x"),
    ("  https://example.com/x \n", "https://example.com/x"),
    ("https://exam\nple.com/x", "https://example.com/x"),
    ("https://example.com/a//", "https://example.com/a"),
    ("https://example.com/a/./b/../c", "https://example.com/a/c"),
    ("https:\\\\example.com\\a", "https://example.com/a"),
    # percent-encoding: uppercase hex, unreserved decoded, others encoded
    ("https://example.com/%7euser/%61b%2fc", "https://example.com/~user/ab%2Fc"),
    ("https://example.com/a b", "https://example.com/a%20b"),
    ("https://example.com/100%", "https://example.com/100%25"),
    ("https://example.com/путь", "https://example.com/%D0%BF%D1%83%D1%82%D1%8C"),
    ("https://example.com/%D0%BF%D1%83%D1%82%D1%8C", "https://example.com/%D0%BF%D1%83%D1%82%D1%8C"),
    ("https://example.com/%d0%bf", "https://example.com/%D0%BF"),
    # IDN hosts: punycode
    ("https://Пример.РФ/", "https://xn--e1afmkfd.xn--p1ai/"),
    ("https://xn--e1afmkfd.xn--p1ai/", "https://xn--e1afmkfd.xn--p1ai/"),
    # UTS #46 non-transitional, as browsers go: ß, final sigma and joiners are kept (IDNA 2003 made straße.de strasse.de)
    ("https://straße.de/y", "https://xn--strae-oqa.de/y"),
    ("https://STRASSE.de/y", "https://strasse.de/y"),
    ("https://ελληνικάς.gr/", "https://xn--hxargifdar2c.gr/"),
    ("https://ＥＸＡＭＰＬＥ。com/", "https://example.com/"),
    ("https://i❤.ws/", "https://xn--i-7iq.ws/"),
    ("https://ex_ample.пример.рф/", "https://ex_ample.xn--e1afmkfd.xn--p1ai/"),
    # tracking parameters dropped, the rest sorted
    ("https://example.com/a?utm_source=tg&utm_medium=x&b=2&a=1", "https://example.com/a?a=1&b=2"),
    ("https://example.com/a?UTM_Campaign=x&fbclid=1&gclid=2&yclid=3", "https://example.com/a"),
    ("https://example.com/a?mc_cid=1&mc_eid=2&igshid=3&si=4&ref=5&ref_src=6&ref_url=7", "https://example.com/a"),
    ("https://example.com/a?spm=1&share=2&_hsenc=3&_hsmi=4&id=9", "https://example.com/a?id=9"),
    ("https://example.com/a?source=x", "https://example.com/a?source=x"),
    ("https://example.com/a?s=20&t=5", "https://example.com/a?s=20&t=5"),
    ("https://example.com/search?q=a+b&page=2", "https://example.com/search?page=2&q=a+b"),
    ("https://example.com/a?single", "https://example.com/a?single"),
    ("https://medium.com/@x/post-123?source=rss----1", "https://medium.com/@x/post-123"),
    # An X post is its number, whoever's name the link gives (or none: i/web).
    ("https://twitter.com/karpathy/status/1234567890?s=20&t=abc", "https://x.com/i/status/1234567890"),
    ("https://mobile.twitter.com/Karpathy/status/1234567890/photo/1", "https://x.com/i/status/1234567890"),
    ("https://x.com/i/web/status/1234567890", "https://x.com/i/status/1234567890"),
    ("https://x.com/i/status/1234567890", "https://x.com/i/status/1234567890"),
    ("https://twitter.com/i/web/status/1234567890", "https://x.com/i/status/1234567890"),
    ("https://x.com/Someone_Else/statuses/1234567890", "https://x.com/i/status/1234567890"),
    ("https://x.com/karpathy", "https://x.com/karpathy"),
    ("https://x.com/i/web/status", "https://x.com/i/web/status"),
    ("https://x.com/i/web/status/١٢", "https://x.com/i/web/status/%D9%A1%D9%A2"),
    ("https://www.reddit.com/r/MachineLearning/comments/abc123/some_title/", "https://reddit.com/r/machinelearning/comments/abc123"),
    ("https://old.reddit.com/r/machinelearning/comments/abc123", "https://reddit.com/r/machinelearning/comments/abc123"),
    # mobile sites
    ("https://en.m.wikipedia.org/wiki/Transformer", "https://en.wikipedia.org/wiki/Transformer"),
    ("https://m.vk.com/wall-1_2", "https://vk.com/wall-1_2"),
    ("https://m.example.com/x", "https://m.example.com/x"),
    # IPs
    ("http://127.0.0.1:8000/x", "https://127.0.0.1:8000/x"),
    ("http://[::1]:8000/x", "https://[::1]:8000/x"),
    # redirect wrappers
    ("https://www.google.com/url?q=https%3A%2F%2Farxiv.org%2Fabs%2F2401.12345v2&sa=D", "https://arxiv.org/abs/2401.12345"),
    ("https://vk.com/away.php?to=https%3A%2F%2Fgithub.com%2Fa%2Fb&cc_key=", "https://github.com/a/b"),
]


@pytest.mark.parametrize("url, expected", GENERIC)
def test_generic_canonicalization(url, expected):
    assert canonical_url(url) == expected


@pytest.mark.parametrize(
    "url, kind",
    [
        ("https://example.com/blog/post", "article"),
        ("https://example.com/files/Paper.PDF", "paper"),
        ("https://example.com/paper.pdf?download=1", "paper"),
        ("https://twitter.com/karpathy/status/1", "article"),
    ],
)
def test_generic_kind(url, kind):
    assert identify(url).kind == kind


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "ftp://example.com/x",
        "mailto:someone@example.com",
        "tg://resolve?domain=durov",
        "javascript:alert(1)",
        "example.com/x",
        "https://",
        "https:///path",
        "https://:80/",
        "https://localhost/",
        "https://exa mple.com/",
        "https://example.com:99999/",
        "https://example.com:abc/",
        "https://[::1/",
        "https://1.2.3/",
        "https://1.2.3.999/",
        "https://a..b/",
        "https://%65xample.com/",
        "http:example.com",
        "https://" + "a" * 64 + ".com/",
        # status badges, pasted with a README's Markdown
        "https://img.shields.io/github/stars/openai/whisper?style=social",
        "https://badgen.net/pypi/v/httpx",
        "https://badge.fury.io/py/trafilatura.svg",
    ],
)
def test_not_an_item(url):
    assert identify(url) is None
    assert canonical_url(url) is None


def test_non_str_is_none():
    assert identify(None) is None  # type: ignore[arg-type]
    assert identify(b"https://example.com") is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "host, domain",
    [
        ("github.com", "github.com"),
        ("www.habr.com", "habr.com"),
        ("en.m.wikipedia.org", "wikipedia.org"),
        ("news.bbc.co.uk", "bbc.co.uk"),
        ("BBC.CO.UK", "bbc.co.uk"),
        ("owner.github.io", "github.io"),
        ("127.0.0.1", "127.0.0.1"),
        ("localhost", "localhost"),
        ("xn--e1afmkfd.xn--p1ai", "xn--e1afmkfd.xn--p1ai"),
    ],
)
def test_registered_domain(host, domain):
    assert registered_domain(host) == domain


def test_domain_field():
    assert identify("https://news.bbc.co.uk/a").domain == "bbc.co.uk"
    assert identify("https://owner.github.io/repo/").domain == "github.io"
    assert identify("https://dl.acm.org/doi/10.1145/3290605.3300857").domain == "doi.org"


# --------------------------------------------------------------------------- papers

ARXIV = [
    ("https://arxiv.org/abs/2401.12345", "2401.12345"),
    ("https://arxiv.org/abs/2401.12345v2", "2401.12345"),
    ("http://arxiv.org/abs/2401.12345v2/", "2401.12345"),
    ("https://arxiv.org/pdf/2401.12345", "2401.12345"),
    ("https://arxiv.org/pdf/2401.12345v1.pdf", "2401.12345"),
    ("https://arxiv.org/pdf/2401.12345.pdf", "2401.12345"),
    ("https://arxiv.org/html/2401.12345v1", "2401.12345"),
    ("https://arxiv.org/html/2401.12345v1/#S2", "2401.12345"),
    ("https://export.arxiv.org/abs/2401.12345", "2401.12345"),
    ("https://www.arxiv.org/abs/2401.12345?context=cs", "2401.12345"),
    ("https://ARXIV.ORG/abs/2401.12345", "2401.12345"),
    ("https://arxiv.org/abs/1706.03762", "1706.03762"),
    ("https://arxiv.org/abs/0704.0001v1", "0704.0001"),
    ("https://arxiv.org/abs/hep-th/9901001v2", "hep-th/9901001"),
    ("https://arxiv.org/pdf/hep-th/9901001", "hep-th/9901001"),
    ("https://arxiv.org/abs/math.GT/0309136", "math/0309136"),
    ("https://arxiv.org/abs/math/0309136", "math/0309136"),
    ("https://arxiv.org/ftp/arxiv/papers/2401/2401.01234.pdf", "2401.01234"),
    ("https://export.arxiv.org/ftp/arxiv/papers/1706/1706.03762v5.pdf", "1706.03762"),
    ("https://arxiv.org/ftp/hep-th/papers/9901/9901001.pdf", "hep-th/9901001"),
    ("https://ar5iv.labs.arxiv.org/html/1910.06709", "1910.06709"),
    ("https://ar5iv.org/abs/1910.06709", "1910.06709"),
    ("https://alphaxiv.org/abs/2401.12345", "2401.12345"),
    ("https://www.alphaxiv.org/abs/2401.12345v3", "2401.12345"),
    ("https://huggingface.co/papers/2401.12345", "2401.12345"),
    ("https://hf.co/papers/2401.12345#community", "2401.12345"),
    ("https://doi.org/10.48550/arXiv.2401.12345", "2401.12345"),
    ("https://dx.doi.org/10.48550/ARXIV.2401.12345", "2401.12345"),
    ("https://www.semanticscholar.org/arxiv/2401.12345", "2401.12345"),
]


@pytest.mark.parametrize("url, arxiv_id", ARXIV)
def test_arxiv(url, arxiv_id):
    assert identify(url) == Identity(
        url="https://arxiv.org/abs/" + arxiv_id, kind="paper", domain="arxiv.org", arxiv_id=arxiv_id
    )


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://arxiv.org/list/cs.LG/recent", "https://arxiv.org/list/cs.LG/recent"),
        ("https://arxiv.org/abs/2413.12345", "https://arxiv.org/abs/2413.12345"),  # no month 13
        # An FTP path whose folder is not the id's month, or an old-style id under /ftp/arxiv/.
        ("https://arxiv.org/ftp/arxiv/papers/2401/2402.01234.pdf", "https://arxiv.org/ftp/arxiv/papers/2401/2402.01234.pdf"),
        ("https://arxiv.org/ftp/arxiv/papers/0701/0701001.pdf", "https://arxiv.org/ftp/arxiv/papers/0701/0701001.pdf"),
        ("https://huggingface.co/papers/date/2024-01-01", "https://huggingface.co/papers/date/2024-01-01"),
    ],
)
def test_not_arxiv_papers(url, expected):
    found = identify(url)
    assert found.url == expected and found.arxiv_id is None


DOIS = [
    ("https://doi.org/10.1145/3290605.3300857", "10.1145/3290605.3300857"),
    ("http://dx.doi.org/10.1145/3290605.3300857", "10.1145/3290605.3300857"),
    ("https://www.doi.org/10.1145/3290605.3300857", "10.1145/3290605.3300857"),
    ("https://doi.org/10.1002/ANIE.201915678", "10.1002/anie.201915678"),
    ("https://doi.org/10.1002%2Fanie.201915678", "10.1002/anie.201915678"),
    ("https://dl.acm.org/doi/10.1145/3290605.3300857", "10.1145/3290605.3300857"),
    ("https://dl.acm.org/doi/abs/10.1145/3290605.3300857", "10.1145/3290605.3300857"),
    ("https://dl.acm.org/doi/pdf/10.1145/3290605.3300857", "10.1145/3290605.3300857"),
    ("https://dl.acm.org/doi/full/10.1145/3290605.3300857", "10.1145/3290605.3300857"),
    ("https://onlinelibrary.wiley.com/doi/10.1002/anie.201915678", "10.1002/anie.201915678"),
    ("https://srcd.onlinelibrary.wiley.com/doi/10.1111/cdev.14129", "10.1111/cdev.14129"),
    ("https://onlinelibrary.wiley.com/doi/epdf/10.1111/cdev.14129", "10.1111/cdev.14129"),
    ("https://pubs.acs.org/doi/10.1021/acs.jcim.3c00001", "10.1021/acs.jcim.3c00001"),
    ("https://www.tandfonline.com/doi/full/10.1080/01621459.2017.1285773?scroll=top", "10.1080/01621459.2017.1285773"),
    ("https://journals.sagepub.com/doi/10.1177/0956797620939054", "10.1177/0956797620939054"),
    ("https://www.science.org/doi/10.1126/science.abq1158", "10.1126/science.abq1158"),
    ("https://link.springer.com/article/10.1007/s00422-012-0514-6", "10.1007/s00422-012-0514-6"),
    ("https://link.springer.com/chapter/10.1007/978-3-030-58452-8_13", "10.1007/978-3-030-58452-8_13"),
    ("https://link.springer.com/content/pdf/10.1007/s00422-012-0514-6.pdf", "10.1007/s00422-012-0514-6"),
    ("http://link.springer.com/10.1007/BF01371042", "10.1007/bf01371042"),
    ("https://elifesciences.org/lookup/doi/10.7554/eLife.01567", "10.7554/elife.01567"),
    ("https://www.nature.com/articles/s41586-021-03819-2", "10.1038/s41586-021-03819-2"),
    ("https://www.nature.com/articles/s41586-021-03819-2.pdf", "10.1038/s41586-021-03819-2"),
    ("https://nature.com/articles/nature14539", "10.1038/nature14539"),
    ("https://doi.org/10.1002/(SICI)1097-4571(199806)49:8<693::AID-ASI4>3.0.CO;2-O",
     "10.1002/(sici)1097-4571(199806)49:8<693::aid-asi4>3.0.co;2-o"),
]


@pytest.mark.parametrize("url, doi", DOIS)
def test_doi(url, doi):
    found = identify(url)
    assert found.kind == "paper" and found.doi == doi and found.domain == "doi.org"
    assert found.url.startswith("https://doi.org/10.")
    assert identify(found.url) == found


def test_doi_url_encodes_what_it_must():
    found = identify("https://doi.org/10.1002/(SICI)1097-4571(199806)49:8<693::AID-ASI4>3.0.CO;2-O")
    assert found.url == "https://doi.org/10.1002/(sici)1097-4571(199806)49:8%3C693::aid-asi4%3E3.0.co;2-o"


@pytest.mark.parametrize(
    "url",
    [
        "https://doi.org/10.5555/..%2F..%2F..%2F..%2Finternal-admin%2Fstatus",
        "https://doi.org/10.5555%2F..%2Fadmin",
        "https://doi.org/10.5555/x%2F.%2Fy",
        "https://dl.acm.org/doi/10.1145/..%2Fadmin",
    ],
)
def test_a_doi_with_a_dot_segment_is_no_doi(url):
    # No registered DOI has a "." or ".." segment; such a "DOI" would walk the API's path.
    found = identify(url)
    assert found is None or (found.doi is None and found.kind != "paper")


OTHER_PAPERS = [
    ("https://openreview.net/forum?id=AbCdEf123&noteId=xyz", "https://openreview.net/forum?id=AbCdEf123"),
    ("https://openreview.net/pdf?id=AbCdEf123", "https://openreview.net/forum?id=AbCdEf123"),
    ("https://openreview.net/attachment?id=AbCdEf123&name=supplementary_material", "https://openreview.net/forum?id=AbCdEf123"),
    ("https://proceedings.neurips.cc/paper/2020/hash/1457c0d6bfcb4967418bfb8ac142f64a-Abstract.html",
     "https://proceedings.neurips.cc/paper_files/paper/2020/hash/1457c0d6bfcb4967418bfb8ac142f64a-Abstract.html"),
    ("https://proceedings.neurips.cc/paper_files/paper/2020/file/1457c0d6bfcb4967418bfb8ac142f64a-Paper.pdf",
     "https://proceedings.neurips.cc/paper_files/paper/2020/hash/1457c0d6bfcb4967418bfb8ac142f64a-Abstract.html"),
    ("https://papers.nips.cc/paper/2020/file/1457c0d6bfcb4967418bfb8ac142f64a-Paper.pdf",
     "https://proceedings.neurips.cc/paper_files/paper/2020/hash/1457c0d6bfcb4967418bfb8ac142f64a-Abstract.html"),
    ("https://proceedings.neurips.cc/paper_files/paper/2023/file/0123456789abcdef0123456789abcdef-Paper-Conference.pdf",
     "https://proceedings.neurips.cc/paper_files/paper/2023/hash/0123456789abcdef0123456789abcdef-Abstract-Conference.html"),
    ("https://aclanthology.org/2023.acl-long.1.pdf", "https://aclanthology.org/2023.acl-long.1/"),
    ("https://aclanthology.org/2023.acl-long.1", "https://aclanthology.org/2023.acl-long.1/"),
    ("https://aclanthology.org/2023.acl-long.1/", "https://aclanthology.org/2023.acl-long.1/"),
    ("https://aclanthology.org/P19-1001.pdf", "https://aclanthology.org/P19-1001/"),
    ("https://www.aclweb.org/anthology/P19-1001.pdf", "https://aclanthology.org/P19-1001/"),
    ("https://www.semanticscholar.org/paper/Attention-is-All-you-Need-Vaswani/204e3073870fae3d05bcbc2f6a8e263d9b72e776",
     "https://semanticscholar.org/paper/204e3073870fae3d05bcbc2f6a8e263d9b72e776"),
    ("https://www.biorxiv.org/content/10.1101/2023.01.01.123456v1", "https://biorxiv.org/content/10.1101/2023.01.01.123456v1"),
    ("https://www.medrxiv.org/content/10.1101/2020.03.01.20029744v2.full", "https://medrxiv.org/content/10.1101/2020.03.01.20029744v2.full"),
    ("https://paperswithcode.com/paper/attention-is-all-you-need", "https://paperswithcode.com/paper/attention-is-all-you-need"),
    ("https://proceedings.mlr.press/v202/kirchenbauer23a.html", "https://proceedings.mlr.press/v202/kirchenbauer23a.html"),
    ("https://openaccess.thecvf.com/content/CVPR2023/html/X_Paper_CVPR_2023_paper.html",
     "https://openaccess.thecvf.com/content/CVPR2023/html/X_Paper_CVPR_2023_paper.html"),
    ("https://ieeexplore.ieee.org/abstract/document/9123456/", "https://ieeexplore.ieee.org/document/9123456"),
    ("https://www.jmlr.org/papers/v21/20-074.html", "https://jmlr.org/papers/v21/20-074.html"),
    ("https://example.com/papers/mine.pdf", "https://example.com/papers/mine.pdf"),
]


@pytest.mark.parametrize("url, expected", OTHER_PAPERS)
def test_other_papers(url, expected):
    found = identify(url)
    assert (found.url, found.kind) == (expected, "paper")


@pytest.mark.parametrize(
    "url",
    ["https://openreview.net/group?id=ICLR.cc/2024/Conference", "https://proceedings.neurips.cc/", "https://aclanthology.org/events/acl-2023/"],
)
def test_paper_site_listings_are_articles(url):
    assert identify(url).kind == "article"


# --------------------------------------------------------------------------- YouTube, Vimeo

YOUTUBE = [
    "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    "https://youtube.com/watch?v=dQw4w9WgXcQ&t=42s&list=PL123&si=abc&feature=share",
    "http://m.youtube.com/watch?feature=youtu.be&v=dQw4w9WgXcQ",
    "https://youtu.be/dQw4w9WgXcQ",
    "https://youtu.be/dQw4w9WgXcQ?si=abc123&t=10",
    "https://www.youtube.com/shorts/dQw4w9WgXcQ",
    "https://www.youtube.com/embed/dQw4w9WgXcQ?rel=0",
    "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ",
    "https://www.youtube.com/live/dQw4w9WgXcQ?feature=share",
    "https://music.youtube.com/watch?v=dQw4w9WgXcQ&list=RD",
    "https://www.youtube.com/v/dQw4w9WgXcQ",
    "https://YOUTUBE.com/watch/?v=dQw4w9WgXcQ#t=1m",
]


@pytest.mark.parametrize("url", YOUTUBE)
def test_youtube_video(url):
    assert identify(url) == Identity(url="https://youtube.com/watch?v=dQw4w9WgXcQ", kind="video", domain="youtube.com")


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://www.youtube.com/@AndrejKarpathy", "https://youtube.com/@AndrejKarpathy"),
        ("https://www.youtube.com/@AndrejKarpathy/videos", "https://youtube.com/@AndrejKarpathy/videos"),
        ("https://www.youtube.com/c/YannicKilcher", "https://youtube.com/c/YannicKilcher"),
        ("https://m.youtube.com/channel/UCXUPKJO5MZQN11PqgIvyuvQ", "https://youtube.com/channel/UCXUPKJO5MZQN11PqgIvyuvQ"),
        ("https://www.youtube.com/playlist?list=PLAqhIrjkxbuWI23v9cThsA9GvCAUhRvKZ&si=x", "https://youtube.com/playlist?list=PLAqhIrjkxbuWI23v9cThsA9GvCAUhRvKZ"),
        ("https://www.youtube.com/watch?v=short", "https://youtube.com/watch?v=short"),
        ("https://www.youtube.com/embed/videoseries?list=PL4qTakKkQATKOyZPJG", "https://youtube.com/playlist?list=PL4qTakKkQATKOyZPJG"),
    ],
)
def test_youtube_pages_are_articles(url, expected):
    assert (identify(url).url, identify(url).kind) == (expected, "article")


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://vimeo.com/123456789", "https://vimeo.com/123456789"),
        ("http://www.vimeo.com/123456789?share=copy", "https://vimeo.com/123456789"),
        ("https://vimeo.com/123456789/abcdef1234", "https://vimeo.com/123456789/abcdef1234"),
        ("https://player.vimeo.com/video/123456789?h=abcdef1234&badge=0", "https://vimeo.com/123456789/abcdef1234"),
        ("https://vimeo.com/channels/staffpicks/123456789", "https://vimeo.com/123456789"),
        ("https://rutube.ru/video/0123456789abcdef0123456789abcdef/", "https://rutube.ru/video/0123456789abcdef0123456789abcdef"),
    ],
)
def test_other_videos(url, expected):
    assert (identify(url).url, identify(url).kind) == (expected, "video")


# --------------------------------------------------------------------------- Habr

HABR = [
    "https://habr.com/ru/company/ods/blog/709222/",
    "https://habr.com/ru/companies/ods/articles/709222/",
    "https://habr.com/ru/companies/ods/news/709222/",
    "https://habr.com/ru/post/709222/",
    "https://habr.com/en/articles/709222/",
    "https://habr.com/ru/articles/709222",
    "https://habr.com/ru/articles/709222/comments/",
    "http://www.habr.com/ru/articles/709222/?utm_source=tg#habracut",
    "https://m.habr.com/ru/post/709222/",
    "https://habrahabr.ru/post/709222/",
    "https://habr.com/p/709222/",
    "https://habr.com/ru/news/709222/",
    "https://habr.com/ru/news/t/709222/",
    "https://habr.com/company/ods/blog/709222/",
    "https://habr.com/ru/amp/publications/709222/",
    "https://m.habr.com/ru/amp/publications/709222/?utm_source=tg",
    "https://habr.com/ru/amp/post/709222/",
    "https://habr.com/ru/publications/709222/",
]


@pytest.mark.parametrize("url", HABR)
def test_habr(url):
    assert identify(url) == Identity(url="https://habr.com/ru/articles/709222/", kind="article", domain="habr.com")


def test_habr_other_pages():
    assert canonical_url("https://habr.com/ru/hubs/machine_learning/") == "https://habr.com/ru/hubs/machine_learning"


# --------------------------------------------------------------------------- GitHub and other forges

GITHUB = [
    "https://github.com/Owner/Repo",
    "http://www.github.com/owner/repo/",
    "https://github.com/owner/repo.git",
    "https://github.com/owner/repo#readme",
    "https://github.com/owner/repo?tab=readme-ov-file",
    "https://github.com/owner/repo/blob/main/x.py",
    "https://github.com/owner/repo/blob/main/docs/paper.pdf",
    "https://github.com/owner/repo/tree/dev/src",
    "https://github.com/owner/repo/releases",
    "https://github.com/owner/repo/releases/tag/v1",
    "https://github.com/owner/repo/issues/12",
    "https://github.com/owner/repo/pull/3",
    "https://github.com/owner/repo/wiki",
    "https://github.com/owner/repo/commit/0123abc",
    "https://github.com/owner/repo/discussions",
    "https://github.com/owner/repo/archive/refs/heads/main.zip",
    "https://raw.githubusercontent.com/Owner/Repo/main/README.md",
    "https://codeload.github.com/owner/repo/zip/refs/heads/main",
    "https://api.github.com/repos/owner/repo",
]


@pytest.mark.parametrize("url", GITHUB)
def test_github_repo(url):
    assert identify(url) == Identity(url="https://github.com/owner/repo", kind="repo", domain="github.com", repo="owner/repo")


def test_github_repo_names():
    assert identify("https://github.com/suno-ai/bark").repo == "suno-ai/bark"
    assert identify("https://github.com/huggingface/transformers.js").repo == "huggingface/transformers.js"
    assert identify("https://github.com/owner/.github").repo == "owner/.github"


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://github.com/Karpathy", "https://github.com/karpathy"),
        ("https://github.com/karpathy?tab=repositories", "https://github.com/karpathy"),
        ("https://github.com/features/copilot", "https://github.com/features/copilot"),
        ("https://github.com/topics/llm", "https://github.com/topics/llm"),
        ("https://github.com/marketplace/actions/x", "https://github.com/marketplace/actions/x"),
        ("https://github.com/orgs/huggingface/repositories", "https://github.com/orgs/huggingface/repositories"),
        ("https://github.com/sponsors/someone", "https://github.com/sponsors/someone"),
        ("https://github.com/trending/python?since=daily", "https://github.com/trending/python?since=daily"),
        ("https://github.com/collections/machine-learning", "https://github.com/collections/machine-learning"),
        ("https://github.com/", "https://github.com/"),
        ("https://gist.github.com/karpathy/d4dee566867f8291f086", "https://gist.github.com/karpathy/d4dee566867f8291f086"),
        ("https://karpathy.github.io/2015/05/21/rnn-effectiveness/", "https://karpathy.github.io/2015/05/21/rnn-effectiveness"),
    ],
)
def test_github_non_repos(url, expected):
    found = identify(url)
    assert (found.url, found.kind, found.repo) == (expected, "article", None)


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://gitlab.com/Group/Project", "https://gitlab.com/group/project"),
        ("https://gitlab.com/group/project/-/blob/main/x.py", "https://gitlab.com/group/project"),
        ("https://gitlab.com/group/sub/project/-/tree/main", "https://gitlab.com/group/sub/project"),
        ("https://gitlab.com/group/project.git", "https://gitlab.com/group/project"),
        ("https://gitlab.com/group/project/blob/master/x.py", "https://gitlab.com/group/project"),
        ("https://bitbucket.org/owner/repo/src/master/", "https://bitbucket.org/owner/repo"),
        ("https://codeberg.org/owner/repo/issues/1", "https://codeberg.org/owner/repo"),
    ],
)
def test_other_forges(url, expected):
    found = identify(url)
    assert (found.url, found.kind, found.repo) == (expected, "repo", None)


def test_gitlab_user_is_article():
    assert identify("https://gitlab.com/someone").kind == "article"
    assert identify("https://gitlab.com/explore/projects").kind == "article"


# --------------------------------------------------------------------------- Hugging Face

HF = [
    ("https://huggingface.co/meta-llama/Llama-2-7b-hf", "https://huggingface.co/meta-llama/Llama-2-7b-hf", "model", "meta-llama/Llama-2-7b-hf"),
    ("https://huggingface.co/meta-llama/Llama-2-7b-hf/tree/main", "https://huggingface.co/meta-llama/Llama-2-7b-hf", "model", "meta-llama/Llama-2-7b-hf"),
    ("https://huggingface.co/meta-llama/Llama-2-7b-hf/blob/main/config.json", "https://huggingface.co/meta-llama/Llama-2-7b-hf", "model", "meta-llama/Llama-2-7b-hf"),
    ("https://huggingface.co/meta-llama/Llama-2-7b-hf/resolve/main/model.safetensors?download=true", "https://huggingface.co/meta-llama/Llama-2-7b-hf", "model", "meta-llama/Llama-2-7b-hf"),
    ("https://huggingface.co/meta-llama/Llama-2-7b-hf/discussions/12", "https://huggingface.co/meta-llama/Llama-2-7b-hf", "model", "meta-llama/Llama-2-7b-hf"),
    ("http://www.huggingface.co/meta-llama/Llama-2-7b-hf?library=transformers", "https://huggingface.co/meta-llama/Llama-2-7b-hf", "model", "meta-llama/Llama-2-7b-hf"),
    ("https://hf.co/AiArtLab/waifu-2b", "https://huggingface.co/AiArtLab/waifu-2b", "model", "AiArtLab/waifu-2b"),
    ("https://huggingface.co/datasets/HuggingFaceFW/fineweb-edu", "https://huggingface.co/datasets/HuggingFaceFW/fineweb-edu", "dataset", "datasets/HuggingFaceFW/fineweb-edu"),
    ("https://huggingface.co/datasets/HuggingFaceFW/fineweb-edu/viewer/default/train?row=3", "https://huggingface.co/datasets/HuggingFaceFW/fineweb-edu", "dataset", "datasets/HuggingFaceFW/fineweb-edu"),
    ("https://huggingface.co/datasets/HuggingFaceFW/fineweb-edu/tree/main/data", "https://huggingface.co/datasets/HuggingFaceFW/fineweb-edu", "dataset", "datasets/HuggingFaceFW/fineweb-edu"),
    ("https://huggingface.co/datasets/squad", "https://huggingface.co/datasets/squad", "dataset", "datasets/squad"),
    ("https://huggingface.co/datasets/squad/viewer", "https://huggingface.co/datasets/squad", "dataset", "datasets/squad"),
    ("https://huggingface.co/spaces/owner/demo", "https://huggingface.co/spaces/owner/demo", "repo", "spaces/owner/demo"),
    ("https://huggingface.co/spaces/owner/demo/blob/main/app.py", "https://huggingface.co/spaces/owner/demo", "repo", "spaces/owner/demo"),
]


@pytest.mark.parametrize("url, expected, kind, hf_id", HF)
def test_huggingface_repos(url, expected, kind, hf_id):
    assert identify(url) == Identity(url=expected, kind=kind, domain="huggingface.co", hf_id=hf_id)


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://huggingface.co/blog/welcome-openai-gpt-oss", "https://huggingface.co/blog/welcome-openai-gpt-oss"),
        ("https://huggingface.co/docs/transformers/index", "https://huggingface.co/docs/transformers/index"),
        ("https://huggingface.co/learn/nlp-course/chapter1/1", "https://huggingface.co/learn/nlp-course/chapter1/1"),
        ("https://huggingface.co/posts/someone/123456", "https://huggingface.co/posts/someone/123456"),
        ("https://huggingface.co/collections/owner/some-collection-123", "https://huggingface.co/collections/owner/some-collection-123"),
        ("https://huggingface.co/models?pipeline_tag=text-generation&sort=trending", "https://huggingface.co/models?pipeline_tag=text-generation&sort=trending"),
        ("https://huggingface.co/datasets?sort=trending", "https://huggingface.co/datasets?sort=trending"),
        ("https://huggingface.co/spaces", "https://huggingface.co/spaces"),
        ("https://huggingface.co/openai", "https://huggingface.co/openai"),
        ("https://huggingface.co/gpt2/tree/main", "https://huggingface.co/gpt2"),
        ("https://huggingface.co/", "https://huggingface.co/"),
    ],
)
def test_huggingface_pages(url, expected):
    found = identify(url)
    assert (found.url, found.kind, found.hf_id) == (expected, "article", None)


# --------------------------------------------------------------------------- Telegram

TELEGRAM = [
    ("https://t.me/boris_again/1652", "https://t.me/boris_again/1652", "post"),
    ("https://t.me/Boris_Again/1652", "https://t.me/boris_again/1652", "post"),
    ("https://t.me/s/boris_again/1652", "https://t.me/boris_again/1652", "post"),
    ("https://t.me/boris_again/1652?single", "https://t.me/boris_again/1652", "post"),
    ("https://t.me/boris_again/1652?comment=5", "https://t.me/boris_again/1652", "post"),
    ("https://t.me/boris_again/1652/", "https://t.me/boris_again/1652", "post"),
    ("http://telegram.me/boris_again/1652", "https://t.me/boris_again/1652", "post"),
    ("https://www.telegram.dog/boris_again/1652", "https://t.me/boris_again/1652", "post"),
    ("https://www.t.me/boris_again/1652", "https://t.me/boris_again/1652", "post"),
    ("https://t.me/c/1234567/89", "https://t.me/c/1234567/89", "post"),
    ("https://t.me/c/1234567/89?thread=5", "https://t.me/c/1234567/89", "post"),
    ("https://t.me/forum_chat/12/345", "https://t.me/forum_chat/12/345", "post"),
    ("https://t.me/asisakov_channel", "https://t.me/asisakov_channel", "channel"),
    ("https://t.me/Asisakov_Channel/", "https://t.me/asisakov_channel", "channel"),
    ("https://t.me/s/asisakov_channel", "https://t.me/asisakov_channel", "channel"),
    ("https://t.me/s/asisakov_channel?before=540", "https://t.me/asisakov_channel", "channel"),
    ("https://t.me/+AbCdEfGh123", "https://t.me/+AbCdEfGh123", "channel"),
    ("https://t.me/joinchat/AbCdEfGh123", "https://t.me/+AbCdEfGh123", "channel"),
    ("https://t.me/addlist/AbCdEf", "https://t.me/addlist/AbCdEf", "channel"),
    ("https://t.me/some_bot?start=ref123", "https://t.me/some_bot", "channel"),
    ("https://t.me/c/1234567", "https://t.me/c/1234567", "channel"),
    ("https://durov.t.me/", "https://t.me/durov", "channel"),
]


@pytest.mark.parametrize("url, expected, kind", TELEGRAM)
def test_telegram(url, expected, kind):
    assert identify(url) == Identity(url=expected, kind=kind, domain="t.me")


def test_telegram_share_link_is_the_shared_url():
    shared = "https://t.me/share/url?url=https%3A%2F%2Fyoutu.be%2FdQw4w9WgXcQ&text=look"
    assert identify(shared) == identify("https://youtube.com/watch?v=dQw4w9WgXcQ")
    assert identify("https://t.me/share/url?text=nothing").kind == "channel"


# --------------------------------------------------------------------------- properties

SAMPLES = (
    [u for u, _ in GENERIC]
    + [u for u, _ in ARXIV]
    + [u for u, _ in DOIS]
    + [u for u, _ in OTHER_PAPERS]
    + YOUTUBE
    + HABR
    + GITHUB
    + [u for u, *_ in HF]
    + [u for u, *_ in TELEGRAM]
    + [
        "https://habr.com/ru/hubs/machine_learning/",
        "https://github.com/Karpathy",
        "https://huggingface.co/models?pipeline_tag=text-generation",
        "https://www.youtube.com/@AndrejKarpathy",
        "https://example.com/a%2fb%7E?x=%zz&y=a b",
        "https://www.m.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://m.www.wikipedia.org/",
        "https://www.www.example.com/",
    ]
)


@pytest.mark.parametrize("url", SAMPLES, ids=lambda u: u[:80])
def test_samples_are_idempotent_and_well_formed(url):
    found = identify(url)
    assert found is not None
    assert found.kind in KINDS
    assert found.url.startswith("https://") and found.url.isascii()
    assert not any(c.isspace() for c in found.url)
    assert "#" not in found.url
    assert identify(found.url) == found
    assert canonical_url(url) == found.url


URLISH = st.from_regex(
    r"\A(https?|HTTP|ftp)://([A-Za-z0-9\-\.]{0,12}|www\.[a-z]{1,6}\.(com|ru|co\.uk)|github\.com|huggingface\.co|"
    r"t\.me|arxiv\.org|youtu\.be|m\.youtube\.com|habr\.com|doi\.org|[^/?#]{0,8})(:[0-9]{1,6})?"
    r"(/[A-Za-z0-9%+._~@!$&'()*,;=: \-\u0400-\u04ff]{0,12}){0,5}(\?[A-Za-z0-9=&%+_.\- ]{0,20})?(#.{0,5})?\Z"
)
PATHISH = st.builds(
    lambda host, parts, query: "https://%s/%s%s" % (host, "/".join(parts), query),
    st.sampled_from(
        ["github.com", "huggingface.co", "t.me", "arxiv.org", "habr.com", "youtube.com", "youtu.be", "doi.org",
         "dl.acm.org", "gitlab.com", "vimeo.com", "openreview.net", "proceedings.neurips.cc", "aclanthology.org",
         "example.com", "x.com", "reddit.com"]
    ),
    st.lists(
        st.one_of(
            st.sampled_from(["abs", "pdf", "doi", "10.1145", "datasets", "spaces", "s", "c", "blob", "-", "..",
                             ".", "2401.12345v2", "hep-th", "9901001", "watch", "shorts", "ru", "articles",
                             "123", "joinchat", "+Ab", "papers", "paper", "file", "share", "url"]),
            st.text(max_size=6),
        ),
        max_size=5,
    ),
    st.sampled_from(["", "?v=dQw4w9WgXcQ", "?id=x", "?url=https%3A%2F%2Ft.me%2Fx", "?utm_source=a&b=%zz", "?a b"]),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_never_raises_on_any_text(text):
    found = identify(text)
    assert found is None or found.kind in KINDS
    found = identify("https://" + text)
    if found is not None:
        assert identify(found.url) == found


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(URLISH, PATHISH))
def test_generated_urls_are_idempotent(url):
    found = identify(url)
    if found is None:
        return
    assert found.kind in KINDS
    assert found.url.isascii() and not any(c.isspace() for c in found.url)
    again = identify(found.url)
    assert again == found


# --------------------------------------------------------------------------- offline, speed

def test_tldextract_is_configured_offline():
    assert tuple(identity_module._EXTRACT.suffix_list_urls) == ()
    assert identity_module._TLD_OPTIONS["cache_dir"] is None
    assert identity_module._EXTRACT.fallback_to_snapshot


def test_no_network_or_disk_cache(tmp_path):
    code = textwrap.dedent(
        """
        import socket
        def refuse(*args, **kwargs):
            raise AssertionError("network access attempted")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse
        from harvester.identity import identify, registered_domain
        assert registered_domain("news.bbc.co.uk") == "bbc.co.uk"
        assert identify("https://www.habr.com/ru/post/709222/").domain == "habr.com"
        print("ok")
        """
    )
    env = dict(os.environ, HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path / "cache"), PYTHONPATH=ROOT)
    env.pop("TLDEXTRACT_CACHE", None)
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    assert list(tmp_path.iterdir()) == []


def test_fast_enough():
    urls = [
        template % i
        for i in range(5000)
        for template in (
            "https://arxiv.org/abs/2401.%05dv2",
            "https://github.com/owner%d/repo/blob/main/x.py",
            "https://www.youtube.com/watch?v=dQw4w9WgX%02d&t=1" ,
            "https://habr.com/ru/company/ods/blog/%d/",
            "https://t.me/channel/%d?single",
            "https://example%d.com/some/path?utm_source=x&id=1",
            "https://huggingface.co/org/model-%d/tree/main",
            "https://dl.acm.org/doi/10.1145/%d.3300857",
        )
    ]
    identity_module._identify.cache_clear()
    start = time.perf_counter()
    for url in urls:
        identify(url)
    elapsed = time.perf_counter() - start
    # 40k distinct URLs, uncached; a generous bound so slow CI machines pass.
    assert elapsed < 4.0, elapsed
