#!/usr/bin/env python3
"""Writes a synthetic ports file of N records in the shape of the real one (../shared/data/ports.json).

Deterministic for a given seed, streamed (constant memory, any N). Shape: 2-space indentation, keys mostly
sorted ids ([A-Z]{2}[A-Z0-9]{3}, longer when N needs it), the real file's field mix and key orders
(coordinates 98.5%, province 96%, timezone 97%, code 79% as a string of digits, alias rarely non-empty,
regions always empty, unlocs listing the own id and sometimes a second one), ~18% non-ASCII strings
(Latin accents, Vietnamese, Thai, U+2019, U+2010), integer and 16-digit coordinates, and ~1% records that
repeat an earlier id with a new body (an upsert: the last one wins).

    scripts/generate-ports.py 1000000 > /tmp/ports-1m.json
    scripts/generate-ports.py 1000 --seed 7 --duplicates 0.05 -o small.json
"""
import argparse
import json
import random
import sys

encode = json.encoder.encode_basestring  # C-accelerated; keeps non-ASCII as is, like the real file

COUNTRIES = [
    ("United Arab Emirates", "AE", ["Asia/Dubai"]), ("China", "CN", ["Asia/Shanghai", "Asia/Hong_Kong"]),
    ("United States", "US", ["America/New_York", "America/Chicago", "America/Los_Angeles"]),
    ("Brazil", "BR", ["America/Sao_Paulo", "America/Belem"]), ("Viet Nam", "VN", ["Asia/Ho_Chi_Minh"]),
    ("Thailand", "TH", ["Asia/Bangkok"]), ("Albania", "AL", ["Europe/Tirane"]),
    ("Argentina", "AR", ["America/Argentina/Buenos_Aires"]), ("Côte d'Ivoire", "CI", ["Africa/Abidjan"]),
    ("Curaçao", "CW", ["America/Curacao"]), ("Türkiye", "TR", ["Europe/Istanbul"]),
    ("Germany", "DE", ["Europe/Berlin"]), ("Spain", "ES", ["Europe/Madrid", "Atlantic/Canary"]),
    ("Greece", "GR", ["Europe/Athens"]), ("United Kingdom", "GB", ["Europe/London"]),
    ("Norway", "NO", ["Europe/Oslo"]), ("Japan", "JP", ["Asia/Tokyo"]), ("India", "IN", ["Asia/Kolkata"]),
    ("Australia", "AU", ["Australia/Sydney", "Australia/Perth"]), ("Eritrea", "ER", ["Africa/Asmara"]),
    ("Equatorial Guinea", "GQ", ["Africa/Malabo"]), ("Netherlands Antilles", "AN", ["America/Curacao"]),
    ("Netherlands", "NL", ["Europe/Amsterdam"]), ("Canada", "CA", ["America/Toronto", "America/Vancouver"]),
    ("Chile", "CL", ["America/Santiago"]), ("South Africa", "ZA", ["Africa/Johannesburg"]),
    ("Indonesia", "ID", ["Asia/Jakarta", "Asia/Makassar"]), ("Russia", "RU", ["Europe/Moscow", "Asia/Vladivostok"]),
    ("Mexico", "MX", ["America/Mexico_City"]), ("Zimbabwe", "ZW", ["Africa/Harare"]),
]
LATIN = ["ba", "ha", "ma", "du", "ri", "san", "to", "lo", "ka", "ne", "po", "ru", "ti", "ve", "al", "or", "es", "an"]
ACCENTED = ["ë", "í", "ã", "ç", "ö", "é", "ñ", "ồ", "ậ", "ư"]
THAI = ["จังหวัด", "กรุงเทพ", "มหานคร", "สงขลา", "ภูเก็ต"]
ODD = ["K\u2019eyyih", "Wele\u2010Nzas", "Abu Z\u00b8aby [Abu Dhabi]"]
ORDERS = [  # the real file's most common key orders
    ["name", "coordinates", "city", "province", "country", "alias", "regions", "timezone", "unlocs", "code"],
    ["name", "city", "province", "country", "alias", "regions", "coordinates", "timezone", "unlocs", "code"],
    ["name", "city", "country", "alias", "regions", "coordinates", "province", "timezone", "unlocs", "code"],
    ["timezone", "coordinates", "name", "city", "province", "country", "alias", "regions", "unlocs", "code"],
    ["country", "province", "city", "name", "alias", "regions", "unlocs", "code", "coordinates", "timezone"],
]
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # in byte order, so ids come out sorted like the real file's


def word(rng):
    w = "".join(rng.choice(LATIN) for _ in range(rng.randint(2, 4)))
    return w[0].upper() + w[1:]


def place_name(rng):
    roll = rng.random()
    if roll < 0.12:
        w = word(rng)
        i = rng.randrange(1, len(w))
        return w[:i] + rng.choice(ACCENTED) + w[i + 1:]
    if roll < 0.15:
        return rng.choice(THAI) + " " + rng.choice(THAI)
    if roll < 0.16:
        return rng.choice(ODD)
    if roll < 0.3:
        return word(rng) + " " + word(rng)
    return word(rng)


def coordinate(rng, limit):
    roll = rng.random()
    if roll < 0.012:
        return str(rng.randint(-limit, limit))
    if roll < 0.05:
        return repr(rng.uniform(-limit, limit))  # ~16 significant digits, like 38.91400300000001
    return repr(round(rng.uniform(-limit, limit), rng.randint(2, 7)))


def record_lines(rng, key, country_entry, second_unloc):
    country, _, zones = country_entry
    name = place_name(rng)
    city = name if rng.random() < 0.89 else word(rng)
    fields = {
        "name": encode(name),
        "city": encode(city),
        "country": encode(country),
        "alias": "[]" if rng.random() > 0.006 else
                 "[\n      " + ",\n      ".join(encode(word(rng)) for _ in range(rng.randint(1, 3))) + "\n    ]",
        "regions": "[]",
        "unlocs": "[\n      " + encode(key) + (",\n      " + encode(second_unloc) if second_unloc else "") + "\n    ]",
    }
    if rng.random() < 0.985:
        fields["coordinates"] = "[\n      " + coordinate(rng, 180) + ",\n      " + coordinate(rng, 90) + "\n    ]"
    if rng.random() < 0.96:
        province = place_name(rng)
        if rng.random() < 0.07:
            province += " [" + word(rng) + "]"
        fields["province"] = encode(province)
    if rng.random() < 0.973:
        fields["timezone"] = encode(rng.choice(zones))
    if rng.random() < 0.793:
        fields["code"] = encode(str(rng.randint(1000, 99999)))
    order = ORDERS[0] if rng.random() < 0.3 else rng.choice(ORDERS)
    body = ",\n".join(f'    "{k}": {fields[k]}' for k in order if k in fields)
    return f"  {encode(key)}: {{\n{body}\n  }}"


def id_length(n):
    length = 5
    while 26 * 26 * 36 ** (length - 2) < 4 * n:
        length += 1
    return length


def ids(rng, n):
    """n distinct sorted ids: country prefix + base-36 suffix, stepping with random gaps."""
    length = id_length(n)
    space = 26 * 26 * 36 ** (length - 2)
    step = space // n
    value = 0
    for _ in range(n):
        value += rng.randint(1, step)
        prefix, suffix = divmod(value, 36 ** (length - 2))
        chars = []
        for _ in range(length - 2):
            suffix, digit = divmod(suffix, 36)
            chars.append(ALNUM[digit])
        yield LETTERS[prefix // 26] + LETTERS[prefix % 26] + "".join(reversed(chars))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("records", type=int, help="distinct ids to write (duplicates come on top)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--duplicates", type=float, default=0.01, help="share of records repeating an earlier id")
    parser.add_argument("-o", "--output", help="file to write (default: stdout)")
    args = parser.parse_args()
    if args.records < 0 or not 0 <= args.duplicates < 1:
        parser.error("records must be >= 0 and --duplicates in [0, 1)")
    rng = random.Random(args.seed)
    out = open(args.output, "w", encoding="utf-8", newline="\n") if args.output else sys.stdout
    recent = []
    first = True
    chunk = []

    def emit(text):
        nonlocal first
        chunk.append(text if first else ",\n" + text)
        first = False
        if len(chunk) >= 2000:
            out.write("".join(chunk))
            chunk.clear()

    out.write("{\n")
    for key in ids(rng, args.records):
        entry = rng.choice(COUNTRIES)
        second = None
        if recent and rng.random() < 0.005:
            second = rng.choice(recent)
        emit(record_lines(rng, key, entry, second))
        recent.append(key)
        if len(recent) > 1000:
            recent.pop(0)
        if rng.random() < args.duplicates:
            emit(record_lines(rng, rng.choice(recent), rng.choice(COUNTRIES), None))
    out.write("".join(chunk))
    out.write("\n}\n")
    if out is not sys.stdout:
        out.close()


if __name__ == "__main__":
    main()
