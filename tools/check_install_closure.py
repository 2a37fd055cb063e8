#!/usr/bin/python3
"""Fails when a build used a file from a Debian package that tools/setup.sh would not install.

A package installed by hand (or pulled in only as a Recommends, which setup.sh's
--no-install-recommends skips) keeps a local build and CI green while the README's commands
fail on a fresh machine. This check reads the files a build actually used, finds the package
that owns each, and compares those packages with what apt would install on an empty system for
setup.sh's list (Depends and Pre-Depends, alternatives resolved as apt resolves them) plus the
packages every Debian system has (Priority: required).

    check_install_closure.py [--list] [--without PKG]... [BUILD_DIR...]

BUILD_DIR defaults to every CMake build folder under ./build. --without PKG computes the
closure as if setup.sh did not list PKG (to test the check itself); --list prints every
package the build used, with one of its files. Exit 0 when every package
is covered, 1 with one line per missing package, 2 on a usage or environment error.
"""
import argparse
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Files outside these prefixes (the build tree, /tmp) are the project's own.
SYSTEM_PREFIXES = ("/usr/", "/lib/", "/lib64/", "/opt/", "/etc/")
HAND_INSTALLED_PREFIXES = ("/usr/local/", "/opt/")


class CheckError(Exception):
    pass


def run(cmd, check=True):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=dict(os.environ, LC_ALL="C"))
    if check and proc.returncode != 0:
        raise CheckError(f"{' '.join(cmd[:3])} ... failed: {proc.stderr.strip()[:400]}")
    return proc


def setup_packages():
    out = run(["bash", os.path.join(ROOT, "tools", "setup.sh"), "--print-packages"]).stdout
    pkgs = [p for p in out.split() if re.fullmatch(r"[a-z0-9][a-z0-9.+-]+", p)]
    if not pkgs:
        raise CheckError("tools/setup.sh --print-packages printed no packages")
    return pkgs


def build_dirs(args):
    if args:
        for d in args:
            if not os.path.isfile(os.path.join(d, "CMakeCache.txt")):
                raise CheckError(f"{d}: no CMakeCache.txt (not a CMake build folder)")
        return args
    found = []
    for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, "build")):
        if "CMakeCache.txt" in filenames:
            found.append(dirpath)
            dirnames.clear()  # a build folder's own subfolders are not other builds
        elif dirpath.count(os.sep) - ROOT.count(os.sep) >= 3:
            dirnames.clear()
    if not found:
        raise CheckError("no CMake build folder under build/ (give one as an argument)")
    return sorted(found)


# Toolchain utilities CMake looks up and records whether or not the build runs them (with clang
# it records llvm-ar, ld.lld, llvm-objcopy ... when installed): they count only where a build
# rule names them.
PROBED_TOOLS = re.compile(r"CMAKE_(ADDR2LINE|AR|C_COMPILER_AR|CXX_COMPILER_AR|C_COMPILER_RANLIB|CXX_COMPILER_RANLIB|"
                          r"DLLTOOL|LINKER|NM|OBJCOPY|OBJDUMP|RANLIB|READELF|STRIP|TAPI|MT|RC)")


def build_rules_text(build_dir):
    """The text of the build's rules (the Makefiles' build.make and link lines)."""
    chunks = []
    for dirpath, _, filenames in os.walk(build_dir):
        for name in filenames:
            if name in ("build.make", "link.txt", "Makefile2", "Makefile") or name.endswith(".ninja"):
                with open(os.path.join(dirpath, name), errors="replace") as f:
                    chunks.append(f.read())
    return "\n".join(chunks)


def cache_paths(build_dir):
    """Absolute system paths named by CMakeCache.txt: libraries, programs, package configs."""
    paths = set()
    rules = None
    with open(os.path.join(build_dir, "CMakeCache.txt"), errors="replace") as f:
        for line in f:
            m = re.match(r"([A-Za-z0-9_.+-]+):(FILEPATH|PATH|STRING|INTERNAL)=(.*)", line.rstrip("\n"))
            if not m:
                continue
            key, value = m.group(1), m.group(3)
            for v in value.split(";"):
                if not v.startswith(SYSTEM_PREFIXES):
                    continue
                if os.path.isfile(v):
                    if PROBED_TOOLS.fullmatch(key):
                        rules = build_rules_text(build_dir) if rules is None else rules
                        if v not in rules:
                            continue
                    paths.add(v)
                elif os.path.isdir(v) and key.endswith("_DIR"):
                    # <Pkg>_DIR names the folder of a package config file: the file is what was used.
                    for name in os.listdir(v):
                        if name.endswith(("Config.cmake", "-config.cmake")):
                            paths.add(os.path.join(v, name))
    return paths


DEP_FILE_NAMES = ("compiler_depend.make", "depend.make", "link.txt")


def dependency_paths(build_dir):
    """System files from the compilers' dependency files and the link lines."""
    paths = set()
    token = re.compile(r"(/(?:usr|lib|lib64|opt|etc)/[^\s:\\\"']+)")
    for dirpath, _, filenames in os.walk(build_dir):
        for name in filenames:
            if not (name in DEP_FILE_NAMES or name.endswith(".d")):
                continue
            with open(os.path.join(dirpath, name), errors="replace") as f:
                for m in token.finditer(f.read()):
                    p = m.group(1)
                    if os.path.isfile(p):
                        paths.add(os.path.normpath(p))
    return paths


def owners(paths):
    """Maps each path to its owning packages as dpkg knows the path (no symlink resolved)."""
    result = {}
    paths = sorted(paths)
    for i in range(0, len(paths), 500):
        chunk = paths[i:i + 500]
        out = run(["dpkg-query", "-S", *chunk], check=False).stdout
        for line in out.splitlines():
            if ": " not in line or line.startswith("diversion "):
                continue
            pkgs, path = line.split(": ", 1)
            result.setdefault(path, set()).update(p.strip().split(":")[0] for p in pkgs.split(","))
    return result


def alias(path):
    """The same file under Debian 12's merged /usr (/lib/x -> /usr/lib/x and back)."""
    for a, b in (("/usr/lib/", "/lib/"), ("/usr/bin/", "/bin/"), ("/usr/sbin/", "/sbin/"), ("/usr/lib64/", "/lib64/")):
        if path.startswith(a):
            return b + path[len(a):]
        if path.startswith(b):
            return a + path[len(b):]
    return None


def owning_packages(paths):
    """{package: example path}; and the system paths no package owns under /usr/local or /opt."""
    direct = owners(paths)
    unowned = [p for p in paths if p not in direct]
    # Not owned as named: the merged-/usr spelling, then the file a symlink (an alternative,
    # /usr/bin/c++ -> g++) resolves to.
    retry = {}
    for p in unowned:
        for q in (alias(p), os.path.realpath(p), alias(os.path.realpath(p))):
            if q and q != p:
                retry.setdefault(q, p)
    second = owners(retry.keys())
    used = {}
    for p, pkgs in direct.items():
        for pkg in pkgs:
            used.setdefault(pkg, p)
    hand_installed = []
    for p in unowned:
        hits = [pkgs for q, orig in retry.items() if orig == p and q in second for pkgs in [second[q]]]
        if hits:
            for pkg in hits[0]:
                used.setdefault(pkg, p)
        elif os.path.realpath(p).startswith(HAND_INSTALLED_PREFIXES):
            hand_installed.append(p)
    return used, sorted(hand_installed)


def dependency_records(packages):
    """{package: [group, ...]}, each group the alternatives of one Depends / Pre-Depends as
    (name, providers) pairs, from apt-cache's recursive listing (a second's work, where apt's
    own resolver on an empty system takes ~15 s)."""
    proc = run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
                "--no-breaks", "--no-replaces", "--no-enhances", *packages], check=False)
    if proc.returncode != 0:
        raise CheckError("apt-cache cannot resolve setup.sh's packages (run 'apt-get update'?): " +
                         proc.stderr.strip()[-600:])
    records, current, group, last = {}, None, [], None
    for line in proc.stdout.splitlines():
        if not line.startswith(" "):
            current = line.strip().split(":")[0]
            records.setdefault(current, [])
            group, last = [], None
            continue
        # " |Depends: a" is followed by another alternative; "  Depends: <v>" names a virtual
        # package, its providers indented below it.
        m = re.match(r"^ ([ |])(?:Pre)?Depends: (\S+)$", line)
        if m and current is not None:
            name = m.group(2)
            alternative = (name.strip("<>").split(":")[0], name.startswith("<"), [])
            group.append(alternative)
            last = alternative
            if m.group(1) != "|":  # this alternative closes the group
                records[current].append(group)
                group = []
            continue
        p = re.match(r"^    (\S+)$", line)  # a provider of the virtual package just named
        if p and last is not None:
            last[2].append(p.group(1).split(":")[0])
    return records


def closure(packages):
    """What apt installs for `packages` (first alternative of each Depends, first provider of a
    virtual one), plus every Priority: required package (a minimal Debian system has them)."""
    records = dependency_records(packages)
    names, todo = set(), list(packages)
    while todo:
        pkg = todo.pop()
        if pkg in names:
            continue
        names.add(pkg)
        for group in records.get(pkg, []):
            if any(name in names or any(p in names for p in providers) for name, _, providers in group):
                continue
            for name, virtual, providers in group:
                chosen = (providers[0] if providers else None) if virtual else name
                if chosen:
                    todo.append(chosen)
                    break
    required = run(["dpkg-query", "-W", "-f=${Package} ${Priority}\n"]).stdout
    for line in required.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1] == "required":
            names.add(parts[0])
    return names


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--without", action="append", default=[], metavar="PKG",
                        help="compute the closure as if setup.sh did not list PKG")
    parser.add_argument("--list", action="store_true", help="print every package the build used")
    parser.add_argument("build_dirs", nargs="*")
    args = parser.parse_args()
    try:
        wanted = setup_packages()
        for pkg in args.without:
            if pkg not in wanted:
                raise CheckError(f"--without {pkg}: setup.sh does not list {pkg}")
        wanted = [p for p in wanted if p not in args.without]
        dirs = build_dirs(args.build_dirs)
        paths = set()
        for d in dirs:
            paths |= cache_paths(d) | dependency_paths(d)
        used, hand_installed = owning_packages(paths)
        covered = closure(wanted)
    except CheckError as e:
        print(f"check_install_closure: {e}", file=sys.stderr)
        return 2
    if args.list:
        for pkg in sorted(used):
            print(f"  {pkg:32} {used[pkg]}")
    missing = sorted(set(used) - covered)
    for pkg in missing:
        print(f"check_install_closure: the build used {used[pkg]} from package '{pkg}', which tools/setup.sh "
              f"does not install on a fresh machine (add it to setup.sh, or stop using it)")
    for p in hand_installed:
        print(f"check_install_closure: the build used {p}, which no Debian package owns (installed by hand)")
    if missing or hand_installed:
        return 1
    print(f"install closure ok: {len(dirs)} build folder(s), {len(paths)} system files from {len(used)} packages, "
          f"all installed by tools/setup.sh ({len(wanted)} listed, {len(covered)} with their Depends) "
          f"or present on every Debian system")
    return 0


if __name__ == "__main__":
    sys.exit(main())
