"""test_elf_hardening - the built binaries carry the release hardening.

Reads the ELF of every executable in the build's bin/ with readelf
(binutils) and checks what the hardened build (VIGIL_HARDEN, on by default
for Release and RelWithDebInfo builds without sanitizers) promises:

 - PIE: ELF type DYN with the PIE flag (DT_FLAGS_1), so ASLR moves the code;
 - full RELRO: a PT_GNU_RELRO segment and BIND_NOW (DT_FLAGS BIND_NOW or
   DT_FLAGS_1 NOW), so the GOT is read-only once the program runs;
 - a stack protector: __stack_chk_fail is imported;
 - FORTIFY: at least one __*_chk function of glibc is imported (e.g.
   __snprintf_chk, __memcpy_chk), which only _FORTIFY_SOURCE produces;
 - a non-executable stack: PT_GNU_STACK without X.
CET (IBT/SHSTK, from -fcf-protection) is reported but not required: the
linker keeps the property only when every object, glibc's start files
included, has it, which Debian 12's do not.

A Release, RelWithDebInfo or MinSizeRel build without sanitizers must
pass (VIGIL_HARDEN=OFF there fails); any other build without VIGIL_HARDEN
(Debug, sanitizers) is skipped (exit 77), as is a machine without readelf.

See also: CMakeLists.txt (VIGIL_HARDEN), CMakePresets.json (release)

SPDX-License-Identifier: MIT
"""

import os
import re
import shutil
import subprocess

from vigiltest import Skip, check, main, say

PRODUCT = ("vigil-collector", "vigil-scorer", "vigilctl", "vigil-load")


def cache_value(bindir, name):
    """The value of `name` in the build's CMakeCache.txt ("" when it is
    not set there), or None when there is no CMakeCache.txt."""
    path = os.path.join(os.path.dirname(os.path.abspath(bindir)),
                        "CMakeCache.txt")
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                m = re.match(r"^%s:[A-Z]+=(.*)$" % re.escape(name), line)
                if m:
                    return m.group(1).strip()
    except OSError:
        return None
    return ""


def readelf(args, path):
    p = subprocess.run(["readelf", "-W"] + args + [path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    if p.returncode != 0:
        raise AssertionError("readelf %s %s: %s"
                             % (" ".join(args), path, p.stderr.decode()))
    return p.stdout.decode("utf-8", "replace")


def is_elf(path):
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def check_binary(path):
    name = os.path.basename(path)
    header = readelf(["-h"], path)
    dynamic = readelf(["-d"], path)
    segments = readelf(["-l"], path)
    dynsyms = readelf(["--dyn-syms"], path)
    notes = readelf(["-n"], path)

    check(re.search(r"Type:\s+DYN", header) is not None,
          "%s: ELF type DYN (position independent)" % name)
    flags1 = re.search(r"\(FLAGS_1\)\s+Flags:(.*)", dynamic)
    flags1 = flags1.group(1).split() if flags1 else []
    check("PIE" in flags1, "%s: DT_FLAGS_1 has PIE" % name, flags1)
    flags = re.search(r"\(FLAGS\)\s+(.*)", dynamic)
    flags = flags.group(1).split() if flags else []
    check("BIND_NOW" in flags or "NOW" in flags1,
          "%s: BIND_NOW (lazy binding off)" % name, (flags, flags1))
    check(re.search(r"^\s*GNU_RELRO\s", segments, re.M) is not None,
          "%s: a PT_GNU_RELRO segment (with BIND_NOW: full RELRO)" % name)
    stack = re.search(r"^\s*GNU_STACK\s+.*\s([RWE ]{3})\s+0x[0-9a-f]+$",
                      segments, re.M)
    check(stack is not None and "E" not in stack.group(1),
          "%s: the stack is not executable" % name,
          stack.group(0) if stack else "no PT_GNU_STACK")
    imports = set(re.findall(r"\sUND\s+([A-Za-z0-9_]+)", dynsyms))
    check("__stack_chk_fail" in imports,
          "%s: imports __stack_chk_fail (stack protector)" % name)
    chk = sorted(s for s in imports if re.match(r"^__\w+_chk$", s)
                 and s != "__stack_chk_fail")
    check(len(chk) > 0, "%s: imports FORTIFY checks (%s)"
          % (name, ", ".join(chk[:4]) + (", ..." if len(chk) > 4 else "")))
    cet = re.search(r"x86 feature: (.*)", notes)
    say("  note %s: CET %s" % (name, cet.group(1) if cet else
                               "not marked (start files lack it)"))


def body(args):
    if shutil.which("readelf") is None:
        raise Skip("readelf (binutils) is not installed")
    harden = cache_value(args.bin, "VIGIL_HARDEN")
    if harden is None:
        raise Skip("no CMakeCache.txt beside %s: cannot tell how it was "
                   "built" % args.bin)
    btype = cache_value(args.bin, "CMAKE_BUILD_TYPE")
    sanitize = cache_value(args.bin, "VIGIL_SANITIZE")
    release = btype in ("Release", "RelWithDebInfo", "MinSizeRel")
    if release and not sanitize:
        # A release-type build must be hardened: VIGIL_HARDEN=OFF on one
        # is a failure here, not a skip.
        say("  %s build without sanitizers: hardening required" % btype)
    elif harden.upper() not in ("ON", "1", "TRUE", "YES"):
        raise Skip("%s build%s with VIGIL_HARDEN %s: not hardened "
                   "(FORTIFY needs optimisation, sanitizers replace "
                   "its checks)" % (btype or "untyped",
                                    " with sanitizers" if sanitize else "",
                                    harden or "unset"))
    found = []
    for fn in sorted(os.listdir(args.bin)):
        path = os.path.join(args.bin, fn)
        if os.path.isfile(path) and os.access(path, os.X_OK) and is_elf(path):
            found.append(fn)
    for b in PRODUCT:
        check(b in found, "%s was built" % b)
    for fn in found:
        check_binary(os.path.join(args.bin, fn))


if __name__ == "__main__":
    main("the built binaries are PIE, full RELRO, stack-protected and "
         "fortified", body)
