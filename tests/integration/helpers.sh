#!/bin/bash
# Helper commands: `caretaker NAME ARGS` runs caretaker-NAME from the exec
# path with caretaker's configuration and verbosity in its environment;
# `caretaker help` lists them; as root they pass the loader's checks.
. "$top_srcdir/tests/integration/lib.sh"

install_plugins
write_config <<'CONF'
[hello]
plugin = hello
CONF

# A helper of our own, in a folder of its own, first in the exec path.
mkdir -p "$T/libexec"
chmod 755 "$T/libexec"
cat >"$T/libexec/caretaker-echo" <<'SH'
#!/bin/sh
printf 'argv0=%s\n' "$(basename "$0")"
for a in "$@"; do printf 'arg=%s\n' "$a"; done
printf 'config=%s\n' "$CARETAKER_CONFIG"
printf 'verbosity=%s\n' "$CARETAKER_VERBOSITY"
exit 7
SH
chmod 755 "$T/libexec/caretaker-echo"
export CARETAKER_EXEC_PATH="$T/libexec:$CARETAKER_EXEC_PATH"

ct echo "two words" --flag
check "a helper gets its arguments as given and its exit status comes back" \
	eval 'rc_is 7 && out_has "^arg=two words$" && out_has "^arg=--flag$"'
check "a helper learns caretaker's configuration file" out_has "^config=$T/caretaker.ini$"
check "a helper learns the verbosity (0 by default)" out_has "^verbosity=0$"
(cd "$T" && "$CARETAKER" -c caretaker.ini -q echo >"$out" 2>"$err")
rc=$?
check "a relative -c reaches the helper as an absolute path, -q as -1" \
	eval 'rc_is 7 && out_has "^config=$T/caretaker.ini$" && out_has "^verbosity=-1$"'

ct help
check "help lists the built-in commands and the installed helpers" \
	eval 'rc_is 0 && out_has "^usage: caretaker" && out_has "^  echo  *$T/libexec$" &&
		out_has "^  keygen " && out_has "^  decrypt "'

ct no-such-helper
check "an unknown command is a usage error (2) that says where it looked" \
	eval 'rc_is 2 && err_has "unknown command .no-such-helper." && err_has "$T/libexec"'
ct ../libexec/caretaker-echo
check "a command name with a slash is never looked up as a path" \
	eval 'rc_is 2 && out_lacks "argv0="'

cp "$T/libexec/caretaker-echo" "$T/libexec/caretaker-keygen"
ct keygen
check "the first folder of the exec path wins" eval 'rc_is 7 && out_has "argv0=caretaker-keygen"'
rm "$T/libexec/caretaker-keygen"

if [ "$(id -u)" -eq 0 ]; then
	chmod 777 "$T/libexec"
	ct echo
	check "as root, a helper in a world-writable folder is refused" \
		eval 'rc_is 1 && err_has "refused" && out_lacks "argv0="'
	chmod 755 "$T/libexec"
	chmod 757 "$T/libexec/caretaker-echo"
	ct echo
	check "as root, a world-writable helper is refused" \
		eval 'rc_is 1 && err_has "refused" && out_lacks "argv0="'
	chmod 755 "$T/libexec/caretaker-echo"
else
	skip_test_inapplicable "as root, a helper in a world-writable folder is refused" "not root"
	skip_test_inapplicable "as root, a world-writable helper is refused" "not root"
fi

done_testing
