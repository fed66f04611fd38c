#!/bin/bash
# Mechanical rules: banned functions, one layer per concern (plugins built
# only against the SDK, a core that links nothing of the plugins'), SDK
# headers that compile alone, and the tree's own clang-format.
. "$top_srcdir/tests/integration/lib.sh"

cd "$top_srcdir" || exit 1
# tests/abi/v1 is the 1.0 header as released, kept byte for byte.
sources=$(find core fileio plugins sdk tests -name '*.[ch]' -not -path '*/_build*' -not -path 'tests/abi/v1/*' | sort)

banned='\b(strcpy|strcat|sprintf|vsprintf|gets|strtok|atoi|atol|atoll|atof|tmpnam|mktemp)[[:space:]]*\('
hits=$(grep -nE "$banned" core/*.c core/*.h fileio/*.c fileio/*.h plugins/*/*.c plugins/*/*.h sdk/include/caretaker/*.h 2>/dev/null)
check "no banned functions in core, plugins or the SDK" eval '[ -z "$hits" ] || { echo "$hits" | sed "s/^/# /"; false; }'

# Any header of core/, by any spelling of its path, included from plugins/.
core_headers=$(cd core && ls -- *.h | sed 's/\./\\./g' | paste -sd'|')
hits=$(grep -nE "#[[:space:]]*include[[:space:]]*[\"<]([^\">]*/)?(core/)?($core_headers)[\">]" \
	plugins/*/*.c plugins/*/*.h 2>/dev/null |
	grep -vE "#[[:space:]]*include[[:space:]]*<caretaker/")
hits2=$(grep -nE '#[[:space:]]*include[[:space:]]*"[^"]*core/' plugins/*/*.c plugins/*/*.h 2>/dev/null)
check "plugins include no core header" eval '[ -z "$hits$hits2" ] || { printf "%s\n%s\n" "$hits" "$hits2" | sed "s/^/# /"; false; }'

hits=$(grep -nE '#[[:space:]]*include[[:space:]]*"[^"]*plugins/' core/*.c core/*.h 2>/dev/null)
plugin_headers=$(cd plugins && ls -- */*.h | xargs -n1 basename | sed 's/\./\\./g' | paste -sd'|')
hits2=$(grep -nE "#[[:space:]]*include[[:space:]]*\"($plugin_headers)\"" core/*.c core/*.h 2>/dev/null)
check "the core includes no plugin header" eval '[ -z "$hits$hits2" ] || { printf "%s\n%s\n" "$hits" "$hits2" | sed "s/^/# /"; false; }'

# The link: no function or object defined by a plugins/ object file may be
# defined in the caretaker binary.
if command -v nm >/dev/null && [ -x "$CARETAKER" ]; then
	# The objects of today's sources only: plugins/lib through its
	# archives, each plugin through its own objects (a build folder may
	# still hold objects of files that moved away).
	{
		ls "$top_builddir"/plugins/lib/.libs/*.a
		for c in plugins/*/*.c; do
			dir=$(dirname "$c") base=$(basename "$c" .c)
			[ "$dir" = plugins/lib ] && continue
			ls "$top_builddir/$dir"/.libs/*-"$base".o "$top_builddir/$dir"/*-"$base".o
		done
	} 2>/dev/null | grep -v '/caretaker[_-][^/]*$' | xargs -r nm --defined-only -g 2>/dev/null |
		awk 'NF == 3 { print $3 }' | sort -u >"$T/plugin-symbols"
	nm --defined-only -g "$CARETAKER" | awk 'NF == 3 { print $3 }' | sort -u >"$T/core-symbols"
	hits=$(comm -12 "$T/plugin-symbols" "$T/core-symbols" | grep -v '^_' | head -20)
	check "the caretaker binary links no object of plugins/ ($(wc -l <"$T/plugin-symbols") plugin symbols checked)" \
		eval '[ -s "$T/plugin-symbols" ] && [ -z "$hits" ] || { echo "$hits" | sed "s/^/# /"; false; }'
	check "the caretaker binary does not link libsodium" eval '! ldd "$CARETAKER" | grep -q libsodium'
else
	skip_test "the caretaker binary links no object of plugins/" "nm (binutils) is not installed"
fi

for h in sdk/include/caretaker/*.h; do
	echo "#include <caretaker/$(basename "$h")>" >"$T/alone.c"
	${CC:-cc} -std=c99 -Wall -Wextra -Werror -pedantic -fsyntax-only -Isdk/include "$T/alone.c" \
		>"$out" 2>"$err"
	rc=$?
	check "$(basename "$h") compiles alone as C99" rc_is 0
done

if command -v clang-format >/dev/null; then
	# shellcheck disable=SC2086
	clang-format --dry-run --Werror $sources >"$out" 2>"$err"
	rc=$?
	check "every C file is formatted as .clang-format says (clang-format -i FILE fixes it)" \
		eval 'rc_is 0 || { grep -m20 "error:" "$err" | sed "s/^/# /"; false; }'
else
	skip_test "every C file is formatted as .clang-format says" "clang-format is not installed"
fi

done_testing
