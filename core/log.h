/*
 * log.h -- structured log lines on stderr.
 *
 * One line per event: time, level, component, message, then key=value
 * fields (logfmt). Never log a secret: there is no redaction after the fact.
 */
#ifndef LUTRA_LOG_H
#define LUTRA_LOG_H

#include <stdarg.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

/* Lines below this level are dropped. Default LOG_INFO. */
void log_set_level(int level);
int log_get_level(void);
/* Parse "debug", "info", "warn", "error". @return the level or -1. */
int log_level_parse(const char *s);

void log_write(int level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_vwrite(int level, const char *component, const char *fmt, va_list ap);

#endif
