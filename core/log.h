/*
 * log.h — the core's log lines, on stderr.
 *
 * When stderr is connected to the journal (JOURNAL_STREAM names stderr's
 * device and inode) each line starts with a "<N>" syslog priority prefix so
 * journald records the level; otherwise lines read "caretaker: level: text".
 */
#ifndef CT_LOG_H
#define CT_LOG_H

#include <stdarg.h>

/* Priorities are syslog's (and enum ct_log_level's): 3 err ... 7 debug. */
#define LOG_LEVEL_ERR 3
#define LOG_LEVEL_WARNING 4
#define LOG_LEVEL_NOTICE 5
#define LOG_LEVEL_INFO 6
#define LOG_LEVEL_DEBUG 7

/* Decide the format from the environment and set the most verbose level
 * printed (default LOG_LEVEL_NOTICE; -v raises it, -q lowers it). */
void log_init(int max_level);
int log_max_level(void);
int log_is_journal(void);
/* Call `cb` before each line is written (NULL: none): a live progress line
 * on the terminal clears itself so the log line does not land after it. */
void log_set_line_cb(void (*cb)(void));
/* `who` may be NULL ("caretaker") or "plugin/job". */
void log_msg(int level, const char *who, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_vmsg(int level, const char *who, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#define log_err(...) log_msg(LOG_LEVEL_ERR, NULL, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARNING, NULL, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_LEVEL_NOTICE, NULL, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, NULL, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, NULL, __VA_ARGS__)

#endif
