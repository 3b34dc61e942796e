/*
 * lutra.c -- the lutra command: subcommand dispatch.
 *
 * The one place that knows every mode; the engine itself knows none.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"

#ifndef LUTRA_VERSION
#define LUTRA_VERSION "dev"
#endif

const cmd *const cmd_table[] = {&cmd_backtest, &cmd_ctl, &cmd_import, &cmd_inspect,
                                  &cmd_record, &cmd_run, &cmd_state, NULL};

void cmd_error(const char *name, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "lutra %s: ", name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void cmd_lib_path(char *out, size_t cap)
{
    const char *env = getenv("LUTRA_LIB_PATH");
    char exe[PATH_MAX - 32];
    struct stat st;
    ssize_t n;

    if (env && *env) {
        snprintf(out, cap, "%s", env);
        return;
    }
    n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        *strrchr(exe, '/') = '\0';
        snprintf(out, cap, "%s/../scripts/lib", exe);
        if (stat(out, &st) == 0)
            return;
    }
#ifdef LUTRA_SOURCE_DIR
    snprintf(out, cap, "%s/scripts/lib", LUTRA_SOURCE_DIR);
#else
    snprintf(out, cap, "scripts/lib");
#endif
}

static void lutra_usage(FILE *out)
{
    fprintf(out, "usage: lutra COMMAND [ARGS...]\n"
                 "       lutra help COMMAND | lutra COMMAND --help | lutra --version\n\n"
                 "lutra is a trading strategy host: market data, order books, Lua strategies.\n\n"
                 "commands:\n");
    for (const cmd *const *c = cmd_table; *c; c++)
        fprintf(out, "  %-10s %s\n", (*c)->name, (*c)->summary);
    fprintf(out, "\nThe manual is in docs/ (start with docs/getting-started.md).\n");
}

static const cmd *lutra_find(const char *name)
{
    for (const cmd *const *c = cmd_table; *c; c++)
        if (strcmp((*c)->name, name) == 0)
            return *c;
    return NULL;
}

int main(int argc, char **argv)
{
    const cmd *c;

    if (argc < 2) {
        lutra_usage(stderr);
        return CMD_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        lutra_usage(stdout);
        return CMD_OK;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("lutra %s\n", LUTRA_VERSION);
        return CMD_OK;
    }
    if (!strcmp(argv[1], "help")) {
        if (argc < 3) {
            lutra_usage(stdout);
            return CMD_OK;
        }
        if (!(c = lutra_find(argv[2]))) {
            fprintf(stderr, "lutra: no command '%s' (see lutra --help)\n", argv[2]);
            return CMD_USAGE;
        }
        c->usage(stdout);
        return CMD_OK;
    }
    if (!(c = lutra_find(argv[1]))) {
        fprintf(stderr, "lutra: no command '%s' (see lutra --help)\n", argv[1]);
        return CMD_USAGE;
    }
    return c->main(argc - 1, argv + 1);
}
