#!/usr/bin/env bash
# Checks every #include "..." of src/, cli/, server/ and include/zeroshot/ against the layer order.
# The rules are the fenced ```layers block of docs/ARCHITECTURE.md ("Layers and modules"), read
# here, so the page and the check cannot drift: one row per folder, then what its files may
# include besides their own files: modules of src/ ("util" = "util/...") and public headers
# ("zeroshot/error.h", or "zeroshot/*" for any). A file's own files are "<folder name>/..." and
# files found next to it. #include <...> (system and third-party headers), tests/ and bench/ are
# not checked. Every folder of src/ needs a row, and every row of src/ a folder.
#
# It also checks that no code outside src/family/ names a model family: a family is a folder of
# src/family/ (its name is the folder's, "_" matching "-", "_" or nothing: eva_clip also catches
# "eva-clip" and EvaClip), and its name may not appear, in any case, in the code of any other
# file of src/: identifiers, #include paths, string literals, CMake lines, or the file's own path.
# Comments (C++ // and /* */, CMake #) are not checked: they may name the reference code they
# mirror (HF's CLIPEncoderLayer). Outside src/ (include/zeroshot, cli/, server/, tests/, docs)
# CLIP and SigLIP are product names and free to appear.
#
# Usage: scripts/check-layers.sh [REPO_ROOT]   (default: the repository holding this script)
#        scripts/check-layers.sh --self-test   runs the check on a copy of this repository with
#          family names planted where it must find them (and where it must not), and fails unless
#          it answers each as expected.
# Exit status: 0 all includes follow the order and no family is named outside src/family/, 1 some
# include breaks the order or some code names a family (each printed on stderr as file:line), 2
# the layers block is missing or malformed.
# Needs only bash (4.0+), coreutils and a POSIX awk (mawk, Debian's default, is enough).
set -euo pipefail

if [ "${1:-}" = --self-test ]; then
  script=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
  repo=$(cd "$(dirname "$0")/.." && pwd)
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  failures=0
  # Copies the folders the check reads into a fresh tree, runs `plant` there (a shell snippet),
  # then the check; passes when its exit status is `want` and its stderr holds `expect` (is empty
  # for an empty `expect`).
  case_run() {
    local what=$1 want=$2 expect=$3 plant=$4 tree status=0
    tree=$scratch/$((++cases))
    mkdir -p "$tree/docs"
    cp "$repo/docs/ARCHITECTURE.md" "$tree/docs/"
    for folder in src cli server include; do
      if [ -d "$repo/$folder" ]; then cp -R "$repo/$folder" "$tree/"; fi
    done
    (cd "$tree" && eval "$plant")
    bash "$script" "$tree" >"$tree.out" 2>"$tree.err" || status=$?
    local said=1  # stderr holds `expect`, or is empty when `expect` is
    if [ -n "$expect" ]; then grep -qF -- "$expect" "$tree.err" || said=0; else [ ! -s "$tree.err" ] || said=0; fi
    if [ "$status" != "$want" ] || [ "$said" != 1 ]; then
      echo "check-layers self-test FAILED: $what: exit $status (wanted $want), stderr:" >&2
      sed 's/^/  /' "$tree.err" >&2
      failures=$((failures + 1))
    else
      echo "check-layers self-test: ok: $what (exit $status)"
    fi
  }
  cases=0
  case_run "the tree as it is" 0 "" ":"
  case_run "a family name in a string" 1 "src/util/env.cc:" \
    'printf "%s\n" "const char* kPlanted = \"only SigLIP models\";" >>src/util/env.cc'
  case_run "a family name in an identifier" 1 "src/hub/cache.cc:" \
    'printf "%s\n" "namespace { int PlantedClipCount = 0; }" >>src/hub/cache.cc'
  case_run "a family header included" 1 "src/api/image.cc:" \
    'printf "%s\n" "#include \"family/clip/clip_model.h\"" >>src/api/image.cc'
  case_run "a family name in a CMake line" 1 "src/image/CMakeLists.txt:" \
    'printf "%s\n" "set(_planted siglip)" >>src/image/CMakeLists.txt'
  case_run "a file named after a family" 1 "src/model/clip_heads.h" \
    'printf "%s\n" "#pragma once" >src/model/clip_heads.h'
  case_run "a new family's folder makes its name checked" 1 "src/kernels/ops.cc:" \
    'mkdir -p src/family/eva_clip && printf "%s\n" "// EVA" >src/family/eva_clip/eva_clip_family.h &&
     printf "%s\n" "namespace { int EvaClipPlanted = 0; }" >>src/kernels/ops.cc'
  case_run "family names in comments" 0 "" \
    'printf "%s\n" "// as HF CLIPEncoderLayer" "/* SigLIP" "   pooling */" >>src/util/env.cc'
  case_run "family names inside src/family" 0 "" \
    'printf "%s\n" "namespace { const char* kPlanted = \"clip, SigLIP\"; }" >>src/family/registry.cc'
  if [ "$failures" != 0 ]; then
    echo "check-layers self-test: $failures of $cases cases failed" >&2
    exit 1
  fi
  echo "check-layers self-test: all $cases cases as expected"
  exit 0
fi

root=${1:-"$(dirname "$0")/.."}
cd "$root"
doc=docs/ARCHITECTURE.md
[ -f "$doc" ] || { echo "check-layers: $doc not found in $(pwd)" >&2; exit 2; }

# The block's rows, comments and blank lines dropped.
table=$(awk '
  /^```layers[ \t]*$/ { inside = 1; found = 1; next }
  inside && /^```/ { inside = 0; closed = 1; next }
  inside { sub(/#.*/, ""); if (NF > 0) print }
  END { if (!found || !closed) exit 1 }
' "$doc") || { echo "check-layers: no closed \`\`\`layers block in $doc" >&2; exit 2; }
[ -n "$table" ] || { echo "check-layers: the \`\`\`layers block of $doc is empty" >&2; exit 2; }

# All of src/ (a module without a row is an error), plus the other folders the table names.
folders=(src)
while read -r folder _; do
  folder=${folder%/}
  if [[ $folder != src/* && -d $folder ]]; then folders+=("$folder"); fi
done <<<"$table"
shopt -s globstar nullglob
files=()
while IFS= read -r file; do files+=("$file"); done < <(
  for folder in "${folders[@]}"; do
    for file in "$folder"/**; do
      case $file in *.h | *.hh | *.hpp | *.inc | *.c | *.cc | *.cpp | *.cxx) ;; *) continue ;; esac
      if [ -f "$file" ]; then printf '%s\n' "$file"; fi
    done
  done | LC_ALL=C sort)
src_dirs=$(for folder in src/*/; do printf '%s\n' "${folder%/}"; done | LC_ALL=C sort)

# The table comes first, on stdin ("-"); the source files follow.
layers_status=0
printf '%s\n' "$table" | awk -v doc="$doc" -v src_dirs="$src_dirs" '
  # Every checked file (the operands after "-"), to tell a file next to the including one.
  BEGIN { for (i = 1; i < ARGC; i++) checked[ARGV[i]] = 1 }
  function fail_config(msg) { print "check-layers: " doc ": " msg > "/dev/stderr"; bad_config = 1 }
  function base(path) { sub(/.*\//, "", path); return path }
  function dir(path) { if (path !~ /\//) return "."; sub(/\/[^\/]*$/, "", path); return path }
  # What row `folder` may include, for messages: "its own files, util, zeroshot/error.h".
  function allowed_text(folder,    text, n, i, t) {
    text = "its own files"
    n = split(allow[folder], t, " ")
    for (i = 1; i <= n; i++) text = text ", " t[i]
    return text
  }
  function may_include(folder, file, inc,    n, i, t, first, next_to) {
    first = inc
    sub(/\/.*/, "", first)
    if (inc ~ /\// && first == base(folder)) return 1
    # A file next to the including one ("progress.h" in cli/), never through "..".
    next_to = dir(file) "/" inc
    if (inc !~ /(^|\/)\.\.(\/|$)/ && next_to in checked) return 1
    n = split(allow[folder], t, " ")
    for (i = 1; i <= n; i++) {
      if (t[i] ~ /\/\*$/) {
        if (index(inc, substr(t[i], 1, length(t[i]) - 1)) == 1) return 1
      } else if (t[i] ~ /\//) {
        if (inc == t[i]) return 1
      } else if (index(inc, t[i] "/") == 1) {
        return 1
      }
    }
    return 0
  }
  # The table (stdin).
  FILENAME == "-" {
    folder = $1
    sub(/\/$/, "", folder)
    if (folder in allow) fail_config("folder " folder " has two rows")
    rows[++nrows] = folder
    list = ""
    for (i = 2; i <= NF; i++) list = list (list == "" ? "" : " ") $i
    allow[folder] = list
    next
  }
  # First source file: the table is complete; check it against itself and src/.
  !checked_table {
    checked_table = 1
    for (r = 1; r <= nrows; r++) {
      if (rows[r] ~ /^src\//) module[base(rows[r])] = 1
    }
    for (r = 1; r <= nrows; r++) {
      n = split(allow[rows[r]], t, " ")
      for (i = 1; i <= n; i++) {
        if (t[i] !~ /\// && !(t[i] in module)) {
          fail_config(rows[r] ": \"" t[i] "\" is not a module of src/ (no src/" t[i] " row)")
        }
      }
    }
    n = split(src_dirs, t, "\n")
    for (i = 1; i <= n; i++) {
      is_dir[t[i]] = 1
      if (!(t[i] in allow)) fail_config(t[i] " has no row in the layers block")
    }
    for (r = 1; r <= nrows; r++) {
      if (rows[r] ~ /^src\// && !(rows[r] in is_dir)) fail_config(rows[r] ": no such folder")
    }
    if (bad_config) exit 2
  }
  FNR == 1 {
    nfiles++
    # The row of this file: the longest folder that holds it.
    row = ""
    for (r = 1; r <= nrows; r++) {
      if (index(FILENAME, rows[r] "/") == 1 && length(rows[r]) > length(row)) row = rows[r]
    }
    if (row == "") {
      print FILENAME ": its folder has no row in the layers block of " doc > "/dev/stderr"
      violations++
    }
  }
  row != "" && /^[ \t]*#[ \t]*include[ \t]*"/ {
    inc = $0
    sub(/^[ \t]*#[ \t]*include[ \t]*"/, "", inc)
    q = index(inc, "\"")
    if (q == 0) next
    inc = substr(inc, 1, q - 1)
    nincludes++
    if (!may_include(row, FILENAME, inc)) {
      print FILENAME ":" FNR ": #include \"" inc "\" breaks the layer order: " row \
            " may include " allowed_text(row) > "/dev/stderr"
      violations++
    }
  }
  END {
    if (bad_config) exit 2
    if (violations) {
      print "check-layers: " violations " violation(s); the layer order is the layers block of " \
            doc " (\"Layers and modules\")" > "/dev/stderr"
      exit 1
    }
    print "check-layers: OK, " nincludes " includes in " nfiles " files follow the layer order of " doc
  }
' - "${files[@]}" || layers_status=$?
[ "$layers_status" = 2 ] && exit 2

# No family named outside src/family/ (see the top of this file).
families=()
for folder in src/family/*/; do families+=("$(basename "$folder")"); done
named_files=()
while IFS= read -r file; do named_files+=("$file"); done < <(
  for file in src/**; do
    case $file in src/family/*) continue ;; esac
    if [ -f "$file" ]; then printf '%s\n' "$file"; fi
  done | LC_ALL=C sort)
names_status=0
if [ "${#families[@]}" -gt 0 ] && [ "${#named_files[@]}" -gt 0 ]; then
  awk -v names="${families[*]}" '
    BEGIN {
      n = split(names, name, " ")
      # Longest first, so that a line naming "siglip" is reported as siglip, not clip.
      for (i = 1; i <= n; i++)
        for (j = i + 1; j <= n; j++)
          if (length(name[j]) > length(name[i])) { t = name[i]; name[i] = name[j]; name[j] = t }
      for (i = 1; i <= n; i++) {
        pattern[i] = tolower(name[i])
        gsub(/_/, "[-_]?", pattern[i])
      }
    }
    function named(text,    i) {
      text = tolower(text)
      for (i = 1; i <= n; i++) if (text ~ pattern[i]) return name[i]
      return ""
    }
    function report(where, family, what) {
      print where ": " what " names the model family \"" family "\" outside src/family/" \
            > "/dev/stderr"
      violations++
    }
    # The code of a C++ line: string and character literals kept, comments dropped. Block
    # comments and raw strings may span lines (in_comment, raw_end carry over).
    function cxx_code(line,    out, i, j, L, c, c2, d, p) {
      out = ""
      L = length(line)
      i = 1
      while (i <= L) {
        if (in_comment) {
          j = index(substr(line, i), "*/")
          if (j == 0) return out
          i += j + 1
          in_comment = 0
          continue
        }
        if (raw_end != "") {
          j = index(substr(line, i), raw_end)
          if (j == 0) return out substr(line, i)
          out = out substr(line, i, j - 1)
          i += j - 1 + length(raw_end)
          raw_end = ""
          continue
        }
        c = substr(line, i, 1)
        c2 = substr(line, i, 2)
        if (c2 == "//") return out
        if (c2 == "/*") { in_comment = 1; i += 2; continue }
        if (c2 == "R\"" && (i == 1 || substr(line, i - 1, 1) !~ /[A-Za-z0-9_]/)) {
          p = index(substr(line, i + 2), "(")
          if (p > 0) {
            raw_end = ")" substr(line, i + 2, p - 1) "\""
            i += 2 + p
            continue
          }
        }
        if (c == "\"" || c == "\047") {
          out = out c
          for (i++; i <= L; i++) {
            d = substr(line, i, 1)
            out = out d
            if (d == "\\") { i++; out = out substr(line, i, 1); continue }
            if (d == c) { i++; break }
          }
          continue
        }
        out = out c
        i++
      }
      return out
    }
    # The code of a CMake line: everything before a # outside a quoted argument.
    function cmake_code(line,    i, c, quoted) {
      quoted = 0
      for (i = 1; i <= length(line); i++) {
        c = substr(line, i, 1)
        if (c == "\"") quoted = !quoted
        if (c == "#" && !quoted) return substr(line, 1, i - 1)
      }
      return line
    }
    FNR == 1 {
      nfiles++
      in_comment = 0
      raw_end = ""
      cmake = FILENAME ~ /(^|\/)CMakeLists\.txt$/ || FILENAME ~ /\.cmake$/
      family = named(FILENAME)
      if (family != "") report(FILENAME, family, "its path")
    }
    {
      code = cmake ? cmake_code($0) : cxx_code($0)
      family = named(code)
      if (family != "") report(FILENAME ":" FNR, family, "\"" code "\"")
    }
    END {
      if (violations) {
        print "check-layers: " violations " line(s) name a model family outside src/family/; " \
              "the api asks the family registry (src/family/registry.h) instead" > "/dev/stderr"
        exit 1
      }
      print "check-layers: OK, no family (" names ") is named in the code of " nfiles \
            " files of src/ outside src/family/"
    }
  ' "${named_files[@]}" || names_status=$?
fi
if [ "$layers_status" != 0 ] || [ "$names_status" != 0 ]; then exit 1; fi
