/*
 * report.c - vigil-load's output: progress lines, --show decisions, and
 *            the human and JSON summaries
 *
 * Everything vigil-load prints about a run is formatted here, from the
 * counts and histograms run.c keeps (struct load_stats). The JSON
 * summary is one line of fixed keys that tests/bench/bench_main.sh and
 * integ.load_smoke parse; its keys are documented in tools/vigil-load.1
 * (OUTPUT) and are only ever added to, never renamed.
 *
 * Invariants:
 *  - events == acked_ok + rejected, and
 *    errors == rejected + timeouts + malformed_events, in every output.
 *  - personal data never reaches the output: --show prints order ids,
 *    amounts and the scorer's reasons only.
 *
 * See also: load.h, tools/vigil-load.1 (OUTPUT)
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

#include "common/err.h"
#include "common/reply.h"
#include "tools/vigil-load/gen.h"
#include "tools/vigil-load/hist.h"
#include "tools/vigil-load/load.h"

static double
us(uint64_t ns)
{
    return (double)ns / 1e3;
}

void
report_progress(const struct load_opts *o, struct load_stats *st, double t_s,
    unsigned inflight)
{
    if (!o->quiet)
        fprintf(stderr,
            "t=%.0fs events=%" PRIu64 " ev/s=%" PRIu64 " errors=%" PRIu64
            " p99=%.0fus inflight=%u\n",
            t_s, st->answered, st->tick_answered,
            st->rejected + st->timeouts + st->lost,
            (double)hist_quantile(&st->tick, 0.99) / 1e3, inflight);
    hist_reset(&st->tick);
    st->tick_answered = 0;
    st->tick_errors = 0;
}

void
report_order(FILE *f, const struct gen_info *order, const struct reply *rep)
{
    unsigned minor = order->minor;

    if (minor == 1)
        fprintf(f, "order %s  %" PRIu64 " %s", order->order, order->amount,
            order->currency);
    else
        fprintf(f, "order %s  %" PRIu64 ".%02" PRIu64 " %s", order->order,
            order->amount / minor, order->amount % minor, order->currency);
    fprintf(f, "  [%s]", gen_pattern_name(order->pat));
    if (!rep->has_score) {
        fprintf(f, "  rejected: %s (%s)\n", err_name(rep->code), rep->msg);
        return;
    }
    fprintf(
        f, "  score %u  %s\n", rep->score, reply_decision_name(rep->decision));
    for (unsigned i = 0; i < rep->nreasons; i++)
        fprintf(f, "    - %s: %s (%g)\n", rep->reasons[i].code,
            rep->reasons[i].text, rep->reasons[i].value);
}

static void
summary_human(FILE *f, const struct load_opts *o, const struct load_stats *st,
    const struct gen *g, unsigned nconns, double secs)
{
    double eps = secs > 0 ? (double)st->answered / secs : 0;
    uint64_t errors = st->rejected + st->timeouts + st->lost;

    fprintf(f,
        "%s: %" PRIu64 " events in %.2f s over %u connection%s, "
        "batch %u, %s\n",
        o->conn.endpoint, st->answered, secs, nconns, nconns == 1 ? "" : "s",
        o->batch, o->rate > 0 ? "paced" : "flat out");
    /* Answered counts busy and other refusals: acknowledged is what the
     * service took. */
    fprintf(f,
        "  throughput  %.0f events/s acknowledged ok, %.0f answered "
        "(%" PRIu64 " requests)\n",
        secs > 0 ? (double)st->ok / secs : 0, eps, st->requests);
    fprintf(f,
        "  errors      %" PRIu64 " (rejected %" PRIu64 ", timed out %" PRIu64
        ", answered by malformed frames %" PRIu64 "; malformed frames %" PRIu64
        ", late replies %" PRIu64 ")\n",
        errors, st->rejected, st->timeouts, st->lost, st->malformed, st->late);
    if (st->rejected > 0)
        fprintf(f, "  first rejection code: %s\n",
            err_name(-(int)st->first_reject_code));
    if (st->busy > 0)
        fprintf(f,
            "  busy        %" PRIu64 ": reply p50 %.0f us  p99 %.0f us  "
            "max %.0f us\n",
            st->busy, us(hist_quantile(&st->busy_lat, 0.5)),
            us(hist_quantile(&st->busy_lat, 0.99)), us(st->busy_lat.max));
    fprintf(f,
        "  ack latency p50 %.0f us  p99 %.0f us  p99.9 %.0f us  "
        "max %.0f us\n",
        us(hist_quantile(&st->all, 0.5)), us(hist_quantile(&st->all, 0.99)),
        us(hist_quantile(&st->all, 0.999)), us(st->all.max));
    fprintf(f,
        "  orders      %" PRIu64 ": p50 %.0f us  p99 %.0f us  "
        "p99.9 %.0f us\n",
        st->orders, us(hist_quantile(&st->order, 0.5)),
        us(hist_quantile(&st->order, 0.99)),
        us(hist_quantile(&st->order, 0.999)));
    fprintf(f,
        "  decisions   allow %" PRIu64 "  review %" PRIu64 "  block %" PRIu64
        "\n",
        st->decisions[REPLY_DECISION_ALLOW],
        st->decisions[REPLY_DECISION_REVIEW],
        st->decisions[REPLY_DECISION_BLOCK]);
    fprintf(f,
        "  generated   normal %" PRIu64 "; fraud: card testing %" PRIu64
        ", account farm %" PRIu64 ", country mismatch %" PRIu64
        ", new account big %" PRIu64 "\n",
        gen_pattern_events(g, GEN_PAT_NORMAL),
        gen_pattern_events(g, GEN_PAT_CARD_TESTING),
        gen_pattern_events(g, GEN_PAT_ACCOUNT_FARM),
        gen_pattern_events(g, GEN_PAT_COUNTRY_MISMATCH),
        gen_pattern_events(g, GEN_PAT_NEW_BIG));
}

static void
summary_json(const struct load_opts *o, const struct load_stats *st,
    unsigned nconns, double secs)
{
    double eps = secs > 0 ? (double)st->answered / secs : 0;
    uint64_t errors = st->rejected + st->timeouts + st->lost;

    printf("{\"events\":%" PRIu64 ",\"acked_ok\":%" PRIu64
           ",\"errors\":%" PRIu64 ",\"events_per_s\":%.1f,\"acked_per_s\":%.1f"
           ",\"p50_us\":%.1f,\"p99_us\":%.1f"
           ",\"p999_us\":%.1f,\"max_us\":%.1f,\"orders\":%" PRIu64
           ",\"order_p50_us\":%.1f,\"order_p99_us\":%.1f"
           ",\"order_p999_us\":%.1f,\"decisions\":{\"allow\":%" PRIu64
           ",\"review\":%" PRIu64 ",\"block\":%" PRIu64 "}"
           ",\"connections\":%u,\"batch\":%u,\"rate\":%.0f"
           ",\"duration_s\":%.3f,\"sent\":%" PRIu64 ",\"rejected\":%" PRIu64
           ",\"timeouts\":%" PRIu64 ",\"malformed\":%" PRIu64
           ",\"malformed_events\":%" PRIu64 ",\"late\":%" PRIu64
           ",\"bytes_per_event\":%.1f,\"busy\":%" PRIu64
           ",\"busy_p50_us\":%.1f,\"busy_p99_us\":%.1f"
           ",\"seed\":%" PRIu64 "}\n",
        st->answered, st->ok, errors, eps, secs > 0 ? (double)st->ok / secs : 0,
        us(hist_quantile(&st->all, 0.5)), us(hist_quantile(&st->all, 0.99)),
        us(hist_quantile(&st->all, 0.999)), us(st->all.max), st->orders,
        us(hist_quantile(&st->order, 0.5)), us(hist_quantile(&st->order, 0.99)),
        us(hist_quantile(&st->order, 0.999)),
        st->decisions[REPLY_DECISION_ALLOW],
        st->decisions[REPLY_DECISION_REVIEW],
        st->decisions[REPLY_DECISION_BLOCK], nconns, o->batch, o->rate, secs,
        st->sent, st->rejected, st->timeouts, st->malformed, st->lost, st->late,
        st->sent > 0 ? (double)st->bytes / (double)st->sent : 0.0, st->busy,
        us(hist_quantile(&st->busy_lat, 0.5)),
        us(hist_quantile(&st->busy_lat, 0.99)), o->seed);
}

int
report_summary(const struct load_opts *o, const struct load_stats *st,
    const struct gen *g, unsigned nconns, uint64_t elapsed)
{
    double secs = (double)elapsed / 1e9;

    if (!o->json || !o->quiet)
        summary_human(o->json ? stderr : stdout, o, st, g, nconns, secs);
    if (o->json)
        summary_json(o, st, nconns, secs);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, LOAD_PROGNAME ": cannot write the summary\n");
        return ERR_IO;
    }
    return 0;
}
