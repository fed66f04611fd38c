dist_man_MANS = docs/caretaker.8 docs/caretaker.ini.5
EXTRA_DIST += docs/abi.md docs/plugin-guide.md docs/architecture.md docs/report-format.md docs/timers.md
EXTRA_DIST += docs/internals/schedule.md docs/internals/runner.md
EXTRA_DIST += docs/backup.md
EXTRA_DIST += docs/encryption.md
EXTRA_DIST += docs/audit.md
EXTRA_DIST += docs/vacuum.md
EXTRA_DIST += docs/retention.md
