/* bc-doctor bundle: what a support thread needs about one Cluster, in a
 * tar.gz that is safe to share. Secrets are never fetched; every other
 * object, log tail and report goes through doctor/redact before it is
 * written, and REDACTIONS.txt lists what was taken out (where and why,
 * never the value). The archive is written beside FILE and renamed into
 * place once complete. */
#include "doctor/doctor.h"
#include "doctor/doctor_internal.h"
#include "doctor/redact.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"
#include "kube/kube.h"
#include "plugin/plugin.h"
#include "plugin/sidecar.h"
#include "tar/tar.h"
#include "util/buffer.h"
#include "util/fileio.h"
#include "util/json.h"

#ifndef BC_VERSION
#define BC_VERSION "dev"
#endif

#define LOG_BYTES (1024 * 1024)

typedef struct bundle {
    bc_kube *k;
    bc_tar_writer *tar;
    bc_doctor_report *r;
    bc_redactions redactions;
    const char *top;         /* the folder inside the archive */
    const char *ns;
    long log_lines;
    size_t files;
    bc_status st;            /* the first failure writing the archive */
} bundle;

static void put(bundle *b, const char *name, const char *data, size_t len)
{
    if (b->st != BC_OK)
        return;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", b->top, name);
    b->st = bc_tar_add_memory(b->tar, path, data, len, 0644);
    b->files += b->st == BC_OK;
}

/* A JSON document, redacted, as name. */
static void put_json(bundle *b, const char *name, json_t *doc)
{
    if (bc_redact_json(doc, name, &b->redactions) != BC_OK) {
        b->st = BC_ERR_INTERNAL;
        return;
    }
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (!text) {
        b->st = bc_oom();
        return;
    }
    put(b, name, text, strlen(text));
    free(text);
}

static void put_text(bundle *b, const char *name, const char *text, size_t len)
{
    size_t out_len = 0;
    char *clean = bc_redact_text(text, len, name, &b->redactions, &out_len);
    if (!clean) {
        b->st = bc_oom();
        return;
    }
    put(b, name, clean, out_len);
    free(clean);
}

/* GET path into name; a failure is a warning in the report, not the end. */
static json_t *collect(bundle *b, const char *name, const char *path)
{
    json_t *doc = NULL;
    bc_status st = bc_kube_get(b->k, path, &doc);
    if (st != BC_OK) {
        bc_doctor_add(b->r, "bundle", BC_CHECK_WARN, "allow bc-doctor to read it, or add it "
                      "to the bundle by hand", "%s left out: %s", name, bc_error_msg());
        return NULL;
    }
    return doc;
}

/* Keeps the items of a list for which keep(item, ctx) holds. */
static void filter_items(json_t *list, int (*keep)(const json_t *, const void *),
                         const void *ctx)
{
    json_t *items = json_object_get(list, "items");
    for (size_t i = json_array_size(items); i-- > 0;)
        if (!keep(json_array_get(items, i), ctx))
            json_array_remove(items, i);
}

static int of_cluster(const json_t *item, const void *cluster)
{
    const char *c = bc_json_at(item, "spec.cluster.name");
    return c && strcmp(c, cluster) == 0;
}

/* An ObjectStore the Cluster names: in spec.plugins or for recovery in
 * spec.externalClusters[].plugin. */
static int named_store(const json_t *item, const void *cluster)
{
    const char *name = bc_json_at(item, "metadata.name");
    const json_t *spec = json_object_get(cluster, "spec"), *p, *ext;
    size_t i;
    json_array_foreach(json_object_get(spec, "plugins"), i, p) {
        const char *s = bc_json_at(p, "parameters.barmanObjectName");
        if (name && s && !strcmp(s, name))
            return 1;
    }
    json_array_foreach(json_object_get(spec, "externalClusters"), i, ext) {
        const char *s = bc_json_at(ext, "plugin.parameters.barmanObjectName");
        if (name && s && !strcmp(s, name))
            return 1;
    }
    return 0;
}

/* Events about the Cluster, its Pods or its Backups. */
static int about(const json_t *event, const void *names)
{
    const char *n = bc_json_at(event, "involvedObject.name");
    size_t i;
    const json_t *v;
    json_array_foreach((const json_t *)names, i, v)
        if (n && json_string_value(v) && !strcmp(n, json_string_value(v)))
            return 1;
    return 0;
}

static void add_names(json_t *names, const json_t *list)
{
    size_t i;
    const json_t *item;
    json_array_foreach(json_object_get(list, "items"), i, item)
        if (bc_json_at(item, "metadata.name"))
            json_array_append_new(names, json_string(bc_json_at(item, "metadata.name")));
}

/* The tail of one container's log. */
static void collect_log(bundle *b, const char *ns, const char *pod, const char *container)
{
    char path[700], name[400];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s/log?container=%s&tailLines=%ld"
             "&limitBytes=%d", ns, pod, container, b->log_lines, LOG_BYTES);
    snprintf(name, sizeof name, "logs/%s.%s.log", pod, container);
    bc_kube_text t;
    bc_status st = bc_kube_get_text(b->k, path, &t);
    if (st != BC_OK) {
        bc_doctor_add(b->r, "bundle", BC_CHECK_WARN, "allow bc-doctor to get pods/log, or "
                      "add the log by hand", "%s left out: %s", name, bc_error_msg());
        return;
    }
    put_text(b, name, t.data, t.len);
    free(t.data);
}

/* The plugin's Service, its Deployment and its Pods' log tails. */
static void collect_plugin(bundle *b, bc_buffer *versions)
{
    json_t *svcs = collect(b, "objects/plugin-services.json",
                           "/api/v1/services?labelSelector=cnpg.io%2FpluginName%3D" BC_PLUGIN_NAME);
    const json_t *svc = json_array_get(json_object_get(svcs, "items"), 0);
    const char *ns = bc_json_at(svc, "metadata.namespace");
    const char *app = bc_json_at(svc, "spec.selector.app");
    if (ns) {
        char path[600];
        snprintf(path, sizeof path, "/apis/apps/v1/namespaces/%s/deployments", ns);
        json_t *deps = collect(b, "objects/plugin-deployments.json", path);
        size_t i;
        const json_t *d, *c;
        json_array_foreach(json_object_get(deps, "items"), i, d) {
            size_t j;
            json_array_foreach(json_object_get(json_object_get(json_object_get(json_object_get(
                d, "spec"), "template"), "spec"), "containers"), j, c)
                bc_buffer_addf(versions, "deployment %s/%s: %s\n", ns,
                               bc_json_at(d, "metadata.name"), bc_json_at(c, "image")
                               ? bc_json_at(c, "image") : "?");
        }
        if (deps)
            put_json(b, "objects/plugin-deployments.json", deps);
        json_decref(deps);
        if (app) {
            snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods?labelSelector=app%%3D%s", ns,
                     app);
            json_t *pods = collect(b, "operator logs", path);
            const json_t *pod;
            json_array_foreach(json_object_get(pods, "items"), i, pod) {
                const json_t *first = json_array_get(json_object_get(json_object_get(pod, "spec"),
                                                                     "containers"), 0);
                if (bc_json_at(pod, "metadata.name") && bc_json_at(first, "name"))
                    collect_log(b, ns, bc_json_at(pod, "metadata.name"), bc_json_at(first, "name"));
            }
            json_decref(pods);
        }
    }
    if (svcs)
        put_json(b, "objects/plugin-services.json", svcs);
    json_decref(svcs);
}

static void collect_cluster(bundle *b, const char *cluster_name, bc_buffer *versions)
{
    const char *ns = b->ns;
    char path[600];
    snprintf(path, sizeof path, "/apis/postgresql.cnpg.io/v1/namespaces/%s/clusters/%s", ns,
             cluster_name);
    json_t *cluster = collect(b, "objects/cluster.json", path);
    json_t *names = json_array();
    json_array_append_new(names, json_string(cluster_name));
    if (cluster) {
        bc_buffer_addf(versions, "cluster image: %s\n", bc_json_at(cluster, "status.image")
                       ? bc_json_at(cluster, "status.image") : "?");
        snprintf(path, sizeof path, "/apis/barmancloud.cnpg.io/v1/namespaces/%s/objectstores",
                 ns);
        json_t *stores = collect(b, "objects/objectstores.json", path);
        if (stores) {
            filter_items(stores, named_store, cluster);
            put_json(b, "objects/objectstores.json", stores);
        }
        json_decref(stores);
    }
    static const char *const kinds[][2] = {{"backups", "objects/backups.json"},
                                           {"scheduledbackups", "objects/scheduledbackups.json"}};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "/apis/postgresql.cnpg.io/v1/namespaces/%s/%s", ns,
                 kinds[i][0]);
        json_t *list = collect(b, kinds[i][1], path);
        if (list) {
            filter_items(list, of_cluster, cluster_name);
            add_names(names, list);
            put_json(b, kinds[i][1], list);
        }
        json_decref(list);
    }
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods?labelSelector=cnpg.io%%2Fcluster%%3D%s",
             ns, cluster_name);
    json_t *pods = collect(b, "objects/pods.json", path);
    if (pods) {
        add_names(names, pods);
        size_t i;
        const json_t *pod;
        json_array_foreach(json_object_get(pods, "items"), i, pod)
            if (bc_doctor_pod_has_container(pod, "initContainers", BC_SIDECAR_NAME) ||
                bc_doctor_pod_has_container(pod, "containers", BC_SIDECAR_NAME))
                collect_log(b, ns, bc_json_at(pod, "metadata.name"), BC_SIDECAR_NAME);
        put_json(b, "objects/pods.json", pods);
    }
    json_decref(pods);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/events", ns);
    json_t *events = collect(b, "objects/events.json", path);
    if (events) {
        filter_items(events, about, names);
        put_json(b, "objects/events.json", events);
    }
    json_decref(events);
    json_decref(names);
    if (cluster)
        put_json(b, "objects/cluster.json", cluster);
    json_decref(cluster);
}

/* bc-doctor cluster --format json, run here. */
static void collect_report(bundle *b, const bc_doctor_cluster_opts *co)
{
    bc_doctor_report cr = {0};
    bc_status st = bc_doctor_cluster(co, &cr);
    json_t *doc = st == BC_OK ? bc_doctor_json(&cr) : NULL;
    if (doc)
        put_json(b, "cluster-report.json", doc);
    else
        b->st = st != BC_OK ? st : bc_oom();
    bc_doctor_add(b->r, "cluster report", doc ? BC_CHECK_OK : BC_CHECK_FAIL, "see the message",
                  "%zu checks, %zu failed", cr.n, bc_doctor_count(&cr, BC_CHECK_FAIL));
    json_decref(doc);
    bc_doctor_report_free(&cr);
}

static void collect_versions(bundle *b, bc_buffer *versions)
{
    json_t *v = NULL;
    if (bc_kube_get(b->k, "/version", &v) == BC_OK)
        bc_buffer_addf(versions, "kubernetes: %s\n", bc_json_at(v, "gitVersion")
                       ? bc_json_at(v, "gitVersion") : "?");
    json_decref(v);
    bc_buffer_addf(versions, "bc-doctor: " BC_VERSION "\n");
}

bc_status bc_doctor_bundle(const bc_doctor_bundle_opts *o, bc_doctor_report *r)
{
    r->subject = "bundle";
    bundle b = {.r = r, .log_lines = o->log_lines > 0 ? o->log_lines : 500};
    bc_status st = bc_kube_new(&b.k);
    if (st != BC_OK) {
        bc_doctor_add(r, "kubernetes", BC_CHECK_FAIL, "set KUBECONFIG, or run inside the "
                      "cluster with a service account", "%s", bc_error_msg());
        bc_doctor_needs(r, "bundle", "kubernetes");
        return BC_OK;
    }
    b.ns = o->namespace_ ? o->namespace_ : bc_kube_namespace(b.k);
    if (!b.ns)
        b.ns = "default";
    char top[300];
    snprintf(top, sizeof top, "bc-doctor-%s", o->name);
    b.top = top;
    bc_atomic_file f = {.fd = -1};
    bc_codec_stream *gz = NULL;
    st = bc_atomic_open(&f, o->output);
    if (st == BC_OK)
        st = bc_codec_encoder(BC_CODEC_GZIP, 6, bc_atomic_sink, &f, &gz);
    if (st == BC_OK)
        st = bc_tar_writer_new(bc_codec_sink, gz, &b.tar);
    if (st != BC_OK) {
        bc_doctor_add(r, "bundle", BC_CHECK_FAIL, "choose a writable -o FILE", "%s",
                      bc_error_msg());
        goto out;
    }
    bc_buffer versions = {0};
    collect_versions(&b, &versions);
    collect_cluster(&b, o->name, &versions);
    collect_plugin(&b, &versions);
    bc_doctor_cluster_opts co = {.name = o->name, .namespace_ = b.ns};
    collect_report(&b, &co);
    if (versions.failed == BC_OK)
        put_text(&b, "versions.txt", bc_buffer_str(&versions), versions.len);
    bc_buffer_free(&versions);
    bc_buffer list = {0};
    bc_buffer_adds(&list, "# What bc-doctor bundle redacted: file, place, rule (never the "
                   "value). Secrets are never fetched.\n");
    for (size_t i = 0; i < b.redactions.n; i++)
        bc_buffer_addf(&list, "%s\n", b.redactions.items[i]);
    if (list.failed == BC_OK)
        put(&b, "REDACTIONS.txt", bc_buffer_str(&list), list.len);
    bc_buffer_free(&list);
    st = b.st;
    if (st == BC_OK)
        st = bc_tar_finish(b.tar);
    if (st == BC_OK)
        st = bc_codec_finish(gz);
    if (st == BC_OK)
        st = bc_atomic_commit(&f, 1);
    if (st != BC_OK)
        bc_doctor_add(r, "bundle", BC_CHECK_FAIL, "see the message", "writing %s: %s",
                      o->output, bc_error_msg());
    else
        bc_doctor_add(r, "bundle", BC_CHECK_OK, NULL, "wrote %s: %zu files, %zu values "
                      "redacted (listed in REDACTIONS.txt)", o->output, b.files,
                      b.redactions.n);
out:
    bc_tar_free(b.tar);
    bc_codec_free(gz);
    bc_atomic_abort(&f);
    bc_redactions_free(&b.redactions);
    bc_kube_free(b.k);
    return BC_OK;
}
