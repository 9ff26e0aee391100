/* SPDX-License-Identifier: Apache-2.0 */
/* Conformance runner: executes ONNX backend test cases, one child process per case, through the
 * public API. */
#include "qrun/qrun.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define RTOL 1e-3
#define ATOL 1e-7
#define MAX_IO 64

static const char *k_usage =
    "Usage: qrun_conformance [options] PATH...\n"
    "Runs ONNX backend test cases (folders holding model.onnx and test_data_set_*/) through qrun,\n"
    "each in its own process, and compares every output (rtol 1e-3, atol 1e-7; integers exact).\n"
    "A PATH is a case folder or a folder of case folders.\n"
    "\n"
    "  --one CASE              run one case in this process and exit 0 (pass) or 1 (fail)\n"
    "  --cases FILE            only run cases whose folder name is listed in FILE (one per line)\n"
    "  --known-failures FILE   cases expected to fail (\"name  # reason\" per line): they do not "
    "fail\n"
    "                          the run; a listed case that passes is reported as fixed\n"
    "  --write-failures FILE   write the names of failing cases to FILE\n"
    "  --timeout SEC           per-case time limit (default 120)\n"
    "  --threads N             kernel threads per case (default 1)\n"
    "  --quiet                 print only failures and the summary\n"
    "  --cli QRUN              run each data set with the command-line tool instead of the API:\n"
    "                          `QRUN run model.onnx --inputs SET --output-dir TMP`, then compare\n"
    "                          the output_N.pb files it wrote (their dtype included)\n"
    "Prints one line per case and ends with 'N passed, M failed, K skipped' where skipped counts "
    "the\n"
    "known failures; exits 1 if any case not in the known-failures list fails.\n";

/* ---- one case, in the child ------------------------------------------- */

static int case_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int case_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    return 1;
}

static bool path_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

/*
 * The ONNX 1.12 test data stores bfloat16 tensors with data_type UINT16
 * (the raw bit patterns); read such a file as the bfloat16 it stands for.
 */
static bool bf16_stored_as_u16(qrun_dtype model_dtype, const qrun_tensor *t) {
    return model_dtype == QRUN_DTYPE_BFLOAT16 && qrun_tensor_dtype(t) == QRUN_DTYPE_UINT16;
}

static int retype_bf16(qrun_context *ctx, qrun_tensor **t) {
    qrun_tensor *n = NULL;
    if (qrun_tensor_create(ctx, QRUN_DTYPE_BFLOAT16, qrun_tensor_rank(*t), qrun_tensor_dims(*t),
                           qrun_tensor_name(*t), &n))
        return case_fail("%s", qrun_context_errmsg(ctx));
    memcpy(qrun_tensor_data(n), qrun_tensor_data(*t), qrun_tensor_nbytes(*t));
    qrun_tensor_free(*t);
    *t = n;
    return 0;
}

static int compare_tensor(const qrun_tensor *got, const qrun_tensor *want, int idx) {
    if (qrun_tensor_dtype(got) != qrun_tensor_dtype(want))
        return case_fail("output %d: dtype %s, expected %s", idx,
                         qrun_dtype_name(qrun_tensor_dtype(got)),
                         qrun_dtype_name(qrun_tensor_dtype(want)));
    int r = qrun_tensor_rank(got);
    bool same = r == qrun_tensor_rank(want);
    for (int d = 0; same && d < r; d++)
        same = qrun_tensor_dims(got)[d] == qrun_tensor_dims(want)[d];
    if (!same)
        return case_fail("output %d: shape mismatch (rank %d vs %d)", idx, r,
                         qrun_tensor_rank(want));
    qrun_dtype dt = qrun_tensor_dtype(got);
    bool is_float = dt == QRUN_DTYPE_FLOAT || dt == QRUN_DTYPE_DOUBLE || dt == QRUN_DTYPE_FLOAT16 ||
                    dt == QRUN_DTYPE_BFLOAT16;
    int64_t n = qrun_tensor_numel(got), bad = 0, first = -1;
    for (int64_t i = 0; i < n; i++) {
        double a = qrun_tensor_get_f64(got, i), b = qrun_tensor_get_f64(want, i);
        bool ok;
        if (isnan(a) || isnan(b))
            ok = isnan(a) && isnan(b);
        else if (isinf(a) || isinf(b))
            ok = a == b;
        else if (is_float)
            ok = fabs(a - b) <= ATOL + RTOL * fabs(b);
        else
            ok = a == b;
        if (!ok && bad++ == 0)
            first = i;
    }
    if (bad)
        return case_fail(
            "output %d: %lld of %lld elements differ; first at %lld: got %.9g, expected %.9g", idx,
            (long long)bad, (long long)n, (long long)first, qrun_tensor_get_f64(got, first),
            qrun_tensor_get_f64(want, first));
    return 0;
}

static int
run_data_set(qrun_context *ctx, qrun_session *sess, const qrun_model *m, const char *dir) {
    int n_in = qrun_model_input_count(m), n_out = qrun_model_output_count(m);
    if (n_in > MAX_IO || n_out > MAX_IO)
        return case_fail("too many inputs/outputs");
    qrun_tensor *ins[MAX_IO] = {0}, *outs[MAX_IO] = {0}, *want = NULL;
    int rc = 1;
    char path[PATH_MAX];
    for (int i = 0; i < n_in; i++) {
        snprintf(path, sizeof path, "%s/input_%d.pb", dir, i);
        if (qrun_tensor_load_file(ctx, path, &ins[i])) {
            case_fail("%s", qrun_context_errmsg(ctx));
            goto out;
        }
        qrun_value_info vi;
        qrun_model_input_info(m, i, &vi);
        if (bf16_stored_as_u16(vi.dtype, ins[i]) && retype_bf16(ctx, &ins[i]))
            goto out;
    }
    if (qrun_session_run(sess, (const qrun_tensor *const *)ins, n_in, outs, n_out)) {
        case_fail("run: %s", qrun_context_errmsg(ctx));
        goto out;
    }
    for (int j = 0; j < n_out; j++) {
        snprintf(path, sizeof path, "%s/output_%d.pb", dir, j);
        if (!path_exists(path))
            continue;
        if (qrun_tensor_load_file(ctx, path, &want)) {
            case_fail("%s", qrun_context_errmsg(ctx));
            goto out;
        }
        if (bf16_stored_as_u16(qrun_tensor_dtype(outs[j]), want) && retype_bf16(ctx, &want))
            goto out;
        int bad = compare_tensor(outs[j], want, j);
        qrun_tensor_free(want);
        want = NULL;
        if (bad)
            goto out;
    }
    rc = 0;
out:
    for (int i = 0; i < MAX_IO; i++) {
        qrun_tensor_free(ins[i]);
        qrun_tensor_free(outs[i]);
    }
    return rc;
}

/* ---- one data set through the command-line tool ----------------------- */

/* Run argv (NULL-terminated) with stdout to /dev/null and stderr into err; its exit status. */
static int spawn(char *const *argv, char *err, size_t cap) {
    int fds[2];
    err[0] = '\0';
    if (pipe(fds) != 0)
        return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, STDOUT_FILENO);
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        close(fds[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    size_t used = 0;
    ssize_t got;
    char buf[1024];
    while ((got = read(fds[0], buf, sizeof buf)) > 0) {
        size_t take = (size_t)got;
        if (used + take >= cap)
            take = cap - used - 1;
        memcpy(err + used, buf, take);
        used += take;
    }
    err[used] = '\0';
    err[strcspn(err, "\n")] = '\0';
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Compare every output_N.pb of the data set with the file the CLI wrote into out_dir. */
static int compare_written(qrun_context *ctx, const char *set, const char *out_dir) {
    char want_path[PATH_MAX], got_path[PATH_MAX];
    for (int j = 0; j < MAX_IO; j++) {
        snprintf(want_path, sizeof want_path, "%s/output_%d.pb", set, j);
        if (!path_exists(want_path))
            break;
        snprintf(got_path, sizeof got_path, "%s/output_%d.pb", out_dir, j);
        if (!path_exists(got_path))
            return case_fail("output %d: the CLI wrote no %s", j, got_path);
        qrun_tensor *got = NULL, *want = NULL;
        int bad = 0;
        if (qrun_tensor_load_file(ctx, got_path, &got) ||
            qrun_tensor_load_file(ctx, want_path, &want))
            bad = case_fail("%s", qrun_context_errmsg(ctx));
        if (!bad && bf16_stored_as_u16(qrun_tensor_dtype(got), want))
            bad = retype_bf16(ctx, &want);
        if (!bad)
            bad = compare_tensor(got, want, j);
        qrun_tensor_free(got);
        qrun_tensor_free(want);
        if (bad)
            return 1;
    }
    return 0;
}

static void remove_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char p[PATH_MAX];
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

static int run_data_set_cli(
    qrun_context *ctx, const char *cli, const char *model, const char *set, int threads) {
    const char *tmp = getenv("TMPDIR");
    char out_dir[PATH_MAX], th[16], err[1024];
    snprintf(out_dir, sizeof out_dir, "%s/qrun_conformance.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(out_dir))
        return case_fail("mkdtemp: %s", strerror(errno));
    snprintf(th, sizeof th, "%d", threads);
    char *argv[] = {(char *)cli,    "run",   (char *)model, "--inputs", (char *)set,
                    "--output-dir", out_dir, "--threads",   th,         NULL};
    int code = spawn(argv, err, sizeof err);
    int rc = code == 0 ? compare_written(ctx, set, out_dir)
                       : case_fail("%s exited with %d: %s", cli, code, err);
    remove_dir(out_dir);
    return rc;
}

static int name_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_one_case(const char *case_dir, int threads, const char *cli) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/model.onnx", case_dir);
    qrun_options o;
    qrun_options_init(&o);
    o.n_threads = threads;
    qrun_context *ctx = NULL;
    if (qrun_context_create(&o, &ctx))
        return case_fail("no memory");
    qrun_model *m = NULL;
    qrun_session *sess = NULL;
    int rc = 1, n_sets = 0;
    char model_path[PATH_MAX];
    snprintf(model_path, sizeof model_path, "%s", path);
    if (!cli && qrun_model_load(ctx, path, &m)) {
        case_fail("load: %s", qrun_context_errmsg(ctx));
        goto out;
    }
    if (!cli && qrun_session_create(ctx, m, NULL, &sess)) {
        case_fail("session: %s", qrun_context_errmsg(ctx));
        goto out;
    }
    DIR *d = opendir(case_dir);
    if (!d) {
        case_fail("cannot open %s", case_dir);
        goto out;
    }
    char *sets[256];
    struct dirent *e;
    while ((e = readdir(d)) && n_sets < 256) {
        if (strncmp(e->d_name, "test_data_set_", 14) == 0)
            sets[n_sets++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(sets, (size_t)n_sets, sizeof sets[0], name_cmp);
    rc = n_sets ? 0 : case_fail("no test_data_set_* folder");
    for (int s = 0; s < n_sets; s++) {
        snprintf(path, sizeof path, "%s/%s", case_dir, sets[s]);
        int bad = rc    ? 0
                  : cli ? run_data_set_cli(ctx, cli, model_path, path, threads)
                        : run_data_set(ctx, sess, m, path);
        if (bad) {
            rc = 1;
            printf("  (in %s)\n", sets[s]);
        }
        free(sets[s]);
    }
out:
    qrun_session_free(sess);
    qrun_model_free(m);
    qrun_context_free(ctx);
    return rc;
}

/* ---- the driver --------------------------------------------------------- */

typedef struct name_list {
    char **names;
    int n, cap;
} name_list;

static void list_add(name_list *l, const char *s) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->names = realloc(l->names, (size_t)l->cap * sizeof *l->names);
        if (!l->names) {
            perror("realloc");
            exit(2);
        }
    }
    l->names[l->n++] = strdup(s);
}

static bool list_has(const name_list *l, const char *s) {
    for (int i = 0; i < l->n; i++) {
        if (strcmp(l->names[i], s) == 0)
            return true;
    }
    return false;
}

/* One name per line; '#' starts a comment; blank lines ignored. */
static int list_read(name_list *l, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "qrun_conformance: %s: %s\n", path, strerror(errno));
        return 1;
    }
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        char *end = s + strcspn(s, " \t\r\n");
        *end = '\0';
        if (*s)
            list_add(l, s);
    }
    fclose(f);
    return 0;
}

static void list_free(name_list *l) {
    for (int i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    l->names = NULL;
    l->n = l->cap = 0;
}

static const char *base_name(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static void collect_cases(const char *path, name_list *cases) {
    char model[PATH_MAX];
    snprintf(model, sizeof model, "%s/model.onnx", path);
    if (path_exists(model)) {
        list_add(cases, path);
        return;
    }
    DIR *d = opendir(path);
    if (!d) {
        fprintf(stderr, "qrun_conformance: %s: %s\n", path, strerror(errno));
        return;
    }
    name_list sub = {0};
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        snprintf(model, sizeof model, "%s/model.onnx", p);
        if (path_exists(model))
            list_add(&sub, p);
    }
    closedir(d);
    qsort(sub.names, (size_t)sub.n, sizeof sub.names[0], name_cmp);
    for (int i = 0; i < sub.n; i++) {
        list_add(cases, sub.names[i]);
        free(sub.names[i]);
    }
    free(sub.names);
}

typedef enum outcome { PASS, FAIL, CRASH, TIMEOUT } outcome;

/* Fork; the child runs the case with an alarm; its stdout comes back through a pipe. */
static outcome run_isolated(const char *self,
                            const char *case_dir,
                            int timeout,
                            int threads,
                            const char *cli,
                            char *msg,
                            size_t cap) {
    int fds[2];
    msg[0] = '\0';
    if (pipe(fds) != 0)
        return CRASH;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        snprintf(msg, cap, "fork failed");
        return CRASH;
    }
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        char t[32], th[32];
        snprintf(t, sizeof t, "%d", timeout);
        snprintf(th, sizeof th, "%d", threads);
        alarm((unsigned)timeout);
        if (cli)
            execl(self, self, "--threads", th, "--cli", cli, "--one", case_dir, (char *)NULL);
        else
            execl(self, self, "--threads", th, "--one", case_dir, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t used = 0;
    ssize_t got;
    char buf[4096];
    while ((got = read(fds[0], buf, sizeof buf)) > 0) {
        size_t take = (size_t)got;
        if (used + take >= cap)
            take = cap - used - 1;
        memcpy(msg + used, buf, take);
        used += take;
    }
    msg[used] = '\0';
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    for (char *p = msg; *p; p++) {
        if (*p == '\n' && p[1])
            *p = ' ';
    }
    msg[strcspn(msg, "\n")] = '\0';
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        if (sig == SIGALRM) {
            snprintf(msg, cap, "timed out after %d s", timeout);
            return TIMEOUT;
        }
        size_t l = strlen(msg);
        snprintf(msg + l, cap - l, "%skilled by signal %d (%s)", l ? "; " : "", sig,
                 strsignal(sig));
        return CRASH;
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 2;
    if (code == 0)
        return PASS;
    if (code != 1) {
        size_t l = strlen(msg);
        snprintf(msg + l, cap - l, "%sexit code %d", l ? "; " : "", code);
        return CRASH;
    }
    return FAIL;
}

int main(int argc, char **argv) {
    name_list known = {0}, only = {0}, cases = {0};
    const char *write_failures = NULL, *cli = NULL;
    int timeout = 120, threads = 1;
    bool quiet = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (strcmp(a, "--help") == 0) {
            fputs(k_usage, stdout);
            return 0;
        } else if (strcmp(a, "--one") == 0 && has) {
            return run_one_case(argv[i + 1], threads, cli) ? 1 : 0;
        } else if (strcmp(a, "--cli") == 0 && has) {
            cli = argv[++i];
        } else if (strcmp(a, "--known-failures") == 0 && has) {
            if (list_read(&known, argv[++i]))
                return 2;
        } else if (strcmp(a, "--cases") == 0 && has) {
            if (list_read(&only, argv[++i]))
                return 2;
        } else if (strcmp(a, "--write-failures") == 0 && has) {
            write_failures = argv[++i];
        } else if (strcmp(a, "--timeout") == 0 && has) {
            timeout = atoi(argv[++i]);
        } else if (strcmp(a, "--threads") == 0 && has) {
            threads = atoi(argv[++i]);
        } else if (strcmp(a, "--quiet") == 0) {
            quiet = true;
        } else if (a[0] == '-') {
            fprintf(stderr, "qrun_conformance: unknown option %s\n%s", a, k_usage);
            return 2;
        } else {
            collect_cases(a, &cases);
        }
    }
    if (timeout <= 0)
        timeout = 120;
    if (cases.n == 0) {
        fprintf(stderr, "qrun_conformance: no test cases found\n%s", k_usage);
        return 2;
    }
    char self[PATH_MAX];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl <= 0) {
        fprintf(stderr, "qrun_conformance: cannot find own executable\n");
        return 2;
    }
    self[sl] = '\0';
    FILE *wf = write_failures ? fopen(write_failures, "w") : NULL;
    int passed = 0, failed = 0, xfail = 0, fixed = 0;
    static const char *const k_outcome[] = {"PASS", "FAIL", "CRASH", "TIMEOUT"};
    for (int c = 0; c < cases.n; c++) {
        const char *name = base_name(cases.names[c]);
        if (only.n && !list_has(&only, name))
            continue;
        char msg[2048];
        outcome o = run_isolated(self, cases.names[c], timeout, threads, cli, msg, sizeof msg);
        bool expected_fail = list_has(&known, name);
        if (o == PASS) {
            passed++;
            if (expected_fail) {
                fixed++;
                printf("PASS %s (listed as a known failure: remove it from the list)\n", name);
            } else if (!quiet) {
                printf("PASS %s\n", name);
            }
            continue;
        }
        if (wf)
            fprintf(wf, "%s  # %s: %.200s\n", name, k_outcome[o], msg);
        /* A crash or hang is never acceptable, known or not. */
        if (expected_fail && o == FAIL) {
            xfail++;
            if (!quiet)
                printf("XFAIL %s: %s\n", name, msg);
            continue;
        }
        failed++;
        printf("%s %s: %s\n", k_outcome[o], name, msg);
    }
    if (wf)
        fclose(wf);
    if (fixed)
        printf("%d known failures now pass\n", fixed);
    if (xfail)
        printf("%d known failures (skipped)\n", xfail);
    printf("%d passed, %d failed, %d skipped\n", passed, failed, xfail);
    list_free(&known);
    list_free(&only);
    list_free(&cases);
    return failed ? 1 : 0;
}
