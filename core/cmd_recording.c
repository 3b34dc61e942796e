/*
 * cmd_recording.c -- a live session's market data recorded (cmd_recording.h).
 */
#include "cmd_recording.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "loop.h"

/* A killed session loses at most this much of its capture. */
#define RECORDING_FLUSH_NS INT64_C(1000000000)
#define RECORDING_BYTES_PER_MB (1024.0 * 1024.0)

struct cmd_recording {
    recorder *rec;
    live *lv;                /* stopped when a write fails; NULL before attach */
    uint32_t files_logged;
    int failed;
    char err[1024];          /* the first failure */
};

/* --rotate-mb: a positive number of MiB (fractions allowed). @return 0 or -1. */
static int recording_parse_mb(const char *s, int64_t *bytes)
{
    char *end;
    double mb = strtod(s, &end);

    if (end == s || *end || !(mb > 0) || mb > 1e9)
        return -1;
    *bytes = (int64_t)(mb * RECORDING_BYTES_PER_MB);
    return *bytes > 0 ? 0 : -1;
}

int cmd_recording_option(int c, const char *arg, recorder_options *ro, char *err,
                         size_t errlen)
{
    switch (c) {
    case CMD_RECORDING_OPT_ROTATE_MB:
        if (recording_parse_mb(arg, &ro->rotate_bytes) < 0) {
            snprintf(err, errlen, "--rotate-mb: want a positive number of MiB, got \"%s\"", arg);
            return -1;
        }
        return 1;
    case CMD_RECORDING_OPT_ROTATE_HOURLY:
        ro->rotate_hourly = 1;
        return 1;
    default:
        return 0;
    }
}

cmd_recording *cmd_recording_open(const char *path, const recorder_options *ro, char *err,
                                  size_t errlen)
{
    cmd_recording *r = calloc(1, sizeof *r);

    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (!(r->rec = recorder_open(path, ro, loop_now_ns(), err, errlen))) {
        free(r);
        return NULL;
    }
    r->files_logged = recorder_files(r->rec);
    log_write(LOG_INFO, "record", "recording to=%s", path);
    return r;
}

/* The first failure ends the session; later messages are not written. */
static void recording_fail(cmd_recording *r)
{
    log_write(LOG_ERROR, "record", "%s: stopping", r->err);
    r->failed = 1;
    if (r->lv)
        live_request_stop(r->lv);
}

static void recording_message(void *ud, int64_t recv_ns, const char *msg, size_t len)
{
    cmd_recording *r = ud;

    if (r->failed)
        return;
    if (recorder_write(r->rec, recv_ns, msg, len, r->err, sizeof r->err) < 0)
        recording_fail(r);
}

static void recording_flush(loop_timer *t, void *ud)
{
    cmd_recording *r = ud;

    (void)t;
    if (r->failed)
        return;
    if (recorder_flush(r->rec, r->err, sizeof r->err) < 0) {
        recording_fail(r);
        return;
    }
    if (recorder_files(r->rec) != r->files_logged) {
        r->files_logged = recorder_files(r->rec);
        log_write(LOG_INFO, "record", "file=%s", recorder_path(r->rec));
    }
}

void cmd_recording_hook(cmd_recording *r, live_options *lo)
{
    lo->record = recording_message;
    lo->record_ud = r;
}

int cmd_recording_attach(cmd_recording *r, live *lv, char *err, size_t errlen)
{
    r->lv = lv;
    if (!loop_timer_add(live_loop(lv), RECORDING_FLUSH_NS, RECORDING_FLUSH_NS, recording_flush,
                        r, err, errlen))
        return -1;
    if (r->failed) { /* a write failed before the timer was there to notice */
        snprintf(err, errlen, "%s", r->err);
        return -1;
    }
    return 0;
}

int cmd_recording_close(cmd_recording *r, char *err, size_t errlen)
{
    char why[1024];
    int rc = 0;

    if (!r)
        return 0;
    log_write(LOG_INFO, "record", "stopped messages=%llu files=%u last=%s",
              (unsigned long long)recorder_messages(r->rec), recorder_files(r->rec),
              recorder_path(r->rec));
    if (recorder_close(r->rec, why, sizeof why) < 0) {
        snprintf(err, errlen, "%s", why);
        rc = -1;
    }
    if (r->failed) { /* the first failure is the one worth reporting */
        snprintf(err, errlen, "%s", r->err);
        rc = -1;
    }
    free(r);
    return rc;
}
