/* libFuzzer target for the kubeconfig reader (lib/kube/kubeconfig.c,
 * libyaml): a config it accepts keeps the promises of bc_kube_config (an
 * http(s) server without a trailing '/', a client certificate only with
 * its key, no CA beside insecure-skip-tls-verify, source the path); one
 * it refuses leaves the struct empty and says why, naming the file. What
 * it accepts, written out again as a kubeconfig of its own (libyaml's
 * emitter, every string double-quoted, PEM as -data), reads back the same.
 * Build and run: make fuzz  (clang with -fsanitize=fuzzer,address). */
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "kube/kube_internal.h"
#include "util/buffer.h"

/* Absolute and absent: relative file names in the input resolve to
 * nothing, and resolve to the same thing again in the rewritten text. */
#define PATH "/nonexistent-bc-fuzz/config"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* certificate-authority: /dev/stdin must not wait for a terminal. */
    int fd = open("/dev/null", O_RDONLY);
    if (fd >= 0) {
        dup2(fd, 0);
        close(fd);
    }
    return 0;
}

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int write_out(void *data, unsigned char *buf, size_t size)
{
    return bc_buffer_append(data, buf, size) == BC_OK;
}

static void scalar(yaml_emitter_t *e, const char *s, int quoted)
{
    yaml_event_t ev;
    if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), !quoted,
                                      quoted, quoted ? YAML_DOUBLE_QUOTED_SCALAR_STYLE
                                                     : YAML_PLAIN_SCALAR_STYLE) ||
        !yaml_emitter_emit(e, &ev))
        abort();
}

static void event(yaml_emitter_t *e, int (*init)(yaml_event_t *))
{
    yaml_event_t ev;
    if (!init(&ev) || !yaml_emitter_emit(e, &ev))
        abort();
}

static int map_start(yaml_event_t *ev)
{
    return yaml_mapping_start_event_initialize(ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
}

static int seq_start(yaml_event_t *ev)
{
    return yaml_sequence_start_event_initialize(ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
}

/* key: "value" when value is set. */
static void pair(yaml_emitter_t *e, const char *key, const char *value)
{
    if (!value)
        return;
    scalar(e, key, 0);
    scalar(e, value, 1);
}

/* key-data: base64 of the PEM text, when there is one. */
static void pem(yaml_emitter_t *e, const char *key, const char *text)
{
    if (!text)
        return;
    size_t n = strlen(text);
    char *b64 = malloc(4 * (n / 3 + 1) + 1);
    if (!b64)
        abort();
    EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)text, (int)n);
    char name[64];
    snprintf(name, sizeof name, "%s-data", key);
    pair(e, name, b64);
    free(b64);
}

/* One named entry of a list: - name: N, kind: {pairs written by fn}. */
static void entry_start(yaml_emitter_t *e, const char *list, const char *name, const char *kind)
{
    scalar(e, list, 0);
    event(e, seq_start);
    event(e, map_start);
    scalar(e, "name", 0);
    scalar(e, name, 1);
    scalar(e, kind, 0);
    event(e, map_start);
}

static int map_end(yaml_event_t *ev)
{
    return yaml_mapping_end_event_initialize(ev);
}

static int seq_end(yaml_event_t *ev)
{
    return yaml_sequence_end_event_initialize(ev);
}

static void entry_end(yaml_emitter_t *e)
{
    event(e, map_end);
    event(e, map_end);
    event(e, seq_end);
}

/* c as a kubeconfig of one context; a malloc'd text. */
static char *rewrite(const bc_kube_config *c, size_t *len)
{
    bc_buffer out = {0};
    yaml_emitter_t e;
    yaml_event_t ev;
    if (!yaml_emitter_initialize(&e))
        abort();
    yaml_emitter_set_output(&e, write_out, &out);
    yaml_emitter_set_unicode(&e, 1);
    if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) || !yaml_emitter_emit(&e, &ev) ||
        !yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) || !yaml_emitter_emit(&e, &ev))
        abort();
    event(&e, map_start);
    pair(&e, "current-context", "c");

    entry_start(&e, "clusters", "k", "cluster");
    pair(&e, "server", c->server);
    if (c->insecure) {
        scalar(&e, "insecure-skip-tls-verify", 0);
        scalar(&e, "true", 0);
    }
    pem(&e, "certificate-authority", c->ca_pem);
    entry_end(&e);

    entry_start(&e, "users", "u", "user");
    pair(&e, "token", c->token);
    pair(&e, "tokenFile", c->token_file);
    pem(&e, "client-certificate", c->cert_pem);
    pem(&e, "client-key", c->key_pem);
    entry_end(&e);

    entry_start(&e, "contexts", "c", "context");
    pair(&e, "cluster", "k");
    pair(&e, "user", "u");
    pair(&e, "namespace", c->ns);
    entry_end(&e);

    event(&e, map_end);
    if (!yaml_document_end_event_initialize(&ev, 1) || !yaml_emitter_emit(&e, &ev) ||
        !yaml_stream_end_event_initialize(&ev) || !yaml_emitter_emit(&e, &ev) ||
        !yaml_emitter_flush(&e))
        abort();
    yaml_emitter_delete(&e);
    *len = out.len;
    char *text = bc_buffer_take(&out);
    if (!text)
        abort();
    return text;
}

static void check_accepted(const bc_kube_config *c)
{
    if (!c->server || (strncmp(c->server, "https://", 8) != 0 &&
                       strncmp(c->server, "http://", 7) != 0))
        abort();
    size_t n = strlen(c->server);
    if (c->server[n - 1] == '/')
        abort();
    if (!same(c->source, PATH) || (c->insecure && c->ca_pem) || !c->cert_pem != !c->key_pem ||
        (c->token && c->token_file) || (c->insecure != 0 && c->insecure != 1))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const bc_kube_config empty;
    bc_kube_config c, again;
    bc_status st = bc_kube_config_parse((const char *)data, size, PATH, &c);
    if (st != BC_OK) {
        const char *msg = bc_error_msg();
        if (memcmp(&c, &empty, sizeof c) != 0 || !msg || !*msg)
            abort();
        if (st != BC_ERR_USAGE && st != BC_ERR_INTERNAL)
            abort();
        if (st == BC_ERR_USAGE && strncmp(msg, "kubeconfig " PATH ": ", strlen(PATH) + 13) != 0)
            abort();
        return 0;
    }
    check_accepted(&c);

    size_t len;
    char *text = rewrite(&c, &len);
    st = bc_kube_config_parse(text, len, PATH, &again);
    if (st != BC_OK) {
        fprintf(stderr, "rewritten kubeconfig refused: %s\n%s", bc_error_msg(), text);
        abort();
    }
    if (!same(c.server, again.server) || !same(c.ca_pem, again.ca_pem) ||
        c.insecure != again.insecure || !same(c.token, again.token) ||
        !same(c.token_file, again.token_file) || !same(c.cert_pem, again.cert_pem) ||
        !same(c.key_pem, again.key_pem) || !same(c.ns, again.ns) || !same(c.source, again.source)) {
        fprintf(stderr, "rewritten kubeconfig reads differently:\n%s", text);
        abort();
    }
    free(text);
    bc_kube_config_free(&again);
    bc_kube_config_free(&c);
    return 0;
}
