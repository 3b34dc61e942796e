/*
 * cmd_ctl.c -- `lutra ctl`: ask a running `lutra run` through its control
 * socket (core/ctl.h) for its status or a reload, and print the answer
 * (docs/ctl.md is the manual).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "config.h"
#include "ctl.h"
#include "json.h"

#define CTL_DEFAULT_TIMEOUT_S 30
#define CTL_ANSWER_MAX (1 << 20)

typedef struct ctl_args {
    const char *config_path; /* --config */
    const char *socket_path; /* --socket */
    double timeout_s;
    char request[CTL_LINE_MAX + 1];
} ctl_args;

static void ctl_usage(FILE *out)
{
    fprintf(out,
            "usage: lutra ctl [--config FILE | --socket PATH] [--timeout SECONDS] COMMAND\n\n"
            "Ask a running `lutra run` through its control socket and print the answer,\n"
            "one JSON object.\n\n"
            "commands:\n"
            "  status               mode, venues (state, connector and its version),\n"
            "                       strategies (running, failed, ...), open orders\n"
            "  reload NAME          reload strategy NAME from its file\n"
            "  reload-plugin NAME   reload the connector of venue NAME from its .so\n"
            "  reload-config        re-read the configuration file\n\n"
            "options:\n"
            "  -c, --config FILE    the configuration lutra run was started with: the socket\n"
            "                       is its control_socket, else <state_dir>/" CTL_SOCKET_NAME "\n"
            "  -s, --socket PATH    the control socket itself\n"
            "  -t, --timeout SEC    wait at most this long for the answer (default %d)\n"
            "  -h, --help           this text\n\n"
            "Without --config or --socket: var/state/" CTL_SOCKET_NAME ".\n"
            "Exit status: 0 done, 1 refused (the error is also on stderr) or no answer,\n"
            "2 usage. See docs/ctl.md.\n",
            CTL_DEFAULT_TIMEOUT_S);
}

/* The command words, checked here too so that a typo is a usage error. */
static int ctl_build_request(int argc, char **argv, char *out, size_t cap)
{
    static const struct {
        const char *name;
        int takes_name;
    } commands[] = {{"status", 0}, {"reload", 1}, {"reload-plugin", 1}, {"reload-config", 0}};

    if (argc < 1) {
        cmd_error("ctl", "no command (status, reload NAME, reload-plugin NAME, reload-config)");
        return -1;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[0], commands[i].name) != 0)
            continue;
        if (argc != 1 + commands[i].takes_name) {
            cmd_error("ctl", "%s takes %s", argv[0],
                      commands[i].takes_name ? "one NAME" : "no argument");
            return -1;
        }
        if (commands[i].takes_name && (!argv[1][0] || strpbrk(argv[1], " \t\r\n"))) {
            cmd_error("ctl", "%s: NAME must be one word, got \"%s\"", argv[0], argv[1]);
            return -1;
        }
        if ((size_t)snprintf(out, cap, "%s%s%s", argv[0], argc > 1 ? " " : "",
                             argc > 1 ? argv[1] : "") >= cap) {
            cmd_error("ctl", "request longer than %d bytes", CTL_LINE_MAX);
            return -1;
        }
        return 0;
    }
    cmd_error("ctl", "no command '%s' (status, reload NAME, reload-plugin NAME, reload-config)",
              argv[0]);
    return -1;
}

/* @return -1 to go on, else the exit status (after --help or a usage error). */
static int ctl_parse_args(int argc, char **argv, ctl_args *a)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"socket", required_argument, NULL, 's'},
                                         {"timeout", required_argument, NULL, 't'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0, 0, 0, 0}};
    char *end;
    int c;

    memset(a, 0, sizeof *a);
    a->timeout_s = CTL_DEFAULT_TIMEOUT_S;
    optind = 1;
    /* "+": options come before the command; its NAME may start with '-'. */
    while ((c = getopt_long(argc, argv, "+c:s:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': a->config_path = optarg; break;
        case 's': a->socket_path = optarg; break;
        case 't':
            a->timeout_s = strtod(optarg, &end);
            if (end == optarg || *end || !(a->timeout_s > 0 && a->timeout_s <= 86400)) {
                cmd_error("ctl", "--timeout: want seconds in (0, 86400], got \"%s\"", optarg);
                return CMD_USAGE;
            }
            break;
        case 'h': ctl_usage(stdout); return CMD_OK;
        default: ctl_usage(stderr); return CMD_USAGE;
        }
    }
    if (a->config_path && a->socket_path) {
        cmd_error("ctl", "--config and --socket: give one");
        return CMD_USAGE;
    }
    if (ctl_build_request(argc - optind, argv + optind, a->request, sizeof a->request) < 0)
        return CMD_USAGE;
    return -1;
}

/* The socket: --socket, or the configuration's (--config, else defaults). */
static int ctl_resolve_socket(const ctl_args *a, char *out, size_t cap)
{
    config *c;
    char err[1024];
    int rc;

    if (a->socket_path) {
        snprintf(out, cap, "%s", a->socket_path);
        return 0;
    }
    if (!(c = malloc(sizeof *c))) {
        cmd_error("ctl", "out of memory");
        return -1;
    }
    rc = 0;
    if (a->config_path)
        rc = config_load(a->config_path, c, err, sizeof err);
    else
        config_defaults(c);
    if (rc == 0)
        rc = ctl_socket_path(c, out, cap, err, sizeof err);
    if (rc < 0)
        cmd_error("ctl", "%s", err);
    free(c);
    return rc;
}

/* The answer's "ok" (1 or 0), and its "error" into why. @return -1 when
 * the answer is not one of ours. */
static int ctl_answer_ok(const char *answer, char *why, size_t cap)
{
    json_parser *p = json_parser_new();
    json_value root, v;
    const char *s;
    size_t len;
    int ok = -1;

    why[0] = '\0';
    if (p && json_parse_copy(p, answer, strlen(answer), &root) == 0 &&
        json_field(&root, "ok", &v) == 0 && json_bool(&v, &ok) == 0 && !ok &&
        json_field(&root, "error", &v) == 0 && json_string(&v, &s, &len) == 0)
        snprintf(why, cap, "%.*s", (int)len, s);
    json_parser_free(p);
    return ok;
}

static int ctl_main(int argc, char **argv)
{
    char path[CTL_LINE_MAX], err[1024], why[CTL_LINE_MAX * 4];
    char *answer;
    ctl_args a;
    int rc, ok;

    if ((rc = ctl_parse_args(argc, argv, &a)) >= 0)
        return rc;
    if (ctl_resolve_socket(&a, path, sizeof path) < 0)
        return CMD_FAIL;
    if (!(answer = malloc(CTL_ANSWER_MAX))) {
        cmd_error("ctl", "out of memory");
        return CMD_FAIL;
    }
    if (ctl_request(path, a.request, (int64_t)(a.timeout_s * 1000), answer, CTL_ANSWER_MAX,
                    err, sizeof err) < 0) {
        cmd_error("ctl", "%s", err);
        free(answer);
        return CMD_FAIL;
    }
    printf("%s\n", answer);
    ok = ctl_answer_ok(answer, why, sizeof why);
    if (ok == 0)
        cmd_error("ctl", "%s", why);
    else if (ok < 0)
        cmd_error("ctl", "an answer that is not the control protocol's");
    free(answer);
    return ok == 1 ? CMD_OK : CMD_FAIL;
}

const cmd cmd_ctl = {"ctl", "ask a running lutra for its status or a reload (control socket)",
                     ctl_main, ctl_usage};
