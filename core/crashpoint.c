/*
 * crashpoint.c -- die at a named instant when a test asks (crashpoint.h).
 */
#include "crashpoint.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int crash_armed = -1; /* -1: environment not read yet */
static char crash_name[64];
static long crash_left;

static void crashpoint_read_env(void)
{
    const char *spec = getenv("LUTRA_CRASHPOINT");
    const char *colon = spec ? strrchr(spec, ':') : NULL;

    crash_armed = 0;
    if (!colon || (size_t)(colon - spec) >= sizeof crash_name)
        return;
    memcpy(crash_name, spec, (size_t)(colon - spec));
    crash_name[colon - spec] = '\0';
    crash_left = strtol(colon + 1, NULL, 10);
    crash_armed = crash_left > 0;
}

void crashpoint(const char *name)
{
    if (__builtin_expect(crash_armed == 0, 1))
        return;
    if (crash_armed < 0) {
        crashpoint_read_env();
        if (!crash_armed)
            return;
    }
    if (strcmp(name, crash_name) != 0 || --crash_left > 0)
        return;
    /* What a kill -9 does: no atexit, no flush, no cleanup. */
    (void)write(STDERR_FILENO, "crashpoint reached\n", 19);
    kill(getpid(), SIGKILL);
    _exit(137);
}
