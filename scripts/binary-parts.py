#!/usr/bin/env python3
"""What a keyport binary is made of: its symbols' sizes (llvm-nm on an unstripped build) added up by
the module or library they come from, largest first, with the file's section sizes.

    scripts/binary-parts.py .build/release/keyport            # or the image build's /out/keyport.unstripped

Swift symbols are attributed to the module in their mangled name; C and C++ symbols by prefix (ICU's
functions and data carry ICU's version suffix, BoringSSL's the CNIOBoringSSL_ prefix). The figures are
what the linker kept; a stripped binary (the image's) drops the symbol table on top.
"""

from __future__ import annotations

import collections
import re
import shutil
import subprocess
import sys

SWIFT_MODULE = re.compile(r"^_?\$s(?:So|SC)?(\d+)([A-Za-z_][A-Za-z0-9_]*)")
C_PREFIXES = (
    (re.compile(r"^(icudt\d+_dat|.*_\d{2}$|_ZN6icu_\d+)"), "ICU (_FoundationICU)"),
    (re.compile(r"^_?CNIOBoringSSL|^_ZN4bssl"), "BoringSSL (swift-nio-ssl)"),
    (re.compile(r"^_?swift_|^_swift_|^\$ss"), "Swift runtime and standard library"),
    (re.compile(r"^_?dispatch_|^_dispatch"), "Dispatch"),
    (re.compile(r"^_?_?CF|^__CF"), "CoreFoundation"),
    (re.compile(r"^_ZN?St|^_ZNSt|^_ZNKSt|^_ZSt"), "C++ standard library"),
)


def owner(name: str) -> str:
    if name.startswith("$ss") or name.startswith("_$ss"):
        return "Swift runtime and standard library"
    match = SWIFT_MODULE.match(name)
    if match:
        length, rest = int(match.group(1)), match.group(2)
        return rest[:length]
    for pattern, label in C_PREFIXES:
        if pattern.search(name):
            return label
    return "other C/C++"


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    binary = sys.argv[1]
    nm = shutil.which("llvm-nm") or shutil.which("nm")
    out = subprocess.run([nm, "--print-size", "--size-sort", "--radix=d", binary], capture_output=True, text=True,
                         check=True).stdout
    sizes: collections.Counter[str] = collections.Counter()
    for line in out.splitlines():
        parts = line.split(maxsplit=3)
        if len(parts) == 4:
            sizes[owner(parts[3])] += int(parts[1])
    total = sum(sizes.values())
    print(f"{'part':<40} {'MB':>7} {'share':>6}")
    for name, size in sizes.most_common(15):
        print(f"{name:<40} {size / 1e6:7.1f} {size / total:6.1%}")
    print(f"{'(symbols, all)':<40} {total / 1e6:7.1f}")
    sections = subprocess.run(["size", "-A", binary], capture_output=True, text=True, check=True).stdout
    big = [line.split() for line in sections.splitlines() if line.startswith(".") and int(line.split()[1]) > 1_000_000]
    print("sections over 1 MB: " + ", ".join(f"{s[0]} {int(s[1]) / 1e6:.1f} MB" for s in big))
    return 0


if __name__ == "__main__":
    sys.exit(main())
