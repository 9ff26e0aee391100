/* SPDX-License-Identifier: Apache-2.0 */
/* `qrun run --profile FILE`: a client of include/qrun/qrun.h and cJSON only. */
#include "tools/qrun_profile.h"
#include "tools/cli_util.h"
#include "tools/qrun_hw.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct qrun_profile {
    const char *dest;
    FILE *f; /* NULL for "-" (stdout) */
    int runs, added;
    int n_nodes;
    double *ms; /* [run][node] */
};

/* One executed node as every format reports it. */
typedef struct prof_row {
    const qrun_node_profile *rec;
    double us; /* median measured, or simulated on the accelerator */
    bool simulated;
    bool has_sim;
    qrun_sim_node sim;
} prof_row;

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n > k && strcmp(s + n - k, suffix) == 0;
}

int qrun_profile_check_dest(const char *dest) {
    if (strcmp(dest, "-") == 0 || ends_with(dest, ".json") || ends_with(dest, ".csv"))
        return 0;
    return fail("--profile expects FILE.json (Chrome trace), FILE.csv or - (table on stdout), "
                "got '%s'",
                dest);
}

qrun_profile *qrun_profile_new(int runs, const char *dest) {
    qrun_profile *p = calloc(1, sizeof *p);
    if (!p) {
        fail("out of memory");
        return NULL;
    }
    p->runs = runs;
    p->dest = dest;
    if (strcmp(dest, "-") != 0 && !(p->f = fopen(dest, "w"))) {
        fail("cannot write profile '%s': %s", dest, strerror(errno));
        free(p);
        return NULL;
    }
    return p;
}

void qrun_profile_free(qrun_profile *p) {
    if (!p)
        return;
    if (p->f)
        fclose(p->f);
    free(p->ms);
    free(p);
}

int qrun_profile_add_run(qrun_profile *p, const qrun_session *sess) {
    const qrun_node_profile *rec = NULL;
    int n = qrun_session_profile(sess, &rec);
    if (!p->ms) {
        p->n_nodes = n;
        p->ms = calloc((size_t)p->runs * (size_t)n + 1, sizeof *p->ms);
        if (!p->ms)
            return fail("out of memory");
    }
    if (n != p->n_nodes || p->added == p->runs)
        return fail("internal: profile of %d nodes after %d runs", n, p->added);
    for (int k = 0; k < n; k++)
        p->ms[(size_t)p->added * (size_t)n + (size_t)k] = rec[k].ms;
    p->added++;
    return 0;
}

/* Median of node k over the added runs (the upper one of an even count). */
static double node_median_ms(const qrun_profile *p, int k, double *tmp) {
    for (int r = 0; r < p->added; r++)
        tmp[r] = p->ms[(size_t)r * (size_t)p->n_nodes + (size_t)k];
    qsort(tmp, (size_t)p->added, sizeof *tmp, cli_cmp_double);
    return tmp[p->added / 2];
}

/* Rows of the executed nodes in graph order; accel_sim records (graph order, folded constants
 * left out like the executed records) are matched by position and checked by name. */
static int build_rows(const qrun_profile *p, const qrun_session *sess, prof_row *rows) {
    const qrun_node_profile *rec = NULL;
    int n = qrun_session_profile(sess, &rec);
    double *tmp = calloc((size_t)p->added + 1, sizeof *tmp);
    if (!tmp)
        return -1;
    int n_sim = qrun_session_sim_node_count(sess), n_rows = 0;
    for (int k = 0; k < n; k++) {
        if (!rec[k].executed)
            continue;
        prof_row *r = &rows[n_rows];
        memset(r, 0, sizeof *r);
        r->rec = &rec[k];
        r->us = node_median_ms(p, k, tmp) * 1e3;
        r->has_sim = n_rows < n_sim && qrun_session_sim_node(sess, n_rows, &r->sim) == QRUN_OK &&
                     strcmp(r->sim.name, rec[k].name) == 0;
        if (r->has_sim && strcmp(r->sim.placement, "host") != 0) {
            r->us = r->sim.latency_share_us; /* critical-path time: the rows sum to latency */
            r->simulated = true;
        }
        n_rows++;
    }
    free(tmp);
    return n_rows;
}

static const char *placement(const prof_row *r) {
    return r->has_sim ? r->sim.placement : r->rec->backend;
}

/* ---- Chrome trace ------------------------------------------------------- */

static cJSON *event_args(const prof_row *r) {
    cJSON *a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "op_type", r->rec->op_type);
    cJSON_AddStringToObject(a, "op_name", r->rec->op_type); /* ONNX Runtime's key */
    cJSON_AddStringToObject(a, "backend", r->rec->backend);
    cJSON_AddStringToObject(a, "provider", r->rec->backend); /* ONNX Runtime's key */
    cJSON_AddStringToObject(a, "placement", placement(r));
    cJSON_AddStringToObject(a, "time_source", r->simulated ? "simulated" : "measured");
    cJSON_AddStringToObject(a, "input_dtype", r->rec->in_dtype);
    cJSON_AddStringToObject(a, "dtype", r->rec->out_dtype);
    if (r->has_sim && r->sim.dtype[0])
        cJSON_AddStringToObject(a, "format", r->sim.dtype); /* the datapath that set the rate */
    cJSON_AddStringToObject(a, "shapes", r->rec->shapes);
    cJSON_AddNumberToObject(a, "macs", (double)r->rec->macs);
    cJSON_AddNumberToObject(a, "bytes", (double)r->rec->bytes);
    if (!r->has_sim)
        return a;
    cJSON_AddNumberToObject(a, "cycles", r->sim.cycles);
    cJSON_AddNumberToObject(a, "energy_pj", r->sim.energy_uj * 1e6);
    cJSON *st = cJSON_AddObjectToObject(a, "stalls");
    cJSON_AddNumberToObject(st, "compute_cycles", r->sim.compute_cycles);
    cJSON_AddNumberToObject(st, "noc_stall_cycles", r->sim.noc_stall_cycles);
    cJSON_AddNumberToObject(st, "memory_stall_cycles", r->sim.memory_stall_cycles);
    cJSON_AddNumberToObject(st, "dispatch_cycles", r->sim.dispatch_cycles);
    cJSON_AddNumberToObject(a, "host_link_us", r->sim.host_link_us);
    cJSON_AddNumberToObject(a, "utilization", r->sim.utilization);
    return a;
}

static char *trace_json(
    const qrun_profile *p, const prof_row *rows, int n, const char *model, const char *backend) {
    cJSON *root = cJSON_CreateObject();
    cJSON *ev = cJSON_AddArrayToObject(root, "traceEvents");
    double ts = 0;
    for (int k = 0; k < n; k++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", rows[k].rec->name);
        cJSON_AddStringToObject(e, "cat", "Node");
        cJSON_AddStringToObject(e, "ph", "X");
        cJSON_AddNumberToObject(e, "ts", ts); /* nodes run one after another */
        cJSON_AddNumberToObject(e, "dur", rows[k].us);
        cJSON_AddNumberToObject(e, "pid", 1);
        cJSON_AddNumberToObject(e, "tid", 1);
        cJSON_AddItemToObject(e, "args", event_args(&rows[k]));
        cJSON_AddItemToArray(ev, e);
        ts += rows[k].us;
    }
    cJSON_AddStringToObject(root, "displayTimeUnit", "ms");
    cJSON *o = cJSON_AddObjectToObject(root, "otherData");
    cJSON_AddStringToObject(o, "model", model);
    cJSON_AddStringToObject(o, "backend", backend);
    cJSON_AddNumberToObject(o, "timed_runs", p->added);
    cJSON_AddStringToObject(o, "aggregation", "median per node over the timed runs");
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    return s;
}

/* ---- CSV ---------------------------------------------------------------- */

static void csv_field(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void write_csv(FILE *f, const prof_row *rows, int n) {
    fprintf(f, "node,op_type,backend,placement,input_dtype,dtype,shapes,macs,bytes,time_us,"
               "time_source,cycles,energy_pj,compute_cycles,noc_stall_cycles,memory_stall_cycles,"
               "dispatch_cycles\n");
    for (int k = 0; k < n; k++) {
        const prof_row *r = &rows[k];
        const char *cols[] = {r->rec->name,     r->rec->op_type,   r->rec->backend, placement(r),
                              r->rec->in_dtype, r->rec->out_dtype, r->rec->shapes};
        for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) {
            csv_field(f, cols[c]);
            fputc(',', f);
        }
        fprintf(f, "%" PRId64 ",%" PRId64 ",%.3f,%s", r->rec->macs, r->rec->bytes, r->us,
                r->simulated ? "simulated" : "measured");
        if (r->has_sim)
            fprintf(f, ",%.1f,%.1f,%.1f,%.1f,%.1f,%.1f\n", r->sim.cycles, r->sim.energy_uj * 1e6,
                    r->sim.compute_cycles, r->sim.noc_stall_cycles, r->sim.memory_stall_cycles,
                    r->sim.dispatch_cycles);
        else
            fprintf(f, ",,,,,,\n");
    }
}

/* ---- table on stdout ---------------------------------------------------- */

typedef struct op_sum {
    const char *op;
    int count;
    double us;
} op_sum;

static int cmp_row_time(const void *a, const void *b) {
    double x = ((const prof_row *)a)->us, y = ((const prof_row *)b)->us;
    return (x < y) - (x > y);
}

static int cmp_op_time(const void *a, const void *b) {
    double x = ((const op_sum *)a)->us, y = ((const op_sum *)b)->us;
    return (x < y) - (x > y);
}

static double percent(double part, double total) {
    return total > 0 ? 100.0 * part / total : 0.0;
}

static int print_table(prof_row *rows, int n, int runs) {
    op_sum *ops = calloc((size_t)n + 1, sizeof *ops);
    if (!ops)
        return fail("out of memory");
    double total = 0;
    int n_ops = 0;
    for (int k = 0; k < n; k++) {
        total += rows[k].us;
        int f = 0;
        while (f < n_ops && strcmp(ops[f].op, rows[k].rec->op_type) != 0)
            f++;
        ops[f].op = rows[k].rec->op_type;
        ops[f].count++;
        ops[f].us += rows[k].us;
        n_ops += f == n_ops;
    }
    qsort(rows, (size_t)n, sizeof *rows, cmp_row_time);
    qsort(ops, (size_t)n_ops, sizeof *ops, cmp_op_time);
    printf("profile: %d nodes, %.3f us total (median of %d timed run%s per node; "
           "accelerator nodes: simulated time)\n",
           n, total, runs, runs == 1 ? "" : "s");
    printf("%5s  %-36s %-24s %-10s %12s %7s %7s %14s\n", "rank", "node", "op_type", "where",
           "time_us", "%", "cum%", "macs");
    double cum = 0;
    for (int k = 0; k < n; k++) {
        cum += rows[k].us;
        printf("%5d  %-36s %-24s %-10s %12.3f %7.2f %7.2f %14" PRId64 "\n", k + 1,
               rows[k].rec->name, rows[k].rec->op_type, placement(&rows[k]), rows[k].us,
               percent(rows[k].us, total), percent(cum, total), rows[k].rec->macs);
    }
    printf("\nby op type:\n%-24s %6s %12s %7s %7s\n", "op_type", "nodes", "time_us", "%", "cum%");
    cum = 0;
    for (int f = 0; f < n_ops; f++) {
        cum += ops[f].us;
        printf("%-24s %6d %12.3f %7.2f %7.2f\n", ops[f].op, ops[f].count, ops[f].us,
               percent(ops[f].us, total), percent(cum, total));
    }
    free(ops);
    return 0;
}

/* ---- entry -------------------------------------------------------------- */

static int write_file(qrun_profile *p, const prof_row *rows, int n, const char *json) {
    if (json)
        fputs(json, p->f);
    else
        write_csv(p->f, rows, n);
    int bad = fclose(p->f) != 0;
    p->f = NULL;
    return bad ? fail("cannot write profile '%s': %s", p->dest, strerror(errno)) : 0;
}

int qrun_profile_write(qrun_profile *p,
                       const qrun_session *sess,
                       const char *model,
                       const char *backend) {
    const char *dest = p->dest;
    if (!p->added)
        return fail("internal: no profiled run");
    prof_row *rows = calloc((size_t)p->n_nodes + 1, sizeof *rows);
    if (!rows)
        return fail("out of memory");
    int rc = 1;
    int n = build_rows(p, sess, rows);
    if (n < 0) {
        fail("out of memory");
    } else if (strcmp(dest, "-") == 0) {
        rc = print_table(rows, n, p->added);
    } else if (ends_with(dest, ".json")) {
        char *json = trace_json(p, rows, n, model, backend);
        rc = json ? write_file(p, rows, n, json) : fail("out of memory");
        cJSON_free(json);
    } else {
        rc = write_file(p, rows, n, NULL);
    }
    free(rows);
    return rc;
}
