#!/bin/bash
# Plugin file and folder checks when running as root.
. "$top_srcdir/tests/integration/lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all_inapplicable "the owner and mode checks apply to root only"

install_plugins
write_config <<'CONF'
[hello]
plugin = hello
CONF

ct run hello
check "a root-owned plugin in a root-owned folder loads" rc_is 0

chmod 666 "$T/plugins/hello.so"
ct run hello
check "a world-writable plugin file is refused" \
	eval 'rc_is 78 && out_has "file $T/plugins/hello.so is writable by everyone"'
chmod 664 "$T/plugins/hello.so"
ct run hello
check "a group-writable plugin file is refused" out_has "is writable by its group"
chmod 644 "$T/plugins/hello.so"

chmod 777 "$T/plugins"
ct run hello
check "a world-writable plugin folder is refused" \
	eval 'rc_is 78 && out_has "folder $T/plugins is writable by everyone"'
chmod 755 "$T/plugins"

chown nobody "$T/plugins/hello.so"
ct run hello
check "a plugin file owned by another user is refused" \
	eval 'rc_is 78 && out_has "is owned by uid [0-9]*, not root"'
chown root "$T/plugins/hello.so"

mv "$T/plugins/hello.so" "$T/real-hello.so"
ln -s "$T/real-hello.so" "$T/plugins/hello.so"
ct run hello
check "a symbolic link is not followed" \
	eval 'rc_is 78 && out_has "symbolic link"'
rm "$T/plugins/hello.so"
mv "$T/real-hello.so" "$T/plugins/hello.so"

chmod 666 "$T/plugins/hello.so"
printf 'trust_plugin_dirs = yes\n' >"$T/extra"
sed -i "/^\[caretaker\]/r $T/extra" "$T/caretaker.ini"
ct run hello
check "trust_plugin_dirs = yes loads it anyway" rc_is 0
check "run says trust_plugin_dirs = yes is on" err_has "warning: trust_plugin_dirs = yes: .*without owner and mode checks"
ct plugins
check "trust_plugin_dirs says so in a warning" err_has "without owner and mode checks"
ct describe hello
check "describe says trust_plugin_dirs = yes is on" err_has "without owner and mode checks"
ct check
check "check says trust_plugin_dirs = yes is on" err_has "without owner and mode checks"
chmod 644 "$T/plugins/hello.so"

chmod 646 "$T/caretaker.ini"
ct list
check "a world-writable configuration file is refused" \
	eval 'rc_is 78 && err_has "anyone can write this file"'
chmod 644 "$T/caretaker.ini"

done_testing
