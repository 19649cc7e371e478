/*
 * report.c - vigil-replay's output: progress lines, the --out CSV and
 *            the summary with the metrics of the replies
 *
 * Metrics are computed over the orders that got a score, against the
 * data set's class: ROC AUC and PR AUC (average precision) of the 0-100
 * scores, tie-aware (common/metrics.h); precision and recall of the
 * decisions the replies carried (block; review or block). With
 * --holdout they are printed for all users, the held-out users and the
 * others.
 *
 * See also: replay.h, common/metrics.h, tools/vigil-replay.1 "OUTPUT"
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/metrics.h"
#include "common/reply.h"
#include "common/xmalloc.h"
#include "tools/vigil-replay/replay.h"

void
report_progress(const struct replay_opts *o, const struct replay_data *d,
    struct replay_stats *st, double t_s, unsigned inflight)
{
    if (!o->quiet)
        fprintf(stderr,
            REPLAY_PROGNAME ": %6.1f s  sent %" PRIu64 "/%zu (%3.0f%%)  "
                            "%" PRIu64 "/s  answered %" PRIu64 "  errors "
                            "%" PRIu64 "  in flight %u\n",
            t_s, st->sent, d->nevs,
            d->nevs > 0 ? 100.0 * (double)st->sent / (double)d->nevs : 0,
            st->tick_sent, st->answered, st->rejected + st->timeouts + st->lost,
            inflight);
    st->tick_sent = 0;
}

int
report_csv(const struct replay_opts *o, const struct replay_data *d)
{
    FILE *f = fopen(o->out, "w");

    if (f == NULL) {
        fprintf(stderr, REPLAY_PROGNAME ": cannot create '%s': %s\n", o->out,
            strerror(errno));
        return ERR_IO;
    }
    fprintf(f, "user_id,score,decision\n");
    for (size_t i = 0; i < d->nrows; i++) {
        const struct replay_row *r = &d->rows[i];

        if (r->has_score)
            fprintf(f, "%" PRIu64 ",%u,%s\n", r->user_id, r->score,
                reply_decision_name((enum reply_decision)r->decision));
        else
            fprintf(f, "%" PRIu64 ",,%s\n", r->user_id,
                r->answered && r->code != 0 ? "error" : "none");
    }
    if (fclose(f) != 0) {
        fprintf(stderr, REPLAY_PROGNAME ": cannot write '%s': %s\n", o->out,
            strerror(errno));
        return ERR_IO;
    }
    return 0;
}

/* Metrics of the scored orders of the rows `which` selects. */
static void
metrics_for(const struct replay_data *d, const char *what, int which)
{
    double *score = xcalloc(d->nrows + 1, sizeof(*score));
    uint8_t *y = xcalloc(d->nrows + 1, 1);
    uint8_t *blk = xcalloc(d->nrows + 1, 1);
    uint8_t *rev = xcalloc(d->nrows + 1, 1);
    size_t n = 0, users = 0, fraud = 0;
    struct metrics_pr pb, pr;
    double roc, ap;
    char rocs[16] = "n/a", aps[16] = "n/a";

    for (size_t i = 0; i < d->nrows; i++) {
        const struct replay_row *r = &d->rows[i];

        if (which >= 0 && r->holdout != (which == 1))
            continue;
        users++;
        fraud += r->label;
        if (!r->has_score)
            continue;
        score[n] = r->score;
        y[n] = r->label;
        blk[n] = r->decision == REPLY_DECISION_BLOCK;
        rev[n] = blk[n] || r->decision == REPLY_DECISION_REVIEW;
        n++;
    }
    if (metrics_roc_auc(score, y, NULL, n, &roc) == 0)
        snprintf(rocs, sizeof(rocs), "%.4f", roc);
    if (metrics_average_precision(score, y, NULL, n, &ap) == 0)
        snprintf(aps, sizeof(aps), "%.4f", ap);
    metrics_flagged(blk, y, NULL, n, &pb);
    metrics_flagged(rev, y, NULL, n, &pr);
    printf("%s: %zu users, %zu fraud, %zu orders scored: ROC AUC %s  PR AUC "
           "%s\n",
        what, users, fraud, n, rocs, aps);
    printf("  block           : precision %.3f recall %.3f (%.0f blocked)\n",
        pb.precision, pb.recall, pb.flagged);
    printf("  review or block : precision %.3f recall %.3f (%.0f flagged)\n",
        pr.precision, pr.recall, pr.flagged);
    free(score);
    free(y);
    free(blk);
    free(rev);
}

void
report_summary(const struct replay_opts *o, const struct replay_data *d,
    const struct replay_stats *st, uint64_t elapsed)
{
    double secs = (double)elapsed / 1e9;

    printf("%s: %" PRIu64 " events (%zu users) in %.2f s: %.0f events/s "
           "over %u connection%s, batch %u%s\n",
        o->conn.endpoint, st->sent, d->nrows, secs,
        secs > 0 ? (double)st->sent / secs : 0, o->connections,
        o->connections == 1 ? "" : "s", o->batch,
        o->dry_run ? " (dry run: built, not sent)" : "");
    printf("  answered %" PRIu64 " (ok %" PRIu64 ", rejected %" PRIu64
           "), timeouts %" PRIu64 ", malformed frames %" PRIu64 " (%" PRIu64
           " events), late %" PRIu64 ", order waits %" PRIu64
           " (day barrier %" PRIu64 ", behind a label %" PRIu64 ")\n",
        st->answered, st->ok, st->rejected, st->timeouts, st->malformed,
        st->lost, st->late, st->waits, st->waits_day, st->waits_label);
    printf("  busy replies %" PRIu64 " (events resent %" PRIu64
           ", overtaken %" PRIu64 ")\n",
        st->busy, st->retried, st->overtaken);
    if (st->first_code != 0)
        printf("  first rejection: event %s: %s: %s\n", st->first_id,
            err_name(st->first_code), st->first_msg);
    printf("  label delay %.3g days; countries: %" PRIu64
           " IPs in no range, %" PRIu64 " in ranges of an unknown name\n",
        (double)o->label_delay_ms / (double)REPLAY_MS_PER_DAY, d->no_range,
        d->unknown_country);
    if (o->dry_run)
        return;
    metrics_for(d, "all users", -1);
    if (o->holdout >= 0) {
        metrics_for(d, "holdout users", 1);
        metrics_for(d, "train users", 0);
    }
}
