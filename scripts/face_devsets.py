#!/usr/bin/env python3
"""Lay out the East-Asian development photos and write their pairs files (outside any repository).

The face decisions are fitted on four public repositories (issue 21); none states a licence, so their
photos are never committed, never put in ../shared, and only the fitted numbers are. This script turns
a copy of each repository (a bare git directory or a checkout) into one folder per person:

  python scripts/face_devsets.py layout --source kpop=/path/to/Kpop-Idol-Face-Classifier \\
      --source nogizaka46=/path/to/CNN-Nogizaka46 --source jaffe=/path/to/facial-expression-... \\
      --source lab4=/path/to/lab4_Assignments --out /work/devsets/photos
  python scripts/face_devsets.py pairs --out /work/devsets/photos --shared ../shared/faces
      # OUT/<set>.pairs.csv per set (paths relative to OUT/<set>), OUT/pairs.csv for all (column set)

Layout: OUT/<set>/<person>/<first 16 hex of the file's SHA-256>.<jpg|png>, with OUT/<set>/manifest.csv
naming each file's source path. Only JPEG and PNG files are kept (the engine takes no other format);
byte-identical copies are kept once, and a file found under two people is dropped. A pairs file lists
every pair of two different photos once: a is the enrolled photo, b the live one, same = 1 for one person.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import itertools
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class DevSet:
    """Where one development set's photos are in its repository, and whose they are."""

    repository: str
    pattern: str  # a regular expression on the repository path; group "person" names the person
    person: Callable[[str], str | None] = lambda raw: raw
    note: str = ""
    # Photos left out by the first 16 hex digits of their SHA-256, by reason (see EXCLUSIONS_RULE).
    excluded: dict[str, tuple[str, ...]] = field(default_factory=dict)


# How the exclusions below were found (once, by scripts run on the laid-out photos, then looked at):
# - "another person": a photo whose median ArcFace distance to the other photos of its folder is above 0.80
#   (same-person medians are below 0.6 on every set; different people average 0.84): scraped web photos of
#   somebody else. Looked at: men, other women, one photo of one other woman three times.
# - "the same photo under two people": two folders' photos within 0.15 SFace cosine distance of each other.
# - "a copy of another photo of the folder": within 0.03 SFace distance of one kept (the same picture resized or
#   re-encoded: it would be a same-person pair no camera produces).
EXCLUSIONS_RULE = "ArcFace median distance to own folder > 0.80; cross-person SFace < 0.15; same-person copy < 0.03"


_NOGIZAKA = {
    "橋本奈々未": "hashimoto_nanami",
    "生田絵梨花": "ikuta_erika",
    "白石麻衣": "shiraishi_mai",
    "西野七瀬": "nishino_nanase",
    "齋藤飛鳥": "saito_asuka",
}

SETS: dict[str, DevSet] = {
    "kpop": DevSet(
        "tapankarnik/Kpop-Idol-Face-Classifier",
        r"^data/processed_data/train/(?P<person>[^/]+)/[^/]+$",
        lambda raw: re.sub(r"[^a-z0-9]+", "_", raw.lower()).strip("_") or None,
        "Korean (and one Thai, one Japanese) young women, 160x160 tight crops, stage make-up",
    ),
    "nogizaka46": DevSet(
        "ShozenD/CNN-Nogizaka46",
        r"^images/(?P<person>[^/]+)/[^/]+$",
        _NOGIZAKA.get,
        "five Japanese young women, web photos (scraped: 62 photos of other people or copies left out)",
        excluded={
            "another person": (
                "135503855925e779",
                "251d788b70def138",
                "31db4101c0c2bcde",
                "3daa1fc4cc32c8ae",
                "436a4d6f9c121907",
                "4bc7241205c72a64",
                "5d74554f5e551824",
                "5f8649c1090c0e5a",
                "629b67a7ec4dbd23",
                "658ae90e232432f6",
                "6f3d6f3d01103d0a",
                "6f5720ba70c27847",
                "77691ac9c2b7c624",
                "85bf2425696d2019",
                "89a13b4622a23ab8",
                "9c17c9ecb6d998dc",
                "cce3a6378c175eb7",
                "dd1708d34ffa36eb",
                "fbf57aa8ba6830bc",
            ),
            "the same photo under two people": (
                "1f5a77298ef08c81",
                "31b16dbb9bd465a0",
                "8fe9c5404450cb22",
                "cf4dee463392fde7",
            ),
            "a copy of another photo of the folder": (
                "3336c6c010bea40e",
                "406e4a9d871e7aa0",
                "53c5e4bc43c96493",
                "5a0ff57a489dc78d",
                "5eb4245189a5ee90",
                "66fc6f7aa2896b27",
                "68ef2a7d54b10af7",
                "6ead9b9457395ee5",
                "72b8457394c6f75f",
                "838674010011e647",
                "968f9b739684d70b",
                "97b38db181ef9822",
                "99ba510f6a0b3564",
                "9ad9bce389663ffc",
                "9b257c6efef4910d",
                "9ea475d055a3a36c",
                "a5e6ffab7865dff1",
                "a60a0dbbfdcf6829",
                "a74193ba5a2793cb",
                "b2c673efcf65289e",
                "b707d85f4d5902f2",
                "b92026d37b58f503",
                "baad26055751b6ed",
                "bbee3f1ed7d42537",
                "bd602fd1882867ff",
                "be38899b2c5eb012",
                "c4b497e5373d02fc",
                "c719688e525895eb",
                "cadd158c27462396",
                "d1178b49355afb5b",
                "d26192058b3222cb",
                "d75a940570af2652",
                "d9bb92f9a276f47d",
                "e22c568b0d869dd5",
                "ec0f90adcce95ae3",
                "f3116229bc9f68e1",
                "f410777fa443de71",
                "f42d3b2992d58afe",
                "fc4fcd06501e83d0",
            ),
        },
    ),
    "jaffe": DevSet(
        "fitoplankton/facial-expression-classification-prediction",
        r"^jaffe/(?P<person>[A-Z]{2})\.[A-Z]{2}\d\.\d+\.jpg$",
        lambda raw: raw.lower(),
        "JAFFE: ten Japanese women, 256x256 grey lab photos, seven expressions",
    ),
    "lab4": DevSet(
        "DisGuiser9/lab4_Assignments",
        r"^(?:train|test)/(?P<person>[23])/[^/]+$",
        {"2": "faker", "3": "kejie"}.get,
        "two East-Asian men (a Korean gamer, a Chinese Go player), web photos; its third person (Western) left out",
    ),
}


def image_format(data: bytes) -> str | None:
    """Return "jpg" or "png" from the file's first bytes, None for anything else."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    return None


def repository_files(source: Path) -> Iterator[tuple[str, bytes]]:
    """Yield (path, bytes) of every file in a checkout or a git directory (bare or .git)."""
    git_dir = source if (source / "HEAD").is_file() and (source / "objects").is_dir() else None
    if git_dir is None and (source / ".git" / "HEAD").is_file():
        git_dir = source / ".git"
    if git_dir is None:
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            yield path.relative_to(source).as_posix(), path.read_bytes()
        return
    listing = subprocess.run(
        ["git", "--git-dir", str(git_dir), "ls-tree", "-r", "-z", "HEAD"], capture_output=True, check=True
    ).stdout
    for entry in filter(None, listing.split(b"\0")):
        meta, raw_path = entry.split(b"\t", 1)
        blob = subprocess.run(
            ["git", "--git-dir", str(git_dir), "cat-file", "blob", meta.split()[2].decode()], capture_output=True
        )
        if blob.returncode == 0:  # a shallow or partial copy may lack some blobs
            yield raw_path.decode("utf-8", "replace"), blob.stdout


def layout(name: str, source: Path, out: Path) -> dict[str, int]:
    """Copy one set's photos to OUT/<name>/<person>/ and write its manifest; return counts."""
    spec = SETS[name]
    pattern = re.compile(spec.pattern)
    found: dict[str, tuple[str, str, bytes, str]] = {}  # sha256 -> (person, source path, bytes, format)
    conflicting: set[str] = set()
    counts = {"files": 0, "not_jpeg_or_png": 0, "copies": 0, "under_two_people": 0, "excluded": 0}
    excluded = {key for keys in spec.excluded.values() for key in keys}
    for path, data in repository_files(source):
        match = pattern.match(path)
        person = spec.person(match.group("person")) if match else None
        if person is None:
            continue
        counts["files"] += 1
        fmt = image_format(data)
        if fmt is None:
            counts["not_jpeg_or_png"] += 1
            continue
        digest = hashlib.sha256(data).hexdigest()
        if digest[:16] in excluded:
            counts["excluded"] += 1
            continue
        if digest in found:
            if found[digest][0] != person:
                conflicting.add(digest)
            counts["copies"] += 1
            continue
        found[digest] = (person, path, data, fmt)
    target = out / name
    target.mkdir(parents=True, exist_ok=True)
    rows = []
    for digest, (person, path, data, fmt) in sorted(found.items(), key=lambda item: (item[1][0], item[0])):
        if digest in conflicting:
            counts["under_two_people"] += 1
            continue
        relative = f"{person}/{digest[:16]}.{fmt}"
        (target / person).mkdir(exist_ok=True)
        (target / relative).write_bytes(data)
        rows.append({"file": relative, "person": person, "source": f"{spec.repository}:{path}", "sha256": digest})
    with open(target / "manifest.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["file", "person", "source", "sha256"])
        writer.writeheader()
        writer.writerows(rows)
    counts["kept"] = len(rows)
    counts["people"] = len({r["person"] for r in rows})
    return counts


def photos_by_person(root: Path) -> dict[str, list[str]]:
    """Return {person: [relative photo paths]} for a folder laid out as <person>/<photo>."""
    people: dict[str, list[str]] = {}
    for path in sorted(root.glob("*/*")):
        if path.is_file() and path.suffix.lower() in (".jpg", ".jpeg", ".png"):
            people.setdefault(path.parent.name, []).append(path.relative_to(root).as_posix())
    return people


def write_pairs(people: dict[str, list[str]], target: Path) -> tuple[int, int]:
    """Write every pair of two different photos once (a sorts before b); return (same, different) counts."""
    owner = {photo: person for person, photos in people.items() for photo in photos}
    same = different = 0
    with open(target, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["a", "b", "same"])
        for a, b in itertools.combinations(sorted(owner), 2):
            is_same = owner[a] == owner[b]
            writer.writerow([a, b, int(is_same)])
            same += is_same
            different += not is_same
    return same, different


def shared_people(faces: Path) -> dict[str, list[str]]:
    """Return the one-face photos of ../shared/faces by person (its manifest's "single" rows)."""
    with open(faces / "manifest.csv", newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["kind"] == "single"]
    people: dict[str, list[str]] = {}
    for row in rows:
        people.setdefault(row["identity"], []).append(row["path"])
    return people


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    lay = commands.add_parser("layout", help="copy the photos of each set into OUT/<set>/<person>/")
    lay.add_argument("--source", action="append", default=[], metavar="SET=PATH", help=f"sets: {', '.join(SETS)}")
    lay.add_argument("--out", type=Path, required=True)
    pairs = commands.add_parser(
        "pairs", help="write OUT/<set>.pairs.csv for every set laid out under OUT, and all of them in OUT/pairs.csv"
    )
    pairs.add_argument("--out", type=Path, required=True)
    pairs.add_argument("--shared", type=Path, help="also ../shared/faces, linked as OUT/shared (its single/ photos)")
    args = parser.parse_args(argv)
    if args.command == "layout":
        for item in args.source:
            name, _, path = item.partition("=")
            if name not in SETS or not path:
                parser.error(f"--source {item!r}: give SET=PATH with SET one of {', '.join(SETS)}")
            counts = layout(name, Path(path), args.out)
            print(f"{name}: {counts}")
        return 0
    combined: list[tuple[str, str, str, int]] = []
    people_by_set = {name: photos_by_person(args.out / name) for name in SETS if (args.out / name).is_dir()}
    if args.shared is not None:
        link = args.out / "shared"
        if not link.exists():
            link.symlink_to((args.shared / "single").resolve(), target_is_directory=True)
        people_by_set["shared"] = {
            person: [f"{person}/{Path(p).name}" for p in photos]
            for person, photos in shared_people(args.shared).items()
        }
    for name, people in people_by_set.items():
        # Beside the set's folder, never inside it: OUT/shared is a link to the read-only shared photos.
        target = args.out / f"{name}.pairs.csv"
        same, different = write_pairs(people, target)
        print(f"{target}: {same} same-person and {different} different-person pairs (paths relative to {name}/)")
        with open(target, newline="", encoding="utf-8") as handle:
            combined += [(name, f"{name}/{r['a']}", f"{name}/{r['b']}", int(r["same"])) for r in csv.DictReader(handle)]
    with open(args.out / "pairs.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["a", "b", "same", "set"])
        writer.writerows((a, b, same, name) for name, a, b, same in combined)
    print(f"{args.out / 'pairs.csv'}: {len(combined)} pairs of {len(people_by_set)} sets (column set)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
