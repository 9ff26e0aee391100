/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hostile inputs through the CLI: every file is given to `qrun run` in a
 * child process, which must either run (a corruption inside weights may still
 * load) or fail cleanly: a non-zero exit and exactly one error line on stderr
 * naming the file. A signal, a sanitizer report (exit 86) or a hang (timeout)
 * fails the test.
 *
 *   qrun_hostile corrupt QRUN MODELS_DIR
 *       every *.onnx under MODELS_DIR, truncated and corrupted at random
 *       positions, or with one node attribute set to an extreme value
 *       (runtime/rng.h, fixed seed); with --inputs where the model's
 *       folder has a test_data_set_0, and then one variant in five runs the
 *       original model on a copy of those inputs with one file corrupted. Environment:
 * QRUN_HOSTILE_SEED (1), QRUN_HOSTILE_VARIANTS (variants per small model, 6; models over 10 KB get
 * five times as many), QRUN_HOSTILE_TIMEOUT (seconds per run, 60), QRUN_HOSTILE_COMMAND ("run";
 * "info" runs `qrun info` instead). qrun_hostile crafted QRUN models and input files crafted to
 * break one rule each (external data escaping the folder, 2^40-element tensors, cycles, ...), each
 * with the words its error must contain.
 *
 * "qrun: note:" lines (a default input being fed) are not errors and are not
 * counted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "qrun/qrun.h"
#include "runtime/rng.h"
#include "tests/support/model_builder.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SANITIZER_EXIT 86

static const char *g_qrun;
static const char *g_tmp;
static int g_timeout = 60;
static int g_pass, g_fail, g_ran_ok;

static long env_long(const char *name, long dflt) {
    const char *s = getenv(name);
    if (!s || !*s)
        return dflt;
    char *end = NULL;
    long v = strtol(s, &end, 10);
    return (end && *end == '\0' && v >= 0) ? v : dflt;
}

/* ---- one child run -------------------------------------------------------- */

typedef struct run_result {
    bool signaled;
    int sig;
    int status;
    int error_lines; /* stderr lines other than "qrun: note:" */
    char line[1024]; /* the first of them */
} run_result;

/* Run qrun with args (NULL-terminated, argv[0] excluded), stdout discarded, stderr read back. */
static void run_qrun(const char *const *args, run_result *r) {
    memset(r, 0, sizeof *r);
    char errpath[PATH_MAX];
    snprintf(errpath, sizeof errpath, "%s/stderr.txt", g_tmp);
    const char *argv[32];
    int n = 0;
    argv[n++] = g_qrun;
    for (int i = 0; args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(2);
    }
    if (pid == 0) {
        FILE *o = freopen("/dev/null", "w", stdout);
        FILE *e = freopen(errpath, "w", stderr);
        if (!o || !e)
            _exit(3);
        alarm((unsigned)g_timeout); /* survives execv: the child dies by SIGALRM on a hang */
        execv(g_qrun, (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(st)) {
        r->signaled = true;
        r->sig = WTERMSIG(st);
    } else {
        r->status = WEXITSTATUS(st);
    }
    FILE *f = fopen(errpath, "r");
    char buf[4096];
    while (f && fgets(buf, sizeof buf, f)) {
        if (strncmp(buf, "qrun: note:", 11) == 0)
            continue;
        if (r->error_lines++ == 0) {
            buf[strcspn(buf, "\n")] = '\0';
            snprintf(r->line, sizeof r->line, "%s", buf);
        }
    }
    if (f)
        fclose(f);
}

/*
 * Judge one run: clean when it succeeded (allowed only if may_succeed) or failed with exactly
 * one "qrun: error:" line containing file_base (or alt_base, when not NULL) and, when given,
 * pattern.
 */
static bool judge_either(const char *label,
                         const run_result *r,
                         const char *file_base,
                         const char *alt_base,
                         const char *pattern,
                         bool may_succeed) {
    char why[1400] = "";
    if (r->signaled)
        snprintf(why, sizeof why, "%s", r->sig == SIGALRM ? "timed out" : strsignal(r->sig));
    else if (r->status == SANITIZER_EXIT)
        snprintf(why, sizeof why, "sanitizer report (exit %d)", SANITIZER_EXIT);
    else if (r->status == 0 && !may_succeed)
        snprintf(why, sizeof why, "succeeded, but must fail");
    else if (r->status != 0 && r->error_lines != 1)
        snprintf(why, sizeof why, "%d error lines, first: %s", r->error_lines, r->line);
    else if (r->status != 0 &&
             (strncmp(r->line, "qrun: error: ", 13) != 0 ||
              (!strstr(r->line, file_base) && !(alt_base && strstr(r->line, alt_base)))))
        snprintf(why, sizeof why, "error line does not name '%s': %s", file_base, r->line);
    else if (r->status != 0 && pattern && !strstr(r->line, pattern))
        snprintf(why, sizeof why, "error line lacks '%s': %s", pattern, r->line);
    if (why[0]) {
        g_fail++;
        printf("FAIL %s: %s\n", label, why);
        return false;
    }
    g_pass++;
    g_ran_ok += r->status == 0;
    return true;
}

static bool judge(const char *label,
                  const run_result *r,
                  const char *file_base,
                  const char *pattern,
                  bool may_succeed) {
    return judge_either(label, r, file_base, NULL, pattern, may_succeed);
}

/* ---- corrupt mode ------------------------------------------------------- */

typedef struct path_list {
    char **v;
    size_t n, cap;
} path_list;

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void find_models(const char *dir, path_list *out) {
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (lstat(p, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode)) {
            find_models(p, out);
            continue;
        }
        size_t len = strlen(e->d_name);
        if (!S_ISREG(sb.st_mode) || len < 5 || strcmp(e->d_name + len - 5, ".onnx") != 0)
            continue;
        if (out->n == out->cap) {
            out->cap = out->cap ? out->cap * 2 : 64;
            out->v = realloc(out->v, out->cap * sizeof *out->v);
            assert_non_null(out->v);
        }
        out->v[out->n++] = strdup(p);
    }
    closedir(d);
}

static uint8_t *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)sz + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)sz, f), (size_t)sz);
    fclose(f);
    *n = (size_t)sz;
    return b;
}

/*
 * Set one attribute value of one node of m to an extreme (0, -1, 2^31, INT64_MIN, NaN, Inf...):
 * the values shape inference and kernels must refuse rather than divide by or allocate from.
 * false when the model has no attribute to change.
 */
static bool mutate_attribute(qrun_rng *rng, Onnx__ModelProto *m) {
    static const int64_t k_ints[] = {
        0,   -1,  1, (int64_t)1 << 31, -((int64_t)1 << 31), INT64_MAX, INT64_MIN, (int64_t)1 << 40,
        255, -255};
    static const float k_floats[] = {0.0f, -0.0f, 1e30f, -1e30f, 1e-30f};
    Onnx__GraphProto *g = m->graph;
    if (!g || g->n_node == 0)
        return false;
    for (int tries = 0; tries < 16; tries++) {
        Onnx__NodeProto *nd = g->node[qrun_rng_u32(rng) % g->n_node];
        if (nd->n_attribute == 0)
            continue;
        Onnx__AttributeProto *a = nd->attribute[qrun_rng_u32(rng) % nd->n_attribute];
        int64_t iv = k_ints[qrun_rng_u32(rng) % (sizeof k_ints / sizeof k_ints[0])];
        float fv = k_floats[qrun_rng_u32(rng) % (sizeof k_floats / sizeof k_floats[0])];
        if (qrun_rng_u32(rng) % 4 == 0)
            fv = (qrun_rng_u32(rng) & 1) ? 1.0f / 0.0f : 0.0f / 0.0f;
        if (a->has_i) {
            a->i = iv;
        } else if (a->n_ints) {
            a->ints[qrun_rng_u32(rng) % a->n_ints] = iv;
        } else if (a->has_f) {
            a->f = fv;
        } else if (a->n_floats) {
            a->floats[qrun_rng_u32(rng) % a->n_floats] = fv;
        } else if (a->t && a->t->n_dims) {
            a->t->dims[qrun_rng_u32(rng) % a->t->n_dims] = iv;
        } else {
            continue;
        }
        return true;
    }
    return false;
}

/* Variant k of a model: a truncation, scattered byte changes, a burst of random bytes, or one
 * attribute set to an extreme value. */
static size_t make_variant(qrun_rng *rng, const uint8_t *src, size_t n, int k, uint8_t *dst) {
    memcpy(dst, src, n);
    if (n == 0)
        return 0;
    if (k % 4 == 3) {
        Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, n, src);
        size_t len = n;
        if (m && mutate_attribute(rng, m) && onnx__model_proto__get_packed_size(m) <= 2 * n + 64)
            len = onnx__model_proto__pack(m, dst);
        if (m)
            onnx__model_proto__free_unpacked(m, NULL);
        return len;
    }
    switch (k % 3) {
    case 0:
        return qrun_rng_u32(rng) % n;
    case 1: {
        int changes = 1 + (int)(qrun_rng_u32(rng) % 8);
        for (int i = 0; i < changes; i++)
            dst[qrun_rng_u32(rng) % n] = (uint8_t)qrun_rng_u32(rng);
        return n;
    }
    default: {
        size_t at = qrun_rng_u32(rng) % n, len = 1 + qrun_rng_u32(rng) % 16;
        for (size_t i = at; i < n && i < at + len; i++)
            dst[i] = (uint8_t)qrun_rng_u32(rng);
        return n;
    }
    }
}

/*
 * Run the original model on a copy of its inputs folder in which one input_<j>.pb is truncated
 * or corrupted: the run must succeed or fail naming the model or that file.
 */
static void corrupt_inputs(qrun_rng *rng, const char *model, const char *inputs, size_t i, long k) {
    char dir[PATH_MAX], src[PATH_MAX], base[32];
    snprintf(dir, sizeof dir, "%s/inputs_%zu_%ld", g_tmp, i, k);
    assert_int_equal(mkdir(dir, 0755), 0);
    int n_in = 0;
    for (;; n_in++) {
        snprintf(src, sizeof src, "%s/input_%d.pb", inputs, n_in);
        if (access(src, R_OK) != 0)
            break;
        size_t n = 0;
        uint8_t *b = read_all(src, &n);
        snprintf(base, sizeof base, "input_%d.pb", n_in);
        write_file(dir, base, b, n);
        free(b);
    }
    if (n_in == 0) {
        rm_rf(dir);
        return;
    }
    int j = (int)(qrun_rng_u32(rng) % (uint32_t)n_in);
    snprintf(base, sizeof base, "input_%d.pb", j);
    snprintf(src, sizeof src, "%s/%s", dir, base);
    size_t n = 0;
    uint8_t *b = read_all(src, &n), *v = malloc(n + 1);
    assert_non_null(v);
    size_t len = make_variant(rng, b, n, (int)(qrun_rng_u32(rng) % 3), v);
    write_file(dir, base, v, len);
    free(b);
    free(v);
    char label[PATH_MAX + 64];
    snprintf(label, sizeof label, "%s with a corrupted %s (variant %ld)", model, base, k);
    const char *args[] = {"run", model, "--threads", "1", "--inputs", dir, NULL};
    run_result r;
    run_qrun(args, &r);
    if (judge_either(label, &r, strrchr(model, '/') + 1, base, NULL, true))
        rm_rf(dir);
    else
        printf("     kept in %s\n", dir);
}

static int corrupt_main(const char *models_dir) {
    long seed = env_long("QRUN_HOSTILE_SEED", 1);
    long per_model = env_long("QRUN_HOSTILE_VARIANTS", 6);
    const char *command = getenv("QRUN_HOSTILE_COMMAND") ? getenv("QRUN_HOSTILE_COMMAND") : "run";
    bool run = strcmp(command, "run") == 0;
    path_list models = {0};
    find_models(models_dir, &models);
    if (models.n == 0) {
        printf("no *.onnx under %s\n", models_dir);
        return 1;
    }
    qsort(models.v, models.n, sizeof *models.v, cmp_str);
    qrun_rng rng;
    qrun_rng_seed(&rng, (uint32_t)seed);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int variants = 0;
    for (size_t i = 0; i < models.n; i++) {
        size_t n = 0;
        uint8_t *src = read_all(models.v[i], &n);
        uint8_t *buf = malloc(2 * n + 64); /* an attribute change may grow the file a little */
        assert_non_null(buf);
        char inputs[PATH_MAX];
        snprintf(inputs, sizeof inputs, "%s", models.v[i]);
        *strrchr(inputs, '/') = '\0';
        strncat(inputs, "/test_data_set_0", sizeof inputs - strlen(inputs) - 1);
        struct stat sb;
        bool has_inputs = stat(inputs, &sb) == 0 && S_ISDIR(sb.st_mode);
        long count = n > 10 * 1024 ? per_model * 5 : per_model;
        for (long k = 0; k < count; k++) {
            if (has_inputs && run && k % 5 == 4) {
                corrupt_inputs(&rng, models.v[i], inputs, i, k);
                variants++;
                continue;
            }
            size_t len = make_variant(&rng, src, n, (int)k, buf);
            char base[64], path[PATH_MAX], label[PATH_MAX + 64];
            snprintf(base, sizeof base, "hostile_%zu_%ld.onnx", i, k);
            write_file(g_tmp, base, buf, len);
            snprintf(path, sizeof path, "%s/%s", g_tmp, base);
            snprintf(label, sizeof label, "%s variant %ld (%s)", models.v[i], k,
                     k % 4 == 3   ? "attribute"
                     : k % 3 == 0 ? "truncated"
                                  : "corrupted");
            const char *args[] = {
                command, path, "--threads", "1", has_inputs && run ? "--inputs" : NULL,
                inputs,  NULL};
            run_result r;
            run_qrun(args, &r);
            if (!judge(label, &r, base, NULL, true)) {
                char keep[PATH_MAX];
                snprintf(keep, sizeof keep, "%s/failing_%s", g_tmp, base);
                rename(path, keep);
                printf("     kept as %s (seed %ld)\n", keep, seed);
            } else {
                unlink(path);
            }
            variants++;
        }
        free(buf);
        free(src);
        free(models.v[i]);
    }
    free(models.v);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("corrupt: %zu models, %d variants (seed %ld): %d clean (%d ran, %d refused), %d bad, "
           "%.1f s\n",
           models.n, variants, seed, g_pass, g_ran_ok, g_pass - g_ran_ok, g_fail, secs);
    return g_fail ? 1 : 0;
}

/* ---- crafted mode ------------------------------------------------------- */

/* Write m as dir/name and expect `qrun run` on it to fail naming name and pattern. */
static void expect_model(const char *dir,
                         const char *name,
                         const Onnx__ModelProto *m,
                         const char *pattern,
                         const char *const *extra) {
    size_t n = 0;
    uint8_t *buf = pack_model(m, &n);
    write_file(dir, name, buf, n);
    free(buf);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    const char *args[16] = {"run", path};
    int k = 2;
    for (int i = 0; extra && extra[i] && k < 15; i++)
        args[k++] = extra[i];
    args[k] = NULL;
    run_result r;
    run_qrun(args, &r);
    if (judge(name, &r, name, pattern, false))
        printf("ok   %s: %s\n", name, r.line);
}

static char *subdir(const char *parent, const char *name) {
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", parent, name);
    assert_int_equal(mkdir(p, 0755), 0);
    return strdup(p);
}

/* External data that escapes or misdescribes its file: each must be refused. */
static void crafted_external(void) {
    char *model_dir = subdir(g_tmp, "model"), *outside = subdir(g_tmp, "outside");
    float w[2] = {1.5f, -2.0f};
    write_file(outside, "secret.bin", w, sizeof w);
    write_file(model_dir, "w.bin", w, sizeof w);
    char target[PATH_MAX], lnk[PATH_MAX];
    snprintf(target, sizeof target, "%s/secret.bin", outside);
    snprintf(lnk, sizeof lnk, "%s/link.bin", model_dir);
    assert_int_equal(symlink(target, lnk), 0);
    snprintf(lnk, sizeof lnk, "%s/linkdir", model_dir);
    assert_int_equal(symlink(outside, lnk), 0);
    snprintf(lnk, sizeof lnk, "%s/hard.bin", model_dir);
    assert_int_equal(link(target, lnk), 0);

    static const struct {
        const char *file, *loc, *off, *len, *pattern;
    } cases[] = {
        {"ext_dotdot.onnx", "../outside/secret.bin", NULL, NULL, "contains a '..' segment"},
        {"ext_dotdot_inner.onnx", "sub/../../outside/secret.bin", NULL, NULL, "'..' segment"},
        {"ext_absolute.onnx", NULL, NULL, NULL, "is an absolute path"},
        {"ext_symlink.onnx", "link.bin", NULL, NULL, "symbolic link"},
        {"ext_symlink_dir.onnx", "linkdir/secret.bin", NULL, NULL, "symbolic link"},
        {"ext_hardlink.onnx", "hard.bin", NULL, NULL, "hard links"},
        {"ext_offset_past_end.onnx", "w.bin", "100", NULL, "is past the end"},
        {"ext_length_past_end.onnx", "w.bin", "4", "8", "goes beyond the end"},
        {"ext_length_mismatch.onnx", "w.bin", "0", "4", "does not match the tensor size 8"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tmodel t;
        tmodel_ext x;
        tmodel_init(&t);
        tmodel_set_external(&t, &x, cases[i].loc ? cases[i].loc : target, cases[i].off,
                            cases[i].len);
        expect_model(model_dir, cases[i].file, &t.m, cases[i].pattern, NULL);
    }
    free(model_dir);
    free(outside);
}

/* Tensors whose declared shape or data is wrong. */
static void crafted_tensors(void) {
    tmodel t;
    tmodel_init(&t);
    t.w_dims[0] = (int64_t)1 << 40;
    expect_model(g_tmp, "tensor_2pow40.onnx", &t.m,
                 "initializer 'W' has more than 268435456 elements", NULL);
    tmodel_init(&t);
    t.w.n_dims = 2, t.w_dims[0] = (int64_t)1 << 20, t.w_dims[1] = (int64_t)1 << 20;
    t.w.has_raw_data = 0; /* declared, no data at all */
    expect_model(g_tmp, "tensor_2pow40_nodata.onnx", &t.m, "initializer 'W' has more than", NULL);
    tmodel_init(&t);
    t.in_dim.dim_value = (int64_t)1 << 40;
    expect_model(g_tmp, "input_2pow40.onnx", &t.m, "value 'X' has more than", NULL);
    tmodel_init(&t);
    t.w_dims[0] = -2;
    expect_model(g_tmp, "negative_dim.onnx", &t.m, "initializer 'W' has negative dimension -2",
                 NULL);
    tmodel_init(&t);
    t.in_dim.dim_value = -3;
    expect_model(g_tmp, "negative_input_dim.onnx", &t.m, "value 'X' has negative dimension -3",
                 NULL);
    tmodel_init(&t);
    t.w.raw_data.len = 7;
    expect_model(g_tmp, "raw_data_size.onnx", &t.m,
                 "initializer 'W': raw_data has 7 bytes, "
                 "expected 8",
                 NULL);
    float fd[3] = {1, 2, 3};
    tmodel_init(&t);
    t.w.has_raw_data = 0, t.w.n_float_data = 3, t.w.float_data = fd;
    expect_model(g_tmp, "float_data_count.onnx", &t.m, "float_data holds 3 values, expected 2",
                 NULL);
}

/* Graphs that are not valid: each error names the node. */
static void crafted_graphs(void) {
    tmodel t;
    /* a cycle: Y = Add(X, Z), Z = Relu(Y) */
    tmodel_init(&t);
    Onnx__NodeProto relu;
    onnx__node_proto__init(&relu);
    char *relu_in[1] = {"Y"}, *relu_out[1] = {"Z"};
    relu.op_type = "Relu", relu.name = "relu";
    relu.n_input = 1, relu.input = relu_in, relu.n_output = 1, relu.output = relu_out;
    Onnx__NodeProto *nodes[2] = {&t.node, &relu};
    t.g.n_node = 2, t.g.node = nodes;
    t.node_in[1] = "Z";
    expect_model(g_tmp, "cycle.onnx", &t.m, "cycle through node", NULL);

    tmodel_init(&t);
    t.node_in[1] = "nowhere";
    expect_model(g_tmp, "undefined_input.onnx", &t.m, "input 'nowhere' is not defined by any node",
                 NULL);

    tmodel_init(&t);
    t.node.op_type = "FrobnicateXYZ";
    expect_model(g_tmp, "unknown_op.onnx", &t.m,
                 "op 'FrobnicateXYZ' (domain 'ai.onnx', opset 13) "
                 "is not supported",
                 NULL);

    tmodel_init(&t);
    t.node.n_input = 1;
    expect_model(g_tmp, "too_few_inputs.onnx", &t.m, "has 1 inputs; Add takes 2", NULL);

    qm_model q;
    int64_t d2[2] = {2, 2};
    qm_init(&q, "Concat", "cat", 13);
    qm_input(&q, "A", 1, 2, d2);
    qm_output(&q, "B");
    qm_attr_int(&q, "axis", 1);
    q.attr[0].type = 1, q.attr[0].has_i = 0, q.attr[0].has_f = 1, q.attr[0].f = 1.0f;
    expect_model(g_tmp, "attribute_type.onnx", &q.m,
                 "node 'cat' (Concat): attribute 'axis' must be INT, got FLOAT", NULL);

    /* a 2^40-element value computed from a 16-byte constant */
    qm_init(&q, "Expand", "big", 13);
    int64_t d1[1] = {1}, d2s[1] = {2}, huge[2] = {(int64_t)1 << 20, (int64_t)1 << 20};
    qm_input(&q, "X", 1, 1, d1);
    qm_const(&q, "shape", 7, 1, d2s, huge, sizeof huge);
    qm_output(&q, "Y");
    expect_model(g_tmp, "expand_2pow40.onnx", &q.m,
                 "node 'big' (Expand): output 'Y' would have 1099511627776 elements", NULL);

    tmodel_init(&t);
    t.w.data_type = 3; /* int8 W for a float X */
    t.w.raw_data.len = 2;
    expect_model(g_tmp, "dtype_mismatch.onnx", &t.m, "int8", NULL);

    tmodel_init(&t);
    t.node_out[0] = "X"; /* the node overwrites the graph input */
    t.out.name = "X";
    expect_model(g_tmp, "output_shadows_input.onnx", &t.m, "is already defined by a graph input",
                 NULL);
}

/* Input files that do not match the model's declared input. */
static void crafted_inputs(void) {
    tmodel t;
    tmodel_init(&t);
    size_t n = 0;
    uint8_t *buf = pack_model(&t.m, &n);
    write_file(g_tmp, "good.onnx", buf, n);
    free(buf);
    qrun_context *ctx = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    struct {
        const char *file;
        qrun_dtype dtype;
        int64_t dim;
        const char *pattern;
    } cases[] = {
        {"x_shape.npy", QRUN_DTYPE_FLOAT, 3, "input 'X': expected shape [2]"},
        {"x_dtype.npy", QRUN_DTYPE_INT64, 2, "input 'X': expected dtype float32, got int64"},
        {"x_shape.pb", QRUN_DTYPE_FLOAT, 5, "input 'X': expected shape [2]"},
    };
    char path[PATH_MAX], model[PATH_MAX], arg[PATH_MAX + 8];
    snprintf(model, sizeof model, "%s/good.onnx", g_tmp);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        qrun_tensor *x = NULL;
        assert_int_equal(qrun_tensor_create(ctx, cases[i].dtype, 1, &cases[i].dim, "X", &x),
                         QRUN_OK);
        snprintf(path, sizeof path, "%s/%s", g_tmp, cases[i].file);
        bool npy = strstr(cases[i].file, ".npy") != NULL;
        assert_int_equal(qrun_tensor_save_file(
                             ctx, x, path, npy ? QRUN_TENSOR_FORMAT_NPY : QRUN_TENSOR_FORMAT_PB),
                         QRUN_OK);
        qrun_tensor_free(x);
        snprintf(arg, sizeof arg, "X=%s", path);
        const char *args[] = {"run", model, "--input", arg, NULL};
        run_result r;
        run_qrun(args, &r);
        if (judge(cases[i].file, &r, "good.onnx", cases[i].pattern, false))
            printf("ok   %s: %s\n", cases[i].file, r.line);
    }
    /* .npy files qrun will not reinterpret: each error names the file */
    static const struct {
        const char *file, *header, *pattern;
    } npys[] = {
        {"x_fortran.npy", "{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }",
         "fortran_order arrays are not supported"},
        {"x_bigendian.npy", "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }",
         "big-endian"},
        {"x_complex.npy", "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }",
         "npy descr '<c8' is not supported"},
        {"x_short.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }",
         ".npy data has 8 bytes, the header says 12"},
    };
    for (size_t i = 0; i < sizeof npys / sizeof npys[0]; i++) {
        uint8_t file[128 + 8];
        memset(file, ' ', 128);
        memcpy(file, "\x93NUMPY\x01\x00\x76\x00", 10); /* v1.0, header length 118 */
        memcpy(file + 10, npys[i].header, strlen(npys[i].header));
        file[127] = '\n';
        float two[2] = {1, 2};
        memcpy(file + 128, two, sizeof two);
        write_file(g_tmp, npys[i].file, file, sizeof file);
        snprintf(path, sizeof path, "%s/%s", g_tmp, npys[i].file);
        snprintf(arg, sizeof arg, "X=%s", path);
        const char *args[] = {"run", model, "--input", arg, NULL};
        run_result r;
        run_qrun(args, &r);
        if (judge(npys[i].file, &r, npys[i].file, npys[i].pattern, false))
            printf("ok   %s: %s\n", npys[i].file, r.line);
    }
    /* an image that is not one past its magic bytes */
    static const uint8_t png[16] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I'};
    write_file(g_tmp, "x_broken.png", png, sizeof png);
    snprintf(path, sizeof path, "%s/x_broken.png", g_tmp);
    snprintf(arg, sizeof arg, "X=%s", path);
    const char *img_args[] = {"run", model, "--input", arg, NULL};
    run_result ri;
    run_qrun(img_args, &ri);
    if (judge("x_broken.png", &ri, "x_broken.png", NULL, false))
        printf("ok   x_broken.png: %s\n", ri.line);

    /* a truncated .npy: its own file is named */
    snprintf(path, sizeof path, "%s/x_shape.npy", g_tmp);
    assert_int_equal(truncate(path, 130), 0); /* header (128 bytes) + 2 */
    snprintf(arg, sizeof arg, "X=%s", path);
    const char *args[] = {"run", model, "--input", arg, NULL};
    run_result r;
    run_qrun(args, &r);
    if (judge("truncated x_shape.npy", &r, "x_shape.npy", ".npy data has", false))
        printf("ok   truncated x_shape.npy: %s\n", r.line);
    qrun_context_free(ctx);
}

static int crafted_main(void) {
    crafted_external();
    crafted_tensors();
    crafted_graphs();
    crafted_inputs();
    printf("crafted: %d clean, %d bad\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}

int main(int argc, char **argv) {
    if (argc < 3 || (strcmp(argv[1], "corrupt") == 0 && argc < 4)) {
        fprintf(stderr, "usage: qrun_hostile corrupt QRUN MODELS_DIR | crafted QRUN\n");
        return 2;
    }
    g_qrun = argv[2];
    g_timeout = (int)env_long("QRUN_HOSTILE_TIMEOUT", 60);
    char *tmp = tmpdir_make();
    g_tmp = tmp;
    int rc = strcmp(argv[1], "corrupt") == 0 ? corrupt_main(argv[3]) : crafted_main();
    if (rc == 0)
        rm_rf(tmp);
    else
        printf("files kept in %s\n", tmp);
    free(tmp);
    return rc;
}
