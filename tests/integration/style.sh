#!/bin/bash
# Mechanical rules: banned functions, plugins built only against the SDK,
# SDK headers that compile alone.
. "$top_srcdir/tests/integration/lib.sh"

cd "$top_srcdir" || exit 1
banned='\b(strcpy|strcat|sprintf|vsprintf|gets|strtok|atoi|atol|atoll|atof|tmpnam|mktemp)[[:space:]]*\('
hits=$(grep -nE "$banned" core/*.c core/*.h plugins/*/*.c plugins/*/*.h sdk/include/caretaker/*.h 2>/dev/null)
check "no banned functions in core, plugins or the SDK" eval '[ -z "$hits" ] || { echo "$hits" | sed "s/^/# /"; false; }'

hits=$(grep -nE '#include "(\.\./)*core/|#include "(config|loader|runner|task|arena|xmalloc)\.h"' plugins/*/*.c plugins/*/*.h 2>/dev/null)
check "plugins include no core header" eval '[ -z "$hits" ] || { echo "$hits" | sed "s/^/# /"; false; }'

for h in sdk/include/caretaker/*.h; do
	echo "#include <caretaker/$(basename "$h")>" >"$T/alone.c"
	${CC:-cc} -std=c99 -Wall -Wextra -Werror -pedantic -fsyntax-only -Isdk/include "$T/alone.c" \
		>"$out" 2>"$err"
	rc=$?
	check "$(basename "$h") compiles alone as C99" rc_is 0
done

done_testing
