/*
 * cmd_import.c -- `lutra import`: other formats into a native event file.
 *
 * Only the command line lives here; data/import.c does the work.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "import.h"

static void import_usage(FILE *out)
{
    fprintf(out,
            "usage: lutra import [--format F] [--symbol S] [--venue V] [--tick T] [--lot L]\n"
            "                    [--skip-bad] [--quiet] INPUT... -o OUTPUT\n\n"
            "Turn market data files (plain or .gz) into one native event file, merged in\n"
            "receive-time order. The format is detected from each file's first lines\n"
            "unless --format says it.\n\n"
            "options:\n"
            "  -f, --format F   input format (see the list below)\n"
            "  -s, --symbol S   symbol when the data does not name it (BASE/QUOTE to give\n"
            "                   the assets, e.g. BTC/USDT)\n"
            "      --venue V    venue name to record instead of the format's own\n"
            "      --tick T     price increment (e.g. 0.01) instead of the finest the data uses\n"
            "      --lot L      size increment (e.g. 0.00001) likewise\n"
            "      --skip-bad   skip and count bad rows instead of stopping at the first\n"
            "  -q, --quiet      no progress or summary on stderr\n"
            "  -o, --output F   the event file to write (.lev)\n"
            "  -h, --help       this text\n\n"
            "formats:\n");
    for (const importer *const *f = import_formats; *f; f++)
        fprintf(out, "  %-18s %s\n", (*f)->name, (*f)->description);
    fprintf(out, "\nSee docs/import.md.\n");
}

static int import_format_known(const char *name)
{
    for (const importer *const *f = import_formats; *f; f++)
        if (strcmp((*f)->name, name) == 0)
            return 1;
    return 0;
}

static int import_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"format", required_argument, NULL, 'f'}, {"symbol", required_argument, NULL, 's'},
        {"venue", required_argument, NULL, 'V'},  {"tick", required_argument, NULL, 't'},
        {"lot", required_argument, NULL, 'l'},    {"skip-bad", no_argument, NULL, 'k'},
        {"quiet", no_argument, NULL, 'q'},        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    import_options opt = {0};
    import_report rep = {0};
    const char *output = NULL;
    char err[1024];
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "f:s:o:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': opt.format = optarg; break;
        case 's': opt.symbol = optarg; break;
        case 'V': opt.venue = optarg; break;
        case 't': opt.tick = optarg; break;
        case 'l': opt.lot = optarg; break;
        case 'k': opt.skip_bad = 1; break;
        case 'q': opt.quiet = 1; break;
        case 'o': output = optarg; break;
        case 'h': import_usage(stdout); return CMD_OK;
        default: fprintf(stderr, "(see lutra import --help)\n"); return CMD_USAGE;
        }
    }
    if (optind >= argc) {
        cmd_error("import", "no input file (see lutra import --help)");
        return CMD_USAGE;
    }
    if (!output) {
        cmd_error("import", "no output file: give -o OUTPUT");
        return CMD_USAGE;
    }
    if (opt.format && !import_format_known(opt.format)) {
        cmd_error("import", "unknown format '%s' (see lutra import --help)", opt.format);
        return CMD_USAGE;
    }
    if (import_run(&opt, (const char *const *)argv + optind, (size_t)(argc - optind), output,
                   &rep, err, sizeof err) != 0) {
        cmd_error("import", "%s", err);
        return CMD_FAIL;
    }
    if (!opt.quiet)
        fprintf(stderr,
                "lutra import: %llu rows -> %llu events in %s (%llu bad rows skipped, "
                "%llu sequence gaps)\n",
                (unsigned long long)rep.rows, (unsigned long long)rep.events, output,
                (unsigned long long)rep.bad_rows, (unsigned long long)rep.gaps);
    return CMD_OK;
}

const cmd cmd_import = {"import", "turn CSV files and raw captures into a native event file",
                        import_main, import_usage};
