/*
 * model_int.h - what model.c and model_file.c share: the model's
 *               layout and the checks both the parser and the builder run
 *
 * Private to scorer/model*.c; everyone else uses model.h.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SCORER_MODEL_INT_H
#define SCORER_MODEL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "common/buf.h"
#include "common/compiler.h"
#include "scorer/model.h"

#define HEADER_MAGIC   "vigil-model"
#define SHA_HEX        (2 * crypto_hash_sha256_BYTES)
#define SHA_LINE_BYTES (7 + SHA_HEX + 1) /* "sha256 " hex "\n" */
#define MAX_TOKENS     10
#define NUM_TEXT_MAX   40

struct model {
    struct model_def def; /* arrays below are owned copies */
    uint32_t *tree_nodes; /* ntrees node counts */
    uint32_t *tree_start; /* ntrees offsets into nodes */
    struct model_node *nodes;
    size_t nnodes;
    char **comments;
    double bias; /* init + lr * sum of roots' values, or intercept */
    uint8_t sha[crypto_hash_sha256_BYTES];
    char version[MODEL_VERSION_MAX + 1];
};

/* Write the message to err (when given) and return rc. */
int model_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    PRINTF_LIKE(4, 5);

/* A finite decimal number, the whole of `s`. */
bool model_parse_double(const char *s, double *out) NONNULL(1, 2);

/* A decimal integer without sign, at most `max`, the whole of `s`. */
bool model_parse_u32(const char *s, uint32_t max, uint32_t *out) NONNULL(1, 3);

/* The shortest %g text that reads back as exactly `v`. */
void model_fmt_double(char out[NUM_TEXT_MAX], double v) NONNULL(1);

/* A model id: 1..MODEL_ID_MAX of [A-Za-z0-9._-]. */
bool model_id_ok(const char *id) NONNULL(1);

/* A comment: printable ASCII, short enough for one line. */
bool model_comment_ok(const char *c) NONNULL(1);

/*
 * Check tree t of m nodes over ncols columns (children after parents,
 * columns in range, depth bounded); on failure *bad is the node and msg
 * says why.
 */
bool model_tree_ok(const struct model_node *t, uint32_t m, unsigned ncols,
    uint32_t *bad, char *msg, size_t msglen) NONNULL(1, 4, 5);

/* Build a model from `d` without computing its checksum (the caller sets
 * m->sha, then calls model_set_version). Returns as model_build(). */
int model_build_def(const struct model_def *d, struct model **out, char *err,
    size_t errlen) NONNULL(1, 2);

/* Append the text of m without its checksum line (model_file.c).
 * Returns 0 or ERR_TOOBIG. */
int model_format_body(const struct model *m, struct buf *b) NONNULL(1, 2);

/* The SHA-256 of data[0..len) into sha, and as lowercase hex into hex. */
void model_sha_line(const uint8_t *data, size_t len,
    uint8_t sha[crypto_hash_sha256_BYTES], char hex[SHA_HEX + 1])
    NONNULL(1, 3, 4);

/* Set m->version from its id and checksum. */
void model_set_version(struct model *m) NONNULL(1);

#endif
