/*
 * report.c -- the backtest report (backtest/report.h) against answers worked
 * out by hand: a day-by-day run on one instrument with a winning round trip,
 * a losing one closed by a fill that crosses zero, a short, a position left
 * open and fees; every report.json field; trades.csv and fills.csv to the
 * byte; the null rules; equity.csv thinning and its bound; fills_sha256;
 * determinism; and a self-contained, well-formed report.html.
 */
#include <ftw.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "fixed.h"
#include "instrument.h"
#include "json.h"
#include "money.h"
#include "report.h"
#include "tap.h"
#include "timestamp.h"

static instrument_registry *reg;
static uint32_t btc;
static json_parser *jp;
static char tmpdir[] = "/tmp/lutra-report-XXXXXX";

/* ---- input helpers ---- */

static int64_t T(const char *iso)
{
    int64_t ns = 0;
    if (ts_parse_iso(iso, strlen(iso), &ns) < 0)
        bail_out("bad time %s", iso);
    return ns;
}

static int64_t dec(const char *s, int scale)
{
    int64_t v = 0;
    if (fixed_parse(s, strlen(s), scale, &v) != FIXED_OK)
        bail_out("bad decimal %s", s);
    return v;
}

static int64_t M(const char *s)
{
    return dec(s, MONEY_SCALE);
}

/* One fill of BTCUSDT (price scale 2, size scale 5) and the position after
 * it, as the OMS would give them: qty and realized PnL worked out by hand. */
static int order_seq;

static void fill(report *r, const char *when, order_side side, const char *price,
                 const char *qty, const char *fee, order_liquidity liq, const char *tag,
                 const char *pos_after, const char *realized_after)
{
    order o;
    oms_change c;
    oms_position pos;

    memset(&o, 0, sizeof o);
    memset(&c, 0, sizeof c);
    memset(&pos, 0, sizeof pos);
    snprintf(o.id, sizeof o.id, "lt%d", ++order_seq);
    o.req.instrument = btc;
    o.req.side = side;
    snprintf(o.req.tag, sizeof o.req.tag, "%s", tag);
    snprintf(o.fee_asset, sizeof o.fee_asset, "USDT");
    c.order = &o;
    c.filled = 1;
    c.fill_price = dec(price, 2);
    c.fill_qty = dec(qty, 5);
    c.fill_fee = M(fee);
    c.fill_liquidity = liq;
    pos.qty = dec(pos_after, 5);
    pos.realized_pnl = M(realized_after);
    if (report_on_fill(r, &o, &c, &pos, T(when)) != 0)
        bail_out("report_on_fill failed at %s", when);
}

static void equity(report *r, const char *when, const char *eq)
{
    if (report_on_equity(r, T(when), M(eq)) != 0)
        bail_out("report_on_equity failed at %s", when);
}

static report *new_report(void)
{
    report_meta meta = {.strategy = "sma \"cross\"",
                        .params_json = "{\"fast\":10,\"symbol\":\"BTCUSDT\"}",
                        .bar_mode = 0,
                        .periods_per_year = 0,
                        .equity_asset = "USDT",
                        .models_json = "{\"queue\":\"conservative\"}",
                        .models_text = "queue=conservative"};
    report *r = report_new(&meta, reg);
    if (!r)
        bail_out("report_new failed");
    return r;
}

/*
 * Day 1: long 0.5 @ 40000 + 0.5 @ 41000 (avg 40500), sold 1 @ 42000:
 *   realized 1500, fees 2 + 2.05 + 4.2 = 8.25, pnl 1491.75 (a win).
 * Day 2: long 0.2 @ 43000, then sell 0.5 @ 42500 crosses zero: closes the
 *   0.2 (realized -100, fees 0.86 + 2.125 x 0.2/0.5 = 1.71, pnl -101.71: a
 *   loss) and opens a 0.3 short at 42500 with the fee's other 1.275.
 * Day 3: buy 0.3 @ 42000 covers: realized +150, fees 1.275 + 1.26 = 2.535,
 *   pnl 147.465 (a win); buy 0.1 @ 42100 stays open (not a trade).
 */
static report *run_main(double wall_seconds)
{
    report *r = new_report();
    report_totals t = {0};

    order_seq = 0;
    equity(r, "2024-01-01T00:00:00Z", "10000");
    fill(r, "2024-01-01T01:00:00Z", ORDER_BUY, "40000", "0.5", "2", ORDER_MAKER, "a", "0.5", "0");
    equity(r, "2024-01-01T01:00:00Z", "9998");
    equity(r, "2024-01-01T01:30:00Z", "10100");
    equity(r, "2024-01-01T01:30:30Z", "10120");
    fill(r, "2024-01-01T02:00:00Z", ORDER_BUY, "41000", "0.5", "2.05", ORDER_TAKER, "grid,1",
         "1", "0");
    equity(r, "2024-01-01T02:00:00Z", "10150");
    fill(r, "2024-01-01T03:00:00Z", ORDER_SELL, "42000", "1", "4.2", ORDER_TAKER, "", "0", "1500");
    equity(r, "2024-01-01T03:00:00Z", "11491.75");
    equity(r, "2024-01-01T23:00:00Z", "11491.75");
    fill(r, "2024-01-02T01:00:00Z", ORDER_BUY, "43000", "0.2", "0.86", ORDER_MAKER, "", "0.2",
         "1500");
    equity(r, "2024-01-02T01:00:00Z", "11490.89");
    fill(r, "2024-01-02T02:00:00Z", ORDER_SELL, "42500", "0.5", "2.125", ORDER_TAKER, "", "-0.3",
         "1400");
    equity(r, "2024-01-02T02:00:00Z", "11390.04");
    equity(r, "2024-01-02T12:00:00Z", "11000");
    equity(r, "2024-01-02T23:59:00Z", "11200");
    fill(r, "2024-01-03T01:00:00.000000001Z", ORDER_BUY, "42000", "0.3", "1.26", ORDER_MAKER, "",
         "0", "1550");
    equity(r, "2024-01-03T01:00:00.000000001Z", "11537.505");
    fill(r, "2024-01-03T02:00:00Z", ORDER_BUY, "42100", "0.1", "0.421", ORDER_MAKER, "", "0.1",
         "1550");
    equity(r, "2024-01-03T02:00:00Z", "11537.084");
    equity(r, "2024-01-03T03:00:00Z", "11600");

    t.events = 1000;
    t.start = T("2024-01-01T00:00:00Z");
    t.end = T("2024-01-03T03:00:00Z");
    t.initial_equity = M("10000");
    t.final_equity = M("11600");
    t.orders = 9;
    t.rejected = 1;
    t.fills = 7;
    t.fees = M("12.916");
    t.wall_seconds = wall_seconds;
    report_finish(r, &t);
    return r;
}

/* ---- output helpers ---- */

static char *slurp(const char *dir, const char *name, size_t *len_out)
{
    char path[4200];
    FILE *f;
    char *buf;
    long len;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)len + 1);
    if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len)
        bail_out("cannot read %s", path);
    buf[len] = '\0';
    fclose(f);
    if (len_out)
        *len_out = (size_t)len;
    return buf;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void subdir(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", tmpdir, name);
}

static void write_report(report *r, const char *dir)
{
    char err[512] = "";
    if (report_write(r, dir, err, sizeof err) != 0)
        bail_out("report_write %s: %s", dir, err);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* ---- report.json ---- */

static int field_money(json_value *root, const char *key, int64_t *out)
{
    json_value v;
    const char *s;
    size_t len;
    return json_field(root, key, &v) == 0 && json_number_text(&v, &s, &len) == 0 &&
                   fixed_parse(s, len, MONEY_SCALE, out) == FIXED_OK
               ? 0
               : -1;
}

static void is_money(json_value *root, const char *key, const char *want)
{
    int64_t got = INT64_MIN;
    int found = field_money(root, key, &got) == 0;
    ok(found && got == M(want), "json %s = %s (got %.8f)", key, want, money_to_double(got));
}

static void is_double(json_value *root, const char *key, double want, double tol)
{
    json_value v;
    double got = NAN;
    int found = json_field(root, key, &v) == 0 && json_double(&v, &got) == 0;
    ok(found && fabs(got - want) <= tol, "json %s = %.10g (got %.10g)", key, want, got);
}

static void is_uint(json_value *root, const char *key, uint64_t want)
{
    json_value v;
    uint64_t got = UINT64_MAX;
    int found = json_field(root, key, &v) == 0 && json_uint64(&v, &got) == 0;
    ok(found && got == want, "json %s = %llu (got %llu)", key, (unsigned long long)want,
       (unsigned long long)got);
}

static void is_null(json_value *root, const char *key)
{
    json_value v;
    ok(json_field(root, key, &v) == 0 && json_is_null(&v) == 1, "json %s is null", key);
}

static void is_jstr(json_value *root, const char *key, const char *want)
{
    json_value v;
    const char *s = NULL;
    size_t len = 0;
    char got[512] = "";
    if (json_field(root, key, &v) == 0 && json_string(&v, &s, &len) == 0 && len < sizeof got)
        memcpy(got, s, len);
    is_str(got, want, "json %s", key);
}

static int parse_json_file(const char *dir, char **text, json_value *root)
{
    size_t len = 0;
    *text = slurp(dir, "report.json", &len);
    return *text && json_parse_copy(jp, *text, len, root) == 0 ? 0 : -1;
}

static void sha256_hex(const char *data, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0, i;
    out[0] = '\0';
    if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1)
        return;
    for (i = 0; i < mdlen && i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void test_main_json(const char *dir)
{
    json_value root, v, w;
    char *text, sha[65];
    size_t flen = 0;
    char *fills = slurp(dir, "fills.csv", &flen);
    int64_t n = 0;
    int b = 1;

    ok(fills != NULL, "fills.csv written");
    sha256_hex(fills ? fills : "", flen, sha);
    ok(parse_json_file(dir, &text, &root) == 0, "report.json parses: %s", json_last_error());
    is_jstr(&root, "strategy", "sma \"cross\"");
    ok(json_field(&root, "params", &v) == 0 && json_field(&v, "fast", &w) == 0 &&
           json_int64(&w, &n) == 0 && n == 10,
       "json params is the object given (fast = 10)");
    is_jstr(&root, "mode", "tick");
    is_uint(&root, "events", 1000);
    is_jstr(&root, "start", "2024-01-01T00:00:00Z");
    is_jstr(&root, "end", "2024-01-03T03:00:00Z");
    is_jstr(&root, "equity_asset", "USDT");
    is_money(&root, "initial_equity", "10000");
    is_money(&root, "final_equity", "11600");
    is_money(&root, "pnl", "1600");
    is_double(&root, "return_pct", 16.0, 1e-9);
    /* peak 11491.75 (day 1) to trough 11000 (day 2) */
    is_double(&root, "max_drawdown_pct", 491.75 / 11491.75 * 100, 1e-8);
    /* daily returns 0.149175, 11200/11491.75 - 1, 11600/11200 - 1:
     * mean 0.0531671692, sample sd 0.0885804337, downside 0.0146576 */
    is_double(&root, "sharpe", 11.46706217, 1e-6);
    is_double(&root, "sortino", 69.29882991, 1e-6);
    is_jstr(&root, "sharpe_basis", "daily returns of equity, annualised by sqrt(N)");
    is_uint(&root, "trades", 3);
    is_double(&root, "win_rate", 200.0 / 3, 1e-9);
    is_double(&root, "profit_factor", (1491.75 + 147.465) / 101.71, 1e-9);
    is_money(&root, "fees", "12.916");
    is_uint(&root, "orders", 9);
    is_uint(&root, "rejected", 1);
    is_uint(&root, "fills", 7);
    is_double(&root, "wall_seconds", 0.5, 1e-12);
    is_double(&root, "events_per_sec", 2000, 1e-9);
    is_jstr(&root, "fills_sha256", sha);
    ok(json_field(&root, "models", &v) == 0 && json_field(&v, "queue", &w) == 0,
       "json models is the object given");
    ok(json_field(&root, "own_fills_change_book", &v) == 0 && json_bool(&v, &b) == 0 && b == 0,
       "json own_fills_change_book is false");
    is_null(&root, "error");
    free(text);
    free(fills);
}

/* ---- CSV files ---- */

static void test_main_csv(report *r, const char *dir)
{
    char *trades = slurp(dir, "trades.csv", NULL);
    char *fills;
    char *eq = slurp(dir, "equity.csv", NULL);
    char sha[65];
    size_t flen = 0;
    const char *first_rows = "time,equity,drawdown_pct\n"
                             "2024-01-01T00:00:00Z,10000,0.000000\n"
                             "2024-01-01T01:00:00Z,9998,0.020000\n"
                             "2024-01-01T01:30:30Z,10120,0.000000\n";

    is_str(trades,
           "symbol,side,entry_time,exit_time,qty,entry_avg_price,exit_avg_price,pnl,fees,"
           "return_pct\n"
           "BTCUSDT,long,2024-01-01T01:00:00Z,2024-01-01T03:00:00Z,1,40500,42000,1491.75,8.25,"
           "3.683333\n"
           "BTCUSDT,long,2024-01-02T01:00:00Z,2024-01-02T02:00:00Z,0.2,43000,42500,-101.71,1.71,"
           "-1.182674\n"
           "BTCUSDT,short,2024-01-02T02:00:00Z,2024-01-03T01:00:00.000000001Z,0.3,42500,42000,"
           "147.465,2.535,1.156588\n",
           "trades.csv: two wins, a loss closed by a crossing, the open position left out");

    fills = slurp(dir, "fills.csv", &flen);
    is_str(fills,
           "time,order_id,symbol,side,price,qty,fee,fee_asset,liquidity,tag\n"
           "2024-01-01T01:00:00Z,lt1,BTCUSDT,buy,40000,0.5,2,USDT,maker,a\n"
           "2024-01-01T02:00:00Z,lt2,BTCUSDT,buy,41000,0.5,2.05,USDT,taker,\"grid,1\"\n"
           "2024-01-01T03:00:00Z,lt3,BTCUSDT,sell,42000,1,4.2,USDT,taker,\n"
           "2024-01-02T01:00:00Z,lt4,BTCUSDT,buy,43000,0.2,0.86,USDT,maker,\n"
           "2024-01-02T02:00:00Z,lt5,BTCUSDT,sell,42500,0.5,2.125,USDT,taker,\n"
           "2024-01-03T01:00:00.000000001Z,lt6,BTCUSDT,buy,42000,0.3,1.26,USDT,maker,\n"
           "2024-01-03T02:00:00Z,lt7,BTCUSDT,buy,42100,0.1,0.421,USDT,maker,\n",
           "fills.csv: every fill, exact decimals, a quoted tag");
    sha256_hex(fills ? fills : "", flen, sha);
    is_str(report_fills_sha256(r), sha, "report_fills_sha256 is the SHA-256 of fills.csv");

    /* 14 samples: 01:30:00 is replaced by 01:30:30 (same minute, no fill). */
    is_int(count_lines(eq), 1 + 13, "equity.csv: header and 13 rows");
    ok(eq && strncmp(eq, first_rows, strlen(first_rows)) == 0,
       "equity.csv: first rows, the later sample of a minute kept");
    ok(eq && strstr(eq, "\n2024-01-02T12:00:00Z,11000,4.279157\n") != NULL,
       "equity.csv: the trough with its drawdown");
    ok(eq && strstr(eq, "01:30:00Z") == NULL, "equity.csv: the replaced sample is gone");
    free(trades);
    free(fills);
    free(eq);
}

/* ---- report.html ---- */

/* Tags balance (void elements are written self-closed), no '<' inside a
 * tag, every '&' starts an entity. @return 0, or -1 with why set. */
static int html_well_formed(const char *s, char *why, size_t cap)
{
    char stack[64][32];
    int depth = 0;
    const char *p = s, *end, *q;

    for (q = s; (q = strchr(q, '&')); q++) {
        size_t k = 1;
        while (q[k] == '#' || (q[k] >= 'a' && q[k] <= 'z') || (q[k] >= '0' && q[k] <= '9'))
            k++;
        if (k == 1 || q[k] != ';') {
            snprintf(why, cap, "bare '&' at offset %ld", (long)(q - s));
            return -1;
        }
    }
    while ((p = strchr(p, '<'))) {
        char name[32];
        size_t n = 0;
        int closing = p[1] == '/';
        end = strchr(p, '>');
        if (!end || memchr(p + 1, '<', (size_t)(end - p - 1))) {
            snprintf(why, cap, "unterminated tag at offset %ld", (long)(p - s));
            return -1;
        }
        if (strncmp(p, "<!DOCTYPE", 9) == 0) {
            p = end + 1;
            continue;
        }
        for (q = p + 1 + closing; n + 1 < sizeof name && ((*q >= 'a' && *q <= 'z') ||
                                                          (*q >= '0' && *q <= '9'));
             q++)
            name[n++] = *q;
        name[n] = '\0';
        if (closing) {
            if (depth == 0 || strcmp(stack[depth - 1], name) != 0) {
                snprintf(why, cap, "</%s> closes <%s>", name, depth ? stack[depth - 1] : "");
                return -1;
            }
            depth--;
        } else if (end[-1] != '/') {
            if (depth == 64)
                return snprintf(why, cap, "too deep"), -1;
            snprintf(stack[depth++], sizeof stack[0], "%s", name);
        }
        p = end + 1;
    }
    if (depth != 0) {
        snprintf(why, cap, "<%s> never closed", stack[depth - 1]);
        return -1;
    }
    return 0;
}

static size_t polyline_points(const char *html)
{
    const char *p = strstr(html, "<polyline"), *end;
    size_t n = 0;
    if (!p || !(p = strstr(p, "points=\"")))
        return 0;
    p += 8;
    end = strchr(p, '"');
    for (; p < end; p++)
        n += *p == ',';
    return n;
}

static void check_html(const char *dir, const char *what)
{
    char *html = slurp(dir, "report.html", NULL);
    char why[200] = "";

    ok(html != NULL, "%s: report.html written", what);
    if (!html)
        html = strdup("");
    ok(!strstr(html, "http://") && !strstr(html, "https://") && !strstr(html, "src=") &&
           !strstr(html, "@import") && !strstr(html, "url("),
       "%s: report.html loads nothing from outside", what);
    ok(strstr(html, "<svg") != NULL && strstr(html, "<polyline") != NULL,
       "%s: report.html has an inline SVG curve", what);
    ok(html_well_formed(html, why, sizeof why) == 0, "%s: report.html is well-formed %s", what,
       why);
    ok(polyline_points(html) <= 2000, "%s: at most 2000 points per curve (%zu)", what,
       polyline_points(html));
    free(html);
}

/* ---- the printed summary ---- */

static char *summary_text(const report *r)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem)
        bail_out("open_memstream failed");
    report_print_summary(r, mem);
    fclose(mem);
    return text;
}

static void test_summary(const report *r)
{
    char *text = summary_text(r), *line, *save = NULL;

    ok(strstr(text, "2024-01-01T00:00:00Z .. 2024-01-03T03:00:00Z") &&
           strstr(text, "10000 -> 11600 USDT") && strstr(text, "16.00 %") &&
           strstr(text, "4.28 %") && strstr(text, "11.47 / 69.30") &&
           strstr(text, "3 (win rate 66.67 %, profit factor 16.12)") &&
           strstr(text, "12.916 USDT") && strstr(text, "9 sent, 1 rejected, 7 fills") &&
           strstr(text, "queue=conservative") && strstr(text, "2000 events/s"),
       "summary: period, equity, return, drawdown, ratios, trades, fees, orders, models, speed");
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        diag("%s", line);
    free(text);
}

/* ---- the tests ---- */

static void test_main(void)
{
    char a[4200], b[4200];
    const char *names[] = {"fills.csv", "trades.csv", "equity.csv", "report.html"};
    report *r1 = run_main(0.5), *r2 = run_main(1.25);
    char *ja, *jb, *p;
    size_t i;

    subdir(a, sizeof a, "a/nested");
    subdir(b, sizeof b, "b");
    write_report(r1, a);
    write_report(r2, b);
    test_main_json(a);
    test_main_csv(r1, a);
    check_html(a, "main run");

    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        char *x = slurp(a, names[i], NULL), *y = slurp(b, names[i], NULL);
        ok(x && y && strcmp(x, y) == 0, "deterministic: %s byte-identical across runs",
           names[i]);
        free(x);
        free(y);
    }
    /* report.json: the same but for the two speed lines */
    ja = slurp(a, "report.json", NULL);
    jb = slurp(b, "report.json", NULL);
    for (char **j = (char *[]){ja, jb, NULL}; *j; j++)
        while ((p = strstr(*j, "\"wall_seconds\"")) || (p = strstr(*j, "\"events_per_sec\"")))
            memmove(p, strchr(p, '\n') + 1, strlen(strchr(p, '\n') + 1) + 1);
    ok(ja && jb && strcmp(ja, jb) == 0,
       "deterministic: report.json identical but for wall_seconds and events_per_sec");
    free(ja);
    free(jb);

    test_summary(r1);
    report_free(r1);
    report_free(r2);
}

/* One day, one winning trip without fees, and a strategy error with
 * characters that need escaping: sharpe/sortino/profit_factor null. */
static void test_null_rules(void)
{
    char dir[4200], *text, *html;
    report *r = new_report();
    report_totals t = {0};
    json_value root;
    char *sum;

    equity(r, "2024-02-01T00:00:00Z", "1000");
    fill(r, "2024-02-01T01:00:00Z", ORDER_BUY, "100", "1", "0", ORDER_TAKER, "", "1", "0");
    equity(r, "2024-02-01T01:00:00Z", "1000");
    fill(r, "2024-02-01T02:00:00Z", ORDER_SELL, "110", "1", "0", ORDER_TAKER, "", "0", "10");
    equity(r, "2024-02-01T02:00:00Z", "1010");
    t.events = 3;
    t.start = T("2024-02-01T00:00:00Z");
    t.end = T("2024-02-01T02:00:00Z");
    t.initial_equity = M("1000");
    t.final_equity = M("1010");
    t.fills = 2;
    t.error = "boom: \"x\" <tag> & \x01 \xff\nstack traceback:";
    report_finish(r, &t);
    subdir(dir, sizeof dir, "nulls");
    write_report(r, dir);

    ok(parse_json_file(dir, &text, &root) == 0, "nulls: report.json parses (escapes, bad UTF-8)");
    is_null(&root, "sharpe");
    is_null(&root, "sortino");
    is_uint(&root, "trades", 1);
    is_double(&root, "win_rate", 100, 1e-12);
    is_null(&root, "profit_factor");
    is_null(&root, "events_per_sec");
    is_jstr(&root, "error", "boom: \"x\" <tag> & \x01 \xEF\xBF\xBD\nstack traceback:");
    free(text);

    html = slurp(dir, "report.html", NULL);
    ok(html && strstr(html, "&lt;tag&gt; &amp;") != NULL, "nulls: the error is escaped in HTML");
    free(html);
    check_html(dir, "nulls");

    sum = summary_text(r);
    ok(strstr(sum, "n/a / n/a") && strstr(sum, "profit factor n/a") &&
           strstr(sum, "win rate 100.00 %"),
       "summary prints n/a for the nulls");
    free(sum);
    report_free(r);
}

/* Nothing happened: no events, no trade, no equity samples but the totals. */
static void test_empty(void)
{
    char dir[4200], *text, *trades;
    report *r = new_report();
    report_totals t = {0};
    json_value root;

    t.initial_equity = t.final_equity = M("500");
    report_finish(r, &t);
    subdir(dir, sizeof dir, "empty");
    write_report(r, dir);
    ok(parse_json_file(dir, &text, &root) == 0, "empty: report.json parses");
    is_null(&root, "start");
    is_uint(&root, "trades", 0);
    is_null(&root, "win_rate");
    is_null(&root, "profit_factor");
    is_money(&root, "pnl", "0");
    is_double(&root, "max_drawdown_pct", 0, 0);
    free(text);
    trades = slurp(dir, "trades.csv", NULL);
    is_str(trades,
           "symbol,side,entry_time,exit_time,qty,entry_avg_price,exit_avg_price,pnl,fees,"
           "return_pct\n",
           "empty: trades.csv is the header alone");
    free(trades);
    check_html(dir, "empty");
    report_free(r);
}

/* One sample a second for three hours, a fill at 00:30:30.5: the last
 * sample of each minute (180), the first, and the one after the fill with
 * the minute's sample before it (2 more) = 183 rows. */
static void test_thinning(void)
{
    char dir[4200], *eq;
    report *r = new_report();
    report_totals t = {0};
    int64_t t0 = T("2024-03-01T00:00:00Z"), s;

    for (s = 0; s < 3 * 3600; s++) {
        report_on_equity(r, t0 + s * TS_NS_PER_SEC, M("1000") + s);
        if (s == 1830) {
            fill(r, "2024-03-01T00:30:30.5Z", ORDER_BUY, "100", "0.1", "0", ORDER_MAKER, "",
                 "0.1", "0");
            equity(r, "2024-03-01T00:30:30.5Z", "2830");
        }
    }
    t.events = 10800;
    t.start = t0;
    t.end = t0 + (3 * 3600 - 1) * TS_NS_PER_SEC;
    t.initial_equity = M("1000");
    t.final_equity = M("1000") + 3 * 3600 - 1;
    report_finish(r, &t);
    subdir(dir, sizeof dir, "thin");
    write_report(r, dir);
    eq = slurp(dir, "equity.csv", NULL);
    is_int(eq ? count_lines(eq) - 1 : 0, 183, "thinning: one row a minute plus fills and first");
    ok(eq && strstr(eq, "\n2024-03-01T00:30:30.500Z,2830,") != NULL,
       "thinning: the sample after the fill is kept");
    ok(eq && strstr(eq, "\n2024-03-01T00:59:59Z,") && !strstr(eq, "\n2024-03-01T00:59:58Z,"),
       "thinning: the last sample of a minute is kept, the others not");
    ok(eq && strstr(eq, "\n2024-03-01T02:59:59Z,") != NULL, "thinning: the last sample is kept");
    free(eq);
    report_free(r);
}

/* 250,000 samples a minute apart: equity.csv stays within 100,000 rows,
 * in time order, first and last kept; the drawdown is exact (from every
 * sample, not the kept ones): peak 1999, trough 1000. */
static void test_bound(void)
{
    char dir[4200], *eq, *text, *line, *next;
    report *r = new_report();
    report_totals t = {0};
    int64_t t0 = T("2024-01-01T00:00:00Z"), i, n = 250000, prev = INT64_MIN, ts;
    size_t rows = 0;
    int ordered = 1;
    json_value root;

    for (i = 0; i < n; i++)
        report_on_equity(r, t0 + i * 60 * TS_NS_PER_SEC, (1000 + i % 1000 + (i == 500 ? 999 : 0)) * MONEY_ONE);
    t.events = (uint64_t)n;
    t.start = t0;
    t.end = t0 + (n - 1) * 60 * TS_NS_PER_SEC;
    t.initial_equity = 1000 * MONEY_ONE;
    t.final_equity = (1000 + (n - 1) % 1000) * MONEY_ONE;
    report_finish(r, &t);
    subdir(dir, sizeof dir, "bound");
    write_report(r, dir);
    eq = slurp(dir, "equity.csv", NULL);
    for (line = eq ? strchr(eq, '\n') + 1 : NULL; line && *line; line = next) {
        next = strchr(line, '\n') + 1;
        if (ts_parse_iso(line, (size_t)(strchr(line, ',') - line), &ts) < 0 || ts <= prev)
            ordered = 0;
        prev = ts;
        rows++;
    }
    ok(rows <= 100000 && rows >= 50000, "bound: equity.csv has %zu rows (<= 100000)", rows);
    ok(ordered, "bound: rows in strictly increasing time");
    ok(eq && strncmp(strchr(eq, '\n') + 1, "2024-01-01T00:00:00Z,1000,", 26) == 0,
       "bound: the first sample is kept");
    is_int(prev, t.end, "bound: the last sample is kept");
    ok(parse_json_file(dir, &text, &root) == 0, "bound: report.json parses");
    /* sample 500 is 1999 + 500 = 2499; then 1000 at i = 1000 */
    is_double(&root, "max_drawdown_pct", (2499.0 - 1000.0) / 2499.0 * 100, 1e-9);
    free(text);
    free(eq);
    check_html(dir, "bound");
    report_free(r);
}

static void test_write_error(void)
{
    report *r = new_report();
    report_totals t = {0};
    char err[512] = "", path[4200];
    FILE *f;

    ok(report_write(r, tmpdir, err, sizeof err) == -1 && strstr(err, "report_finish"),
       "report_write before report_finish is refused: %s", err);
    report_finish(r, &t);
    subdir(path, sizeof path, "file");
    f = fopen(path, "w");
    if (f)
        fclose(f);
    snprintf(path + strlen(path), sizeof path - strlen(path), "/sub");
    ok(report_write(r, path, err, sizeof err) == -1 && strstr(err, "file"),
       "a folder that cannot be made is an error naming it: %s", err);
    report_free(r);
}

int main(void)
{
    lutra_instrument def;
    char err[256];

    if (!mkdtemp(tmpdir))
        bail_out("mkdtemp failed");
    reg = instrument_registry_new();
    jp = json_parser_new();
    if (!reg || !jp ||
        instrument_define(&def, "sim", "BTCUSDT", "BTC", "USDT", "0.01", "0.00001", NULL, NULL,
                          err, sizeof err) < 0 ||
        instrument_registry_add(reg, &def, err, sizeof err) != 0)
        bail_out("setup: %s", err);
    btc = 0;

    test_main();
    test_null_rules();
    test_empty();
    test_thinning();
    test_bound();
    test_write_error();

    json_parser_free(jp);
    instrument_registry_free(reg);
    nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return done();
}
