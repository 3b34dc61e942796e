/*
 * log.c -- structured log lines on stderr (logfmt).
 *
 *   2026-11-22T10:00:00.123Z level=info component=import msg="file read" rows=12
 *
 * The formatted text a caller passes is a message optionally followed by
 * key=value fields: everything before the first " key=" (a word of letters,
 * digits, '_' or '.' directly followed by '=') is the message, quoted when it
 * holds a space, a quote, '=' or a control character; the fields are written
 * as given. So log_write(LOG_INFO, "import", "file read rows=%d", n) gives
 * msg="file read" rows=12.
 *
 * The time is the wall clock: logging is the one place in lutra that reads it
 * directly, because a log line records when something happened to the
 * process, not where a backtest's virtual clock stood (the engine asks the
 * driver's clock for that).
 *
 * Each line is formatted whole in a stack buffer and written with one fputs,
 * so lines from different threads do not interleave. A line longer than the
 * buffer is cut short.
 */
#include "log.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "timestamp.h"

#define LOG_LINE_MAX 4096

static atomic_int log_level = LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(int level)
{
    if (level >= LOG_DEBUG && level <= LOG_ERROR)
        atomic_store(&log_level, level);
}

int log_get_level(void)
{
    return atomic_load(&log_level);
}

int log_level_parse(const char *s)
{
    for (int i = LOG_DEBUG; i <= LOG_ERROR; i++) {
        if (s && strcmp(s, level_names[i]) == 0)
            return i;
    }
    return -1;
}

/* ---- Line building ---- */

/* An append-only line; overflow truncates, keeping room for "\n\0". */
typedef struct log_line {
    char buf[LOG_LINE_MAX];
    size_t len;
} log_line;

static void put_char(log_line *l, char c)
{
    if (l->len < sizeof(l->buf) - 2)
        l->buf[l->len++] = c;
}

static void put_str(log_line *l, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put_char(l, s[i]);
}

/* Control characters would break the one-line-per-event rule. */
static void put_escaped_char(log_line *l, char c)
{
    static const char hex[] = "0123456789abcdef";

    switch (c) {
    case '"': put_str(l, "\\\"", 2); return;
    case '\\': put_str(l, "\\\\", 2); return;
    case '\n': put_str(l, "\\n", 2); return;
    case '\r': put_str(l, "\\r", 2); return;
    case '\t': put_str(l, "\\t", 2); return;
    default: break;
    }
    if ((unsigned char)c < 0x20) {
        put_str(l, "\\x", 2);
        put_char(l, hex[(unsigned char)c >> 4]);
        put_char(l, hex[c & 0xf]);
        return;
    }
    put_char(l, c);
}

static bool needs_quotes(const char *s, size_t n)
{
    if (n == 0)
        return true;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c == '"' || c == '=' || c == '\\')
            return true;
    }
    return false;
}

static void put_value(log_line *l, const char *s, size_t n)
{
    bool quote = needs_quotes(s, n);

    if (quote)
        put_char(l, '"');
    for (size_t i = 0; i < n; i++)
        put_escaped_char(l, s[i]);
    if (quote)
        put_char(l, '"');
}

/* Fields are written as the caller formatted them, but never a raw newline. */
static void put_fields(log_line *l, const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20)
            put_escaped_char(l, *s);
        else
            put_char(l, *s);
    }
}

static bool is_key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.';
}

/* Offset of the " key=" that starts the fields in text, or strlen(text). */
static size_t message_length(const char *text)
{
    for (const char *sp = strchr(text, ' '); sp; sp = strchr(sp + 1, ' ')) {
        const char *k = sp + 1;
        while (is_key_char(*k))
            k++;
        if (k > sp + 1 && *k == '=')
            return (size_t)(sp - text);
    }
    return strlen(text);
}

/* "2026-11-22T10:00:00.123Z": the wall clock, to the millisecond. */
static void put_wall_time(log_line *l)
{
    struct timespec now;
    char iso[TS_ISO_MAX];
    int n;

    if (clock_gettime(CLOCK_REALTIME, &now) != 0) {
        put_str(l, "-", 1);
        return;
    }
    /* Formatting the whole second gives "...:SSZ"; the milliseconds go
     * before the Z so every line has the same width. */
    n = ts_format_iso((int64_t)now.tv_sec * TS_NS_PER_SEC, iso, sizeof(iso));
    if (n < 1) {
        put_str(l, "-", 1);
        return;
    }
    snprintf(iso + n - 1, sizeof(iso) - (size_t)(n - 1), ".%03ldZ", now.tv_nsec / 1000000);
    put_str(l, iso, strlen(iso));
}

void log_vwrite(int level, const char *component, const char *fmt, va_list ap)
{
    log_line line;
    char text[LOG_LINE_MAX];
    size_t msg_len;

    if (level < atomic_load(&log_level))
        return;
    if (level > LOG_ERROR)
        level = LOG_ERROR;
    if (level < LOG_DEBUG)
        level = LOG_DEBUG;
    if (vsnprintf(text, sizeof(text), fmt, ap) < 0)
        text[0] = '\0';

    line.len = 0;
    put_wall_time(&line);
    put_str(&line, " level=", 7);
    put_str(&line, level_names[level], strlen(level_names[level]));
    put_str(&line, " component=", 11);
    component = component && *component ? component : "-";
    put_value(&line, component, strlen(component));
    put_str(&line, " msg=", 5);
    msg_len = message_length(text);
    put_value(&line, text, msg_len);
    put_fields(&line, text + msg_len);
    line.buf[line.len++] = '\n';
    line.buf[line.len] = '\0';
    fputs(line.buf, stderr);
}

void log_write(int level, const char *component, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vwrite(level, component, fmt, ap);
    va_end(ap);
}
