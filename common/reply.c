/*
 * reply.c - the reply map's codec (see reply.h)
 *
 * Encoded by the scorer for every event and decoded by the collector
 * (and by clients: vigil-load, vigil-replay); both directions are here
 * so the format has one owner.
 *
 * SPDX-License-Identifier: MIT
 */
#include <string.h>

#include "common/err.h"
#include "common/reply.h"
#include "common/text.h"
#include "common/wire.h"

const char *
reply_decision_name(enum reply_decision d)
{
    switch (d) {
    case REPLY_DECISION_ALLOW:
        return "allow";
    case REPLY_DECISION_REVIEW:
        return "review";
    case REPLY_DECISION_BLOCK:
        return "block";
    case REPLY_DECISION_NONE:
        break;
    }
    return "";
}

enum reply_decision
reply_decision_parse(const char *name)
{
    int d;

    for (d = REPLY_DECISION_ALLOW; d <= REPLY_DECISION_BLOCK; d++)
        if (strcmp(name, reply_decision_name((enum reply_decision)d)) == 0)
            return (enum reply_decision)d;
    return REPLY_DECISION_NONE;
}

int
reply_code_parse(const char *name)
{
    int rc;

    for (rc = 0; rc >= ERR_MIN; rc--)
        if (strcmp(err_name(rc), name) == 0)
            return rc;
    return 1;
}

void
reply_error(struct reply *r, const char *id, int code, const char *msg)
{
    memset(r, 0, sizeof(*r));
    if (id != NULL)
        TEXT_COPY(r->id, id);
    r->code = code;
    TEXT_COPY(r->msg, msg);
}

void
reply_pack_reasons(
    struct wire_enc *e, const struct reply_reason *reasons, unsigned n)
{
    unsigned i;

    if (n > REPLY_MAX_REASONS)
        n = REPLY_MAX_REASONS;
    wire_put_array(e, n);
    for (i = 0; i < n; i++) {
        wire_put_map(e, 3);
        wire_put_str(e, "code");
        WIRE_PUT_ARR(e, reasons[i].code);
        wire_put_str(e, "text");
        WIRE_PUT_ARR(e, reasons[i].text);
        wire_put_str(e, "value");
        wire_put_double(e, reasons[i].value);
    }
}

void
reply_pack(struct wire_enc *e, const struct reply *r)
{
    bool retry = !r->has_score && r->code != 0 && r->retry_after_ms > 0;

    bool model = r->has_score && r->model[0] != '\0';

    wire_put_map(e, r->has_score ? (model ? 8 : 7) : (retry ? 5 : 4));
    wire_put_str(e, "id");
    WIRE_PUT_ARR(e, r->id);
    wire_put_str(e, "ok");
    wire_put_bool(e, r->code == 0);
    wire_put_str(e, "code");
    wire_put_str(e, err_name(r->code));
    wire_put_str(e, "msg");
    WIRE_PUT_ARR(e, r->msg);
    if (retry) {
        wire_put_str(e, "retry_after_ms");
        wire_put_uint(e,
            r->retry_after_ms > REPLY_RETRY_MAX_MS ? REPLY_RETRY_MAX_MS :
                                                     r->retry_after_ms);
        return;
    }
    if (!r->has_score)
        return;
    wire_put_str(e, "score");
    wire_put_uint(e, r->score);
    wire_put_str(e, "decision");
    wire_put_str(e, reply_decision_name(r->decision));
    wire_put_str(e, "reasons");
    reply_pack_reasons(e, r->reasons, r->nreasons);
    if (model) {
        wire_put_str(e, "model");
        WIRE_PUT_ARR(e, r->model);
    }
}

int
reply_encode(struct buf *out, const struct reply *r)
{
    struct wire_enc e;

    wire_enc_begin(&e, out);
    reply_pack(&e, r);
    return wire_enc_end(&e);
}

static int
read_reason(const msgpack_object *o, struct reply_reason *rs)
{
    static const struct wire_key keys[] = { WIRE_KEY("code"), WIRE_KEY("text"),
        WIRE_KEY("value") };
    const msgpack_object *v[3] = { NULL };

    if (wire_collect(o, keys, 3, "reason.", v, NULL, 0) != 0 || v[0] == NULL ||
        v[1] == NULL || v[2] == NULL)
        return ERR_MALFORMED;
    if (WIRE_GET_STR(v[0], WIRE_TOKEN, 1, rs->code) != 0 ||
        WIRE_GET_STR(v[1], WIRE_TEXT, 0, rs->text) != 0 ||
        wire_get_double(v[2], &rs->value) != 0)
        return ERR_MALFORMED;
    return 0;
}

int
reply_read_reasons(
    const msgpack_object *o, struct reply_reason *reasons, uint8_t *n)
{
    uint32_t i;

    if (o->type != MSGPACK_OBJECT_ARRAY ||
        o->via.array.size > REPLY_MAX_REASONS)
        return ERR_MALFORMED;
    for (i = 0; i < o->via.array.size; i++)
        if (read_reason(&o->via.array.ptr[i], &reasons[i]) != 0)
            return ERR_MALFORMED;
    *n = (uint8_t)o->via.array.size;
    return 0;
}

enum {
    R_ID,
    R_OKAY,
    R_CODE,
    R_MSG,
    R_SCORE,
    R_DECISION,
    R_REASONS,
    R_RETRY,
    R_MODEL,
    R_COUNT
};
static const struct wire_key reply_keys[R_COUNT] = { WIRE_KEY("id"),
    WIRE_KEY("ok"), WIRE_KEY("code"), WIRE_KEY("msg"), WIRE_KEY("score"),
    WIRE_KEY("decision"), WIRE_KEY("reasons"), WIRE_KEY("retry_after_ms"),
    WIRE_KEY("model") };

int
reply_read(const msgpack_object *o, struct reply *r)
{
    const msgpack_object *v[R_COUNT] = { NULL };
    char tmp[EVENT_SHORT_MAX + 1];
    uint64_t u = 0;
    bool ok = false;
    unsigned i, n = 0;

    memset(r, 0, sizeof(*r));
    if (wire_collect(o, reply_keys, R_COUNT, "reply.", v, NULL, 0) != 0)
        return ERR_MALFORMED;
    for (i = 0; i < R_COUNT; i++)
        n += v[i] != NULL;
    /* The four common keys, and either none or all of the score keys
     * (model optional), or retry_after_ms alone. */
    if (v[R_ID] == NULL || v[R_OKAY] == NULL || v[R_CODE] == NULL ||
        v[R_MSG] == NULL || (n != 4 && n != 7 && n != 5 && n != 8) ||
        (n == 5 && v[R_RETRY] == NULL) || (n >= 7 && v[R_RETRY] != NULL) ||
        (n == 8 && v[R_MODEL] == NULL) || (n < 7 && v[R_MODEL] != NULL))
        return ERR_MALFORMED;
    if (WIRE_GET_STR(v[R_ID], WIRE_TEXT, 0, r->id) != 0 ||
        wire_get_bool(v[R_OKAY], &ok) != 0 ||
        WIRE_GET_STR(v[R_CODE], WIRE_TOKEN, 1, tmp) != 0 ||
        WIRE_GET_STR(v[R_MSG], WIRE_TEXT, 0, r->msg) != 0)
        return ERR_MALFORMED;
    r->code = reply_code_parse(tmp);
    if (r->code > 0 || ok != (r->code == 0))
        return ERR_MALFORMED;
    if (n == 4)
        return 0;
    if (n == 5) {
        if (r->code == 0 ||
            wire_get_uint(v[R_RETRY], 1, REPLY_RETRY_MAX_MS, &u) != 0)
            return ERR_MALFORMED;
        r->retry_after_ms = (uint32_t)u;
        return 0;
    }
    if (wire_get_uint(v[R_SCORE], 0, 100, &u) != 0 ||
        WIRE_GET_STR(v[R_DECISION], WIRE_TOKEN, 0, tmp) != 0 ||
        reply_read_reasons(v[R_REASONS], r->reasons, &r->nreasons) != 0 ||
        (n == 8 && WIRE_GET_STR(v[R_MODEL], WIRE_TEXT, 1, r->model) != 0))
        return ERR_MALFORMED;
    r->score = (uint8_t)u;
    r->decision = reply_decision_parse(tmp);
    if (r->decision == REPLY_DECISION_NONE && tmp[0] != '\0')
        return ERR_MALFORMED;
    r->has_score = true;
    return 0;
}
