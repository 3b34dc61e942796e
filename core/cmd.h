/*
 * cmd.h -- the lutra command's subcommands.
 *
 * core/lutra.c dispatches `lutra NAME ARGS...` to NAME's main. Each takes
 * argv with argv[0] = the subcommand's name and returns the process exit
 * status: 0 success, 1 failure (bad data, I/O), 2 usage error.
 */
#ifndef LUTRA_CMD_H
#define LUTRA_CMD_H

#include <stdio.h>

enum cmd_status { CMD_OK = 0, CMD_FAIL = 1, CMD_USAGE = 2 };

typedef struct cmd {
    const char *name;
    const char *summary; /* one line for `lutra --help` */
    int (*main)(int argc, char **argv);
    void (*usage)(FILE *out);
} cmd;

/* Every subcommand, NULL-terminated. */
extern const cmd *const cmd_table[];

extern const cmd cmd_backtest;
extern const cmd cmd_ctl;
extern const cmd cmd_import;
extern const cmd cmd_inspect;
extern const cmd cmd_record;
extern const cmd cmd_run;
extern const cmd cmd_state;

/* The Lua library folder (scripts/lib) strategies require from:
 * $LUTRA_LIB_PATH, else ../scripts/lib beside the binary, else the source
 * tree's. */
void cmd_lib_path(char *out, size_t cap);

/* Print "lutra NAME: message" on stderr (the common error line). */
void cmd_error(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
