#!/usr/bin/env bash
# libzeroshot_c exports exactly the functions its header declares: nothing else (no C++ or
# library symbols leak through the version script), and no declared function is missing.
# Usage: check_exports.sh LIBZEROSHOT_C HEADER
set -euo pipefail
lib=$1 header=$2
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TWDBRiu]$/ {print $3}' | sed 's/@.*//' | sort -u)
declared=$(grep -o 'zs_[a-z_0-9]*(' "$header" | tr -d '(' | sort -u)
status=0
extra=$(comm -23 <(echo "$exported") <(echo "$declared"))
missing=$(comm -13 <(echo "$exported") <(echo "$declared"))
if [ -n "$extra" ]; then echo "exported but not in $header:"; echo "$extra"; status=1; fi
if [ -n "$missing" ]; then echo "declared in $header but not exported:"; echo "$missing"; status=1; fi
[ $status -eq 0 ] && echo "libzeroshot_c exports the $(echo "$declared" | wc -l) functions of its header, nothing else"
exit $status
