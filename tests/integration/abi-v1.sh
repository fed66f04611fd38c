#!/bin/bash
# A plugin built against the frozen v1 header still loads and runs.
. "$top_srcdir/tests/integration/lib.sh"

install_plugins
${CC:-cc} -shared -fPIC -fvisibility=hidden -Wall -Wextra -Werror \
	-I"$top_srcdir/tests/abi/v1" "$top_srcdir/tests/abi/v1/oldplugin.c" \
	-o "$T/plugins/oldplugin.so" >"$out" 2>"$err"
rc=$?
check "the v1 plugin builds against the frozen header" rc_is 0
chmod 644 "$T/plugins/oldplugin.so"
write_config <<'CONF'
[old]
plugin = oldplugin
count = 7
every = 2h
CONF

ct check
check "the current host accepts the v1 plugin's job" rc_is 0
ct run old
check "the v1 plugin runs and its options arrive typed" \
	eval 'rc_is 0 && out_has "^ok .*old .*v1 plugin: steady 7 7200000"'

if cmp -s "$top_srcdir/tests/abi/v1/caretaker/errors.h" "$top_srcdir/sdk/include/caretaker/errors.h"; then
	ok "errors.h has not changed since v1"
else
	# Codes may only be appended: every v1 line must still be there.
	missing=$(grep -E '^\s+CT_E[A-Z]+ = -[0-9]+' "$top_srcdir/tests/abi/v1/caretaker/errors.h" |
		grep -v '__LAST' | while read -r line; do
			grep -qF -- "${line%%/\**}" "$top_srcdir/sdk/include/caretaker/errors.h" || echo "$line"
		done)
	check "every v1 error code keeps its number" [ -z "$missing" ]
fi

done_testing
