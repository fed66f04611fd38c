# The shipped job files: installed as examples under $(pkgdatadir), never
# over a live /etc/caretaker.
examplesdir = $(pkgdatadir)/examples
dist_examples_DATA = conf.d/caretaker.ini.example
examplesconfddir = $(pkgdatadir)/examples/conf.d
dist_examplesconfd_DATA = conf.d/10-daily.ini conf.d/20-weekly.ini conf.d/30-monthly.ini
dist_examplesconfd_DATA += conf.d/40-backup.ini
dist_examplesconfd_DATA += conf.d/50-update.ini
# The update chain's rollback (docs/updates.md), run by its on_failure job.
dist_pkglibexec_SCRIPTS = conf.d/update-rollback
dist_examplesconfd_DATA += conf.d/45-host.ini
