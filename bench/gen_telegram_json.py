"""Write a synthetic Telegram Desktop account export (``result.json``) of a given size.

    python bench/gen_telegram_json.py OUT.json --size 1GB [--seed 7]

The file has the shape of a whole-account export: ``about``,
``personal_information``, ``chats.list`` with several chats (public and private
channels, groups, a personal chat, saved messages) and ``left_chats.list``.
Messages use the modern schema (``text`` as a string or a list of parts, plus
``text_entities``) with links, ``text_link``s to arXiv and GitHub, hashtags,
mentions, forwarded posts, media-only and service messages, in Russian and
English. The file is written message by message, so memory stays flat whatever
the size, and the same seed gives the same bytes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import sys
import zlib
from pathlib import Path

UNITS = {"": 1, "B": 1, "K": 1024, "KB": 1024, "M": 1024**2, "MB": 1024**2, "G": 1024**3, "GB": 1024**3}

CHATS = [
    ("ML Papers Daily", "public_channel"),
    ("Градиентный спуск", "public_channel"),
    ("Data Science Chat", "public_supergroup"),
    ("NLP по-русски", "public_channel"),
    ("Reading group", "private_group"),
    ("Alice Example", "personal_chat"),
    (None, "saved_messages"),
    ("Лаборатория ИИ", "private_channel"),
]
LEFT_CHATS = [("Old Kaggle Team", "private_supergroup"), ("Архив новостей", "public_channel")]

SENDERS = ["Alice Example", "Bob Sample", "Мария Иванова", "Dmitry K.", "ML Papers Daily", "Carol"]
FORWARD_SOURCES = ["Sebastian Raschka", "Сиолошная", "Machine Learning", "AI Newsletter", "gonzo-обзоры ML статей"]

EN = [
    "A new paper shows that scaling laws hold for retrieval-augmented models too.",
    "Great thread on how to evaluate LLMs without leaking the test set.",
    "We release the code and weights, check the repository.",
    "This survey covers diffusion models for video generation.",
    "Interesting take on tokenizer-free language modelling.",
    "The benchmark is saturated; the authors propose a harder split.",
    "Short summary: smaller models trained longer beat bigger ones.",
    "Slides from the talk are available online.",
]
RU = [
    "Новая статья про законы масштабирования для моделей с поиском.",
    "Отличный разбор того, как оценивать LLM без утечки тестовой выборки.",
    "Код и веса выложены, смотрите репозиторий.",
    "Обзор диффузионных моделей для генерации видео.",
    "Интересный подход к языковому моделированию без токенизатора.",
    "Бенчмарк насыщен, авторы предлагают более сложное разбиение.",
    "Коротко: маленькие модели, обученные дольше, обгоняют большие.",
    "Запись доклада и слайды уже доступны.",
]
HASHTAGS = ["#ml", "#nlp", "#LLM", "#cv", "#статьи", "#papers", "#RL", "#диффузия", "#opensource"]
REPOS = ["karpathy/nanoGPT", "huggingface/transformers", "openai/whisper", "facebookresearch/llama",
         "ggerganov/llama.cpp", "pytorch/pytorch", "google-research/tuning_playbook", "vllm-project/vllm"]
LINK_WORDS = ["статья", "paper", "код", "code", "репозиторий", "arXiv", "подробнее", "blog post"]
SITES = ["https://habr.com/ru/articles/{n}/", "https://huggingface.co/papers/{a}",
         "https://www.youtube.com/watch?v=dQw{n}", "https://openai.com/research/{n}"]


def parse_size(text: str) -> int:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMG]?B?)\s*", text.upper())
    if not match:
        raise argparse.ArgumentTypeError(f"bad size {text!r}; use e.g. 200MB, 1GB, 500K")
    return int(float(match.group(1)) * UNITS[match.group(2)])


def arxiv_id(rng: random.Random) -> str:
    return f"{rng.randint(18, 25)}{rng.randint(1, 12):02d}.{rng.randint(1, 29999):05d}"


def make_entities(rng: random.Random) -> list[dict]:
    """The ``text_entities`` of one message: plain runs with links, text links, hashtags."""
    ru = rng.random() < 0.5
    sentences = RU if ru else EN
    entities: list[dict] = []
    if rng.random() < 0.3:
        entities.append({"type": "bold", "text": rng.choice(sentences).split(",")[0].rstrip(".")})
        entities.append({"type": "plain", "text": "\n\n"})
    entities.append({"type": "plain", "text": " ".join(rng.choice(sentences) for _ in range(rng.randint(1, 4))) + " "})
    for _ in range(rng.randint(0, 3)):
        kind = rng.random()
        if kind < 0.35:
            entities.append({"type": "text_link", "text": rng.choice(LINK_WORDS),
                             "href": f"https://arxiv.org/abs/{arxiv_id(rng)}"})
        elif kind < 0.6:
            entities.append({"type": "link", "text": f"https://github.com/{rng.choice(REPOS)}"})
        elif kind < 0.75:
            entities.append({"type": "text_link", "text": rng.choice(LINK_WORDS),
                             "href": rng.choice(SITES).format(n=rng.randint(100000, 999999), a=arxiv_id(rng))})
        elif kind < 0.9:
            entities.append({"type": "link", "text": f"arxiv.org/pdf/{arxiv_id(rng)}"})
        else:
            entities.append({"type": "mention", "text": "@" + rng.choice(["seeallochnaya", "gonzo_ML", "ai_newz"])})
        entities.append({"type": "plain", "text": rng.choice([" ", "\n", " — ", ", "])})
    if rng.random() < 0.5:
        entities.append({"type": "plain", "text": "\n\n"})
        tags = rng.sample(HASHTAGS, rng.randint(1, 3))
        for i, tag in enumerate(tags):
            if i:
                entities.append({"type": "plain", "text": " "})
            entities.append({"type": "hashtag", "text": tag})
    return entities


def text_field(entities: list[dict]):
    """``text`` as Telegram writes it: a plain string when there is no markup, else a list."""
    if all(entity["type"] == "plain" for entity in entities):
        return "".join(entity["text"] for entity in entities)
    parts: list = []
    for entity in entities:
        if entity["type"] == "plain":
            parts.append(entity["text"])
        else:
            parts.append(dict(entity))
    return parts


def make_message(rng: random.Random, msg_id: int, unixtime: int, chat_name: str | None, chat_type: str) -> dict:
    date = _iso(unixtime)
    roll = rng.random()
    if roll < 0.05:
        return {"id": msg_id, "type": "service", "date": date, "date_unixtime": str(unixtime),
                "actor": rng.choice(SENDERS), "actor_id": f"user{rng.randint(10**6, 10**9)}",
                "action": rng.choice(["pin_message", "invite_members", "join_group_by_link"]),
                "message_id": max(1, msg_id - rng.randint(1, 50)), "text": "", "text_entities": []}
    channel = chat_type.endswith("channel")
    sender = chat_name if channel and chat_name else rng.choice(SENDERS)
    message: dict = {"id": msg_id, "type": "message", "date": date, "date_unixtime": str(unixtime)}
    if rng.random() < 0.08:
        message["edited"] = _iso(unixtime + 120)
        message["edited_unixtime"] = str(unixtime + 120)
    message["from"] = sender
    message["from_id"] = f"channel{zlib.crc32(sender.encode()) % 10**10}" if channel else f"user{rng.randint(10**6, 10**9)}"
    if rng.random() < 0.15:
        message["forwarded_from"] = rng.choice(FORWARD_SOURCES)
    if rng.random() < 0.1:
        message["photo"] = "(File not included. Change data exporting settings to download.)"
        message["width"] = 1280
        message["height"] = 720
    if rng.random() < 0.05:
        message["text"] = ""
        message["text_entities"] = []
        return message
    entities = make_entities(rng)
    message["text"] = text_field(entities)
    message["text_entities"] = entities
    if rng.random() < 0.1:
        message["reactions"] = [{"type": "emoji", "count": rng.randint(1, 50), "emoji": rng.choice(["🔥", "👍", "❤"])}]
    return message


def _iso(unixtime: int) -> str:
    return dt.datetime.fromtimestamp(unixtime, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def _indent(text: str, level: int) -> str:
    return text.replace("\n", "\n" + " " * level)


def generate(out, size: int, seed: int = 7) -> int:
    """Write an export of about ``size`` bytes to the binary file ``out``; return the bytes written."""
    rng = random.Random(seed)
    written = 0

    def write(text: str) -> None:
        nonlocal written
        data = text.encode("utf-8")
        out.write(data)
        written += len(data)

    header = {
        "about": "Here is the data you requested. Remember: Telegram is ad free, it doesn't collect your data.",
        "personal_information": {"user_id": 777000, "first_name": "Bench", "last_name": "User",
                                 "phone_number": "+1 555 0100", "username": "@bench", "bio": "Читаю статьи"},
    }
    write("{\n" + _indent(json.dumps(header, ensure_ascii=False, indent=1)[2:-2], 0) + ",\n")
    groups = [("chats", CHATS, 0.9), ("left_chats", LEFT_CHATS, 0.1)]
    unixtime = 1_600_000_000
    msg_id = 1
    for group_index, (key, chats, share) in enumerate(groups):
        write(f' "{key}": {{\n  "about": "This page lists all chats from this export.",\n  "list": [')
        per_chat = size * share / len(chats)
        for chat_index, (name, chat_type) in enumerate(chats):
            chat_id = 1_000_000_000 + group_index * 100 + chat_index
            head = {"name": name, "type": chat_type, "id": chat_id} if name else {"type": chat_type, "id": chat_id}
            head_text = json.dumps(head, ensure_ascii=False, indent=1)[:-2]
            write(("," if chat_index else "") + "\n   " + _indent(head_text, 3) + ',\n    "messages": [')
            limit = written + per_chat
            first = True
            while written < limit:
                message = make_message(rng, msg_id, unixtime, name, chat_type)
                msg_id += 1
                unixtime += rng.randint(30, 3600)
                text = json.dumps(message, ensure_ascii=False, indent=1)
                write(("" if first else ",") + "\n     " + _indent(text, 5))
                first = False
            write("\n    ]\n   }")
        write("\n  ]\n }" + ("," if group_index + 1 < len(groups) else "") + "\n")
    write("}\n")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="where to write the JSON export")
    parser.add_argument("--size", type=parse_size, default=parse_size("1GB"), help="target size, e.g. 200MB, 1GB")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "wb", buffering=1024 * 1024) as out:
        written = generate(out, args.size, args.seed)
    print(f"wrote {written / 2**20:.1f} MB to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
