"""Harvest links from Telegram posts.

The flow, one module per stage:

    sources/ (a file or channel -> Post)
      -> links.py (Post -> FoundLink, with context)
      -> identity.py (URL -> canonical Identity and kind)

Everything here is pure: it takes bytes, text or HTML and returns data.
Storage lives in the ``readinglist`` package.
"""
