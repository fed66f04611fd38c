#!/bin/bash
# An outside plugin: the SDK template built with plain cc and pkg-config
# (no libtool, no linking against caretaker), installed and run.
. "$top_srcdir/tests/integration/lib.sh"

command -v pkg-config >/dev/null || skip_all "pkg-config is not installed"
install_plugins
cp -r "$top_srcdir/sdk/template" "$T/src"
chmod -R u+w "$T/src"
# The uninstalled .pc from the build tree, pointed at the source headers.
pc="pkg-config --define-variable=includedir=$top_srcdir/sdk/include --define-variable=libdir=$T"
export PKG_CONFIG_PATH="$top_builddir/sdk"

make -s -C "$T/src" PKG_CONFIG="$pc" >"$out" 2>"$err"
rc=$?
check "the template builds with cc and pkg-config alone" eval 'rc_is 0 && [ -f "$T/src/myplugin.so" ]'

exports=$(nm -D --defined-only "$T/src/myplugin.so" | awk '$2 ~ /[A-Z]/ {print $3}' | sort)
check "it exports nothing but its descriptor (got: $exports)" \
	[ "$exports" = "caretaker_plugin" ]
check "it links against nothing of caretaker" \
	eval '! readelf -d "$T/src/myplugin.so" | grep NEEDED | grep -qi caretaker'

make -s -C "$T/src" PKG_CONFIG="$pc" install DESTDIR="$T/dest" >"$out" 2>"$err"
cp "$T/src/myplugin.so" "$T/plugins/" && chmod 644 "$T/plugins/myplugin.so"
write_config <<CONF
[outside]
plugin = myplugin
path = /etc
CONF

ct describe myplugin
check "describe shows the outside plugin's options" \
	eval 'rc_is 0 && out_has "warn_above .*int 0..1000000 .*100"'
ct run outside
check "the outside plugin runs and reports" \
	eval 'rc_is 0 && out_has "^ok .*outside .*42 entries in /etc"'

# Sanitized and coverage builds add the compiler's own symbols (gcc's ASan:
# __odr_asan.NAME; libgcov: __gcov_*, mangle_path): they are not the
# plugin's.
for so in "$top_builddir"/plugins/*/.libs/*.so; do
	names=$(nm -D --defined-only "$so" |
		awk '$2 ~ /[A-Z]/ && $3 !~ /^(__odr_asan\.|__gcov_|mangle_path$)/ {print $3}' |
		sort | tr '\n' ' ')
	check "bundled $(basename "$so") exports only its descriptor" [ "$names" = "caretaker_plugin " ]
done

done_testing
