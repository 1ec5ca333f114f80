#!/usr/bin/env bash
# Checks every #include "..." of src/, cli/, server/ and include/zeroshot/ against the layer order.
# The rules are the fenced ```layers block of docs/ARCHITECTURE.md ("Layers and modules"), read
# here, so the page and the check cannot drift: one row per folder, then what its files may
# include besides their own files: modules of src/ ("util" = "util/...") and public headers
# ("zeroshot/error.h", or "zeroshot/*" for any). A file's own files are "<folder name>/..." and
# files found next to it. #include <...> (system and third-party headers), tests/ and bench/ are
# not checked. Every folder of src/ needs a row, and every row of src/ a folder.
#
# Usage: scripts/check-layers.sh [REPO_ROOT]   (default: the repository holding this script)
# Exit status: 0 all includes follow the order, 1 some do not (each printed on stderr as
# file:line), 2 the layers block is missing or malformed.
# Needs only bash (4.0+), coreutils and a POSIX awk (mawk, Debian's default, is enough).
set -euo pipefail

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
' - "${files[@]}"
