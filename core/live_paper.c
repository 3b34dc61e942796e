/*
 * live_paper.c -- paper mode's time and venue: the simulated venue (mode
 * paper) under the paper clock.
 *
 * Paper mode runs the engine and the simulated venue on the clock a
 * backtest of the session's recording (lutra run --record) runs them on, so
 * that the replay decides what the session decided. During a market message
 * the clock is the message's receive time, the one recorded. The venue's
 * work (arrivals, reports) and the strategies' timers happen at their own
 * due times, in the backtest's order: before the first message received
 * after them; at equal times the market data first, then the venue, then
 * the timers. What falls due while no message comes is done by the wake-up
 * timer once the wall clock is LIVE_PAPER_GUARD_NS past it, so that a frame
 * received before that time (stamped on the WebSocket thread) but not yet
 * handed to this one still comes first.
 */
#include "live_impl.h"

#include <inttypes.h>
#include <string.h>

#include "log.h"
#include "money.h"

/* ---- The paper clock ---- */

static int64_t paper_clock(void *ud)
{
    return ((live *)ud)->now;
}

/* Everything the venue and the timers have due at or before `until`. */
void live_paper_run_until(live *lv, int64_t until)
{
    for (;;) {
        int64_t venue = sim_next_time(lv->sim), timer = engine_next_timer(lv->eng);

        if (venue > until && timer > until)
            return;
        lv->now = lv->acted_at = venue <= timer ? venue : timer;
        if (venue <= timer)
            sim_advance(lv->sim, venue);
        else
            engine_run_timers(lv->eng, timer);
        /* What that step wrote is committed, sent and told before the next
         * step, as a backtest (which has no batch) would do it. */
        engine_flush(lv->eng);
    }
}

/*
 * A market record, before the books see it: its time is never before the
 * latest receive time (see live_record); what fell due before it is done.
 * A record older than something the venue or a timer already did cannot
 * replay the way it ran here (its thread was held up past the guard): it is
 * counted, the first one said, and the clock does not go back for it.
 * @return the record to handle: ev, or its copy in *later with that time.
 */
const lutra_event *live_paper_on_market(live *lv, const lutra_event *ev, lutra_event *later)
{
    if (ev->h.ts_recv < lv->recv_floor) {
        memcpy(later, ev, ev->h.size < sizeof *later ? ev->h.size : sizeof *later);
        later->h.ts_recv = lv->recv_floor;
        ev = later;
    }
    live_paper_run_until(lv, ev->h.ts_recv - 1);
    if (ev->h.ts_recv <= lv->acted_at && lv->late++ == 0)
        log_write(LOG_WARN, "run",
                  "a market message came after the paper clock had passed it: a replay of "
                  "this session can differ from it recv_ns=%" PRId64 " clock_ns=%" PRId64,
                  ev->h.ts_recv, lv->now);
    if (ev->h.ts_recv > lv->now)
        lv->now = ev->h.ts_recv;
    return ev;
}

/* ---- Orders to the simulated venue (mode paper) ---- */

static int paper_submit(void *venue, const order *o, int64_t now)
{
    live *lv = venue;
    int rc = sim_venue_ops.submit(lv->sim, o, now);
    live_arm(lv);
    return rc;
}

static int paper_cancel(void *venue, const order *o, int64_t now)
{
    live *lv = venue;
    int rc = sim_venue_ops.cancel(lv->sim, o, now);
    live_arm(lv);
    return rc;
}

static const venue_ops paper_venue_ops = {paper_submit, paper_cancel};

/* ---- Building ---- */

/* Paper: the simulated venue and its account (cash in the first symbol's
 * quote asset, then the configured balances). */
int live_paper(live *lv, char *err, size_t errlen)
{
    const config *cfg = lv->cfg;
    sim_config sc;
    char base[LUTRA_ASSET_MAX], quote[LUTRA_ASSET_MAX];

    memset(&sc, 0, sizeof sc);
    sc.order_latency = sim_latency_from_config(&cfg->latency_order);
    sc.response_latency = sim_latency_from_config(&cfg->latency_response);
    sc.queue = !strcmp(cfg->queue_model, "optimistic") ? SIM_QUEUE_OPTIMISTIC
                                                        : SIM_QUEUE_CONSERVATIVE;
    sc.maker_fee_bps = cfg->fee_maker_bps >= 0 ? cfg->fee_maker_bps : 0;
    sc.taker_fee_bps = cfg->fee_taker_bps >= 0 ? cfg->fee_taker_bps : 0;
    sc.seed = cfg->seed_set ? cfg->seed : 1;
    if (!(lv->sim = sim_new(&sc, lv->reg, engine_books(lv->eng), engine_on_exec, lv->eng, err,
                            errlen)))
        return -1;
    engine_set_venue(lv->eng, &paper_venue_ops, lv);
    lv->now = loop_now_ns();
    lv->acted_at = INT64_MIN;
    engine_set_clock(lv->eng, paper_clock, lv);
    if (cfg->cash >= 0 && cfg->nvenues && cfg->venues[0].nsymbols &&
        instrument_split_symbol(cfg->venues[0].symbols[0], base, sizeof base, quote,
                                sizeof quote) == 0)
        engine_set_balance(lv->eng, quote, money_from_double(cfg->cash));
    for (size_t i = 0; i < cfg->nbalances; i++)
        engine_set_balance(lv->eng, cfg->balances[i].asset,
                           money_from_double(cfg->balances[i].amount));
    return 0;
}
