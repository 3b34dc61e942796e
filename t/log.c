/*
 * Log lines: logfmt layout, level filtering, message quoting, fields.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "tap.h"

/* Run fn with stderr captured; the lines land in buf. */
static void capture(void (*fn)(void), char *buf, size_t cap)
{
    char path[] = "/tmp/lutra-log-XXXXXX";
    int fd = mkstemp(path), saved = dup(2);
    FILE *f;
    size_t n;

    fflush(stderr);
    dup2(fd, 2);
    fn();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    f = fdopen(fd, "r");
    rewind(f);
    n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
    unlink(path);
}

static void write_some(void)
{
    log_set_level(LOG_INFO);
    log_write(LOG_DEBUG, "import", "hidden line");
    log_write(LOG_INFO, "import", "file read rows=%d bad=%d", 12, 0);
    log_write(LOG_ERROR, "binance", "gap");
    log_write(LOG_WARN, "x", "say \"hi\"");
}

int main(void)
{
    char out[4096], *l1, *l2, *l3;

    plan(11);
    capture(write_some, out, sizeof out);
    l1 = out;
    l2 = strchr(l1, '\n');
    ok(l2 != NULL, "lines end in newlines");
    *l2++ = '\0';
    l3 = strchr(l2, '\n');
    *l3++ = '\0';
    l3[strcspn(l3, "\n")] = '\0';
    ok(strstr(out, "hidden") == NULL, "a debug line is dropped at level info");
    ok(strlen(l1) > 25 && l1[4] == '-' && l1[10] == 'T' && strstr(l1, "Z level=info "),
       "a line starts with the UTC time and the level: %s", l1);
    ok(strstr(l1, " component=import ") != NULL, "the component is a field");
    ok(strstr(l1, " msg=\"file read\" rows=12 bad=0") != NULL,
       "the message is quoted, fields follow as given");
    ok(strstr(l2, "level=error component=binance msg=gap") != NULL,
       "a one-word message is not quoted: %s", l2);
    ok(strstr(l3, "level=warn") && strstr(l3, "msg=\"say \\\"hi\\\"\""),
       "quotes inside a message are escaped: %s", l3);
    is_int(log_level_parse("warn"), LOG_WARN, "level names parse");
    is_int(log_level_parse("loud"), -1, "unknown level names do not");
    log_set_level(LOG_ERROR);
    is_int(log_get_level(), LOG_ERROR, "the level can be set");
    log_set_level(42);
    is_int(log_get_level(), LOG_ERROR, "an out-of-range level is ignored");
    return done();
}
