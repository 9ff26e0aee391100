/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hardware description: JSON in (strict), JSON and text out. One table
 * (k_fields) lists every scalar parameter with its section, key, type,
 * range and unit; the loader, the validator, the JSON writer and the text
 * listing all walk it, so a new parameter is one line here plus its field.
 *
 * cJSON allocates with its process-wide hooks (malloc). Setting those hooks
 * to a context's allocator would be global mutable state shared by every
 * context, so the cJSON trees stay short-lived and everything kept is
 * copied into memory from the caller's allocator.
 */
#include "backends/accel_sim/hw_config.h"

#include "backends/accel_sim/hw_presets.h"
#include "runtime/alloc.h"
#include "runtime/dtype.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* ---- the parameter table ------------------------------------------------- */

typedef enum field_type { F_INT, F_I64, F_F64, F_BOOL } field_type;

typedef struct field_desc {
    const char *section; /* JSON object holding the key; "" for a dtype entry */
    const char *key;
    field_type type;
    size_t offset; /* into hw_config, or into hw_dtype_caps for dtype fields */
    double lo, hi; /* valid range, inclusive unless lo_open */
    bool lo_open;
    const char *unit; /* for the text listing */
} field_desc;

#define FLD(sec, key, type, member, lo, hi, open, unit)                                            \
    { sec, key, type, offsetof(hw_config, member), lo, hi, open, unit }
#define DFLD(key, type, member, lo, hi, open, unit)                                                \
    { "", key, type, offsetof(hw_dtype_caps, member), lo, hi, open, unit }

static const field_desc k_fields[] = {
    FLD("chip", "grid_rows", F_INT, grid_rows, 1, 4096, false, "banks"),
    FLD("chip", "grid_cols", F_INT, grid_cols, 1, 4096, false, "banks"),
    FLD("chip", "banks", F_INT, banks, 1, 4096.0 * 4096.0, false, "banks"),
    FLD("chip", "clock_mhz", F_F64, clock_mhz, 0, 100000, true, "MHz"),
    FLD("bank", "pe_rows", F_INT, pe_rows, 1, 4096, false, "rows"),
    FLD("bank", "pes_per_row", F_INT, pes_per_row, 1, 65536, false, "PEs"),
    FLD("bank", "sram_bytes", F_I64, sram_bytes, 1, 1099511627776.0, false, "bytes"),
    FLD("bank", "controllers", F_INT, controllers, 1, 64, false, "cores"),
    FLD("bank", "dispatch_cycles", F_F64, dispatch_cycles, 0, 1e9, false, "cycles"),
    FLD("bank", "zero_detect", F_BOOL, zero_detect, 0, 1, false, ""),
    FLD("bank", "mapping_efficiency", F_F64, mapping_efficiency, 0, 1, true, "fraction"),
    FLD("row", "rotator_bytes_per_cycle", F_F64, rotator_bytes_per_cycle, 0, 1e6, true, "B/cycle"),
    FLD("row", "rotator_hop_cycles", F_F64, rotator_hop_cycles, 0, 1e6, false, "cycles"),
    FLD("row", "reduce_cycles_per_level", F_F64, reduce_cycles_per_level, 0, 1e6, false, "cycles"),
    FLD("row",
        "requant_elements_per_cycle",
        F_F64,
        requant_elements_per_cycle,
        0,
        1e6,
        true,
        "elements/cycle"),
    FLD("noc", "ew_links", F_INT, noc_ew_links, 0, 64, false, "links"),
    FLD("noc", "ew_gb_per_s", F_F64, noc_ew_gb_per_s, 0, 1e6, false, "GB/s"),
    FLD("noc", "ns_links", F_INT, noc_ns_links, 0, 64, false, "links"),
    FLD("noc", "ns_gb_per_s", F_F64, noc_ns_gb_per_s, 0, 1e6, false, "GB/s"),
    FLD("noc", "hop_latency_cycles", F_F64, noc_hop_latency_cycles, 0, 1e6, false, "cycles"),
    FLD("noc", "io_ring_gb_per_s", F_F64, io_ring_gb_per_s, 0, 1e7, true, "GB/s"),
    FLD("offchip", "bytes", F_I64, offchip_bytes, 0, 1125899906842624.0, false, "bytes"),
    FLD("offchip", "gb_per_s", F_F64, offchip_gb_per_s, 0, 1e6, false, "GB/s"),
    FLD("offchip", "latency_ns", F_F64, offchip_latency_ns, 0, 1e6, false, "ns"),
    FLD("host", "gb_per_s", F_F64, host_gb_per_s, 0, 1e6, true, "GB/s"),
    FLD("host", "latency_us", F_F64, host_latency_us, 0, 1e6, false, "us"),
    FLD("host", "launch_us", F_F64, host_launch_us, 0, 1e6, false, "us"),
    FLD("energy", "sram_read_pj_per_byte", F_F64, sram_read_pj_per_byte, 0, 1e4, true, "pJ/B"),
    FLD("energy", "sram_write_pj_per_byte", F_F64, sram_write_pj_per_byte, 0, 1e4, true, "pJ/B"),
    FLD("energy", "rotator_pj_per_byte", F_F64, rotator_pj_per_byte, 0, 1e4, false, "pJ/B"),
    FLD("energy", "noc_pj_per_byte_hop", F_F64, noc_pj_per_byte_hop, 0, 1e4, false, "pJ/B/hop"),
    FLD("energy", "offchip_pj_per_byte", F_F64, offchip_pj_per_byte, 0, 1e4, false, "pJ/B"),
    FLD("energy", "host_pj_per_byte", F_F64, host_pj_per_byte, 0, 1e4, false, "pJ/B"),
    FLD("energy",
        "requant_pj_per_element",
        F_F64,
        requant_pj_per_element,
        0,
        1e4,
        false,
        "pJ/element"),
    FLD("power", "static_w", F_F64, static_w, 0, 1e5, false, "W"),
    FLD("power", "max_w", F_F64, max_w, 0, 1e5, true, "W"),
    FLD("power", "board_w", F_F64, board_w, 0, 1e5, false, "W"),
};
enum { N_FIELDS = sizeof k_fields / sizeof k_fields[0] };

static const char *const k_sections[] = {"chip",    "bank", "row",    "noc",
                                         "offchip", "host", "energy", "power"};
enum { N_SECTIONS = sizeof k_sections / sizeof k_sections[0] };

/* Per-dtype fields; "accumulator" is an object handled beside them. */
static const field_desc k_dtype_fields[] = {
    DFLD("macs_per_pe_per_cycle", F_F64, macs_per_pe_per_cycle, 0, 64, true, "MAC/PE/cycle"),
    DFLD("mac_pj", F_F64, mac_pj, 0, 1e3, true, "pJ"),
};
enum { N_DTYPE_FIELDS = sizeof k_dtype_fields / sizeof k_dtype_fields[0] };

/* Input datatypes a description may list: the --dtype names plus the wider or narrower
 * formats accelerator.md's presets mention (int16, int4, bf16). */
static const struct {
    const char *key;
    qrun_dtype dt;
} k_dtype_keys[] = {
    {"int8", QRUN_DTYPE_INT8},
    {"uint8", QRUN_DTYPE_UINT8},
    {"fp8e4m3", QRUN_DTYPE_FLOAT8E4M3FN},
    {"fp8e4m3fnuz", QRUN_DTYPE_FLOAT8E4M3FNUZ},
    {"fp8e5m2", QRUN_DTYPE_FLOAT8E5M2},
    {"fp8e5m2fnuz", QRUN_DTYPE_FLOAT8E5M2FNUZ},
    {"fp8e3m4", QRUN_DTYPE_FLOAT8E3M4},
    {"int16", QRUN_DTYPE_INT16},
    {"int4", QRUN_DTYPE_INT4},
    {"bf16", QRUN_DTYPE_BFLOAT16},
    {"fp16", QRUN_DTYPE_FLOAT16},
};
enum { N_DTYPE_KEYS = sizeof k_dtype_keys / sizeof k_dtype_keys[0] };

static const char *const k_acc_kinds[] = {"", "int", "float", "fixed"};

static const char *const k_top_keys[] = {"name",  "description", "notes",    "chip", "bank",
                                         "row",   "noc",         "offchip",  "host", "energy",
                                         "power", "dtypes",      "peak_tops"};
enum { N_TOP_KEYS = sizeof k_top_keys / sizeof k_top_keys[0] };

const char *hw_dtype_key(qrun_dtype dt) {
    for (int k = 0; k < N_DTYPE_KEYS; k++) {
        if (k_dtype_keys[k].dt == dt)
            return k_dtype_keys[k].key;
    }
    return NULL;
}

qrun_dtype hw_dtype_from_key(const char *key) {
    qrun_dtype dt = qrun_dtype_from_name(key);
    return hw_dtype_key(dt) ? dt : QRUN_DTYPE_UNDEFINED;
}

/* ---- presets ------------------------------------------------------------- */

int hw_preset_count(void) {
    return qrun_hw_preset_blob_count;
}

const char *hw_preset_name(int i) {
    return (i >= 0 && i < qrun_hw_preset_blob_count) ? qrun_hw_preset_blobs[i].name : NULL;
}

/* ---- derived figures ----------------------------------------------------- */

int64_t hw_total_pes(const hw_config *hw) {
    return (int64_t)hw->banks * hw->pe_rows * hw->pes_per_row;
}

double hw_noc_aggregate_gb_per_s(const hw_config *hw) {
    return hw->grid_rows * hw->noc_ew_links * hw->noc_ew_gb_per_s +
           hw->grid_cols * hw->noc_ns_links * hw->noc_ns_gb_per_s;
}

bool hw_peak_tops(const hw_config *hw, qrun_dtype dt, double *tops) {
    if ((int)dt <= 0 || dt >= QRUN_DTYPE_COUNT || !hw->dtypes[dt].present)
        return false;
    double macs_per_cycle = (double)hw_total_pes(hw) * hw->dtypes[dt].macs_per_pe_per_cycle;
    *tops = 2.0 * macs_per_cycle * hw->clock_mhz * 1e6 / 1e12;
    return true;
}

/* ---- loading ------------------------------------------------------------- */

typedef struct loader {
    const char *label;
    const qrun_allocator *alloc;
    hw_config *hw;
    qrun_err *err;
    size_t sources_cap;
} loader;

static qrun_status bad(loader *L, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static qrun_status bad(loader *L, const char *path, const char *fmt, ...) {
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return qrun_errf(L->err, QRUN_E_MODEL, "%s: %s: %s", L->label, path, what);
}

static void join(char *buf, size_t cap, const char *a, const char *b) {
    if (a[0])
        snprintf(buf, cap, "%s.%s", a, b);
    else
        snprintf(buf, cap, "%s", b);
}

static bool in_list(const char *key, const char *const *list, int n) {
    for (int k = 0; k < n; k++) {
        if (strcmp(key, list[k]) == 0)
            return true;
    }
    return false;
}

/* Every key of obj must be in allowed, and appear once (cJSON keeps duplicates). */
static qrun_status
check_keys(loader *L, const cJSON *obj, const char *path, const char *const *allowed, int n) {
    for (const cJSON *c = obj->child; c; c = c->next) {
        char p[256];
        join(p, sizeof p, path, c->string);
        if (!in_list(c->string, allowed, n))
            return bad(L, p, "unknown key");
        for (const cJSON *d = obj->child; d != c; d = d->next) {
            if (strcmp(d->string, c->string) == 0)
                return bad(L, p, "duplicate key");
        }
    }
    return QRUN_OK;
}

static const char *range_text(const field_desc *f, char *buf, size_t cap) {
    if (f->type == F_BOOL)
        return "must be true or false";
    const char *what = (f->type == F_F64) ? "a number" : "an integer";
    if (f->lo_open)
        snprintf(buf, cap, "must be %s > %.10g and <= %.10g", what, f->lo, f->hi);
    else
        snprintf(buf, cap, "must be %s in [%.10g, %.10g]", what, f->lo, f->hi);
    return buf;
}

static const char *json_type_name(const cJSON *v) {
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsBool(v))
        return "a boolean";
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsArray(v))
        return "an array";
    if (cJSON_IsObject(v))
        return "an object";
    return "null";
}

static qrun_status
read_field(loader *L, const cJSON *obj, const char *sec, const field_desc *f, void *base) {
    char p[256], rt[160];
    join(p, sizeof p, sec, f->key);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, f->key);
    if (!v)
        return bad(L, p, "missing required key");
    char *dst = (char *)base + f->offset;
    if (f->type == F_BOOL) {
        if (!cJSON_IsBool(v))
            return bad(L, p, "%s, got %s", range_text(f, rt, sizeof rt), json_type_name(v));
        *(bool *)dst = cJSON_IsTrue(v);
        return QRUN_OK;
    }
    if (!cJSON_IsNumber(v))
        return bad(L, p, "%s, got %s", range_text(f, rt, sizeof rt), json_type_name(v));
    double x = v->valuedouble;
    bool integral = f->type == F_F64 || x == floor(x);
    bool in_range = isfinite(x) && (f->lo_open ? x > f->lo : x >= f->lo) && x <= f->hi;
    if (!integral || !in_range)
        return bad(L, p, "%s, got %.10g", range_text(f, rt, sizeof rt), x);
    if (f->type == F_INT)
        *(int *)dst = (int)x;
    else if (f->type == F_I64)
        *(int64_t *)dst = (int64_t)x;
    else
        *(double *)dst = x;
    return QRUN_OK;
}

static qrun_status add_source(loader *L, const char *section, const char *field, const char *text) {
    hw_config *hw = L->hw;
    if (qrun_grow(L->alloc, (void **)&hw->sources, sizeof *hw->sources, &L->sources_cap,
                  (size_t)hw->n_sources + 1))
        return qrun_errf(L->err, QRUN_E_NOMEM, "%s: out of memory", L->label);
    hw_source *s = &hw->sources[hw->n_sources];
    s->section = qrun_strdup(L->alloc, section);
    s->field = qrun_strdup(L->alloc, field);
    s->text = qrun_strdup(L->alloc, text);
    hw->n_sources++;
    if (!s->section || !s->field || !s->text)
        return qrun_errf(L->err, QRUN_E_NOMEM, "%s: out of memory", L->label);
    return QRUN_OK;
}

/* "sources": {"field": "citation", ...}; each key must name a parameter of its section. */
static qrun_status
read_sources(loader *L, const cJSON *obj, const char *sec, const char *const *fields, int n) {
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(obj, "sources");
    if (!src)
        return QRUN_OK;
    char p[256];
    join(p, sizeof p, sec, "sources");
    if (!cJSON_IsObject(src))
        return bad(L, p, "must be an object mapping parameter names to citations");
    qrun_status s = check_keys(L, src, p, fields, n);
    for (const cJSON *c = src->child; c && !s; c = c->next) {
        char q[256];
        join(q, sizeof q, p, c->string);
        if (!cJSON_IsString(c))
            return bad(L, q, "must be a string");
        s = add_source(L, sec, c->string, c->valuestring);
    }
    return s;
}

static qrun_status
read_string(loader *L, const cJSON *root, const char *key, bool required, char *dst, size_t cap) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v)
        return required ? bad(L, key, "missing required key") : QRUN_OK;
    if (!cJSON_IsString(v))
        return bad(L, key, "must be a string");
    if (strlen(v->valuestring) >= cap)
        return bad(L, key, "longer than %zu characters", cap - 1);
    snprintf(dst, cap, "%s", v->valuestring);
    return QRUN_OK;
}

static const cJSON *section_object(loader *L, const cJSON *root, const char *sec, qrun_status *s) {
    const cJSON *obj = cJSON_GetObjectItemCaseSensitive(root, sec);
    if (!obj)
        *s = bad(L, sec, "missing required section");
    else if (!cJSON_IsObject(obj))
        *s = bad(L, sec, "must be an object");
    return *s ? NULL : obj;
}

static qrun_status read_section(loader *L, const cJSON *root, const char *sec) {
    qrun_status s = QRUN_OK;
    const cJSON *obj = section_object(L, root, sec, &s);
    if (s)
        return s;
    const char *keys[N_FIELDS + 1];
    int n = 0;
    for (int k = 0; k < N_FIELDS; k++) {
        if (strcmp(k_fields[k].section, sec) == 0)
            keys[n++] = k_fields[k].key;
    }
    keys[n] = "sources";
    s = check_keys(L, obj, sec, keys, n + 1);
    for (int k = 0; k < N_FIELDS && !s; k++) {
        if (strcmp(k_fields[k].section, sec) == 0)
            s = read_field(L, obj, sec, &k_fields[k], L->hw);
    }
    return s ? s : read_sources(L, obj, sec, keys, n);
}

static qrun_status
read_accumulator(loader *L, const cJSON *obj, const char *path, hw_dtype_caps *caps) {
    char p[256];
    join(p, sizeof p, path, "accumulator");
    const cJSON *acc = cJSON_GetObjectItemCaseSensitive(obj, "accumulator");
    if (!acc)
        return bad(L, p, "missing required key");
    if (!cJSON_IsObject(acc))
        return bad(L, p, "must be an object {\"kind\": \"int\"|\"float\"|\"fixed\", \"bits\": N}");
    static const char *const keys[] = {"kind", "bits"};
    qrun_status s = check_keys(L, acc, p, keys, 2);
    if (s)
        return s;
    char q[256];
    join(q, sizeof q, p, "kind");
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(acc, "kind");
    if (!kind)
        return bad(L, q, "missing required key");
    for (int k = HW_ACC_INT; k <= HW_ACC_FIXED && cJSON_IsString(kind); k++) {
        if (strcmp(kind->valuestring, k_acc_kinds[k]) == 0)
            caps->acc_kind = (hw_acc_kind)k;
    }
    if (caps->acc_kind == HW_ACC_NONE)
        return bad(L, q, "must be \"int\", \"float\" or \"fixed\"");
    static const field_desc bits = DFLD("bits", F_INT, acc_bits, 4, 256, false, "bits");
    return read_field(L, acc, p, &bits, caps);
}

static qrun_status read_dtypes(loader *L, const cJSON *root) {
    qrun_status s = QRUN_OK;
    const cJSON *obj = section_object(L, root, "dtypes", &s);
    if (s)
        return s;
    if (!obj->child)
        return bad(L, "dtypes", "must list at least one datatype");
    const char *keys[N_DTYPE_FIELDS + 2];
    for (int k = 0; k < N_DTYPE_FIELDS; k++)
        keys[k] = k_dtype_fields[k].key;
    keys[N_DTYPE_FIELDS] = "accumulator";
    keys[N_DTYPE_FIELDS + 1] = "sources";
    for (const cJSON *c = obj->child; c && !s; c = c->next) {
        char p[256];
        join(p, sizeof p, "dtypes", c->string);
        qrun_dtype dt = hw_dtype_from_key(c->string);
        if (dt == QRUN_DTYPE_UNDEFINED || strcmp(hw_dtype_key(dt), c->string) != 0)
            return bad(L, p,
                       "unknown datatype (known: int8, uint8, fp8e4m3, fp8e4m3fnuz, "
                       "fp8e5m2, fp8e5m2fnuz, fp8e3m4, int16, int4, bf16, fp16)");
        hw_dtype_caps *caps = &L->hw->dtypes[dt];
        if (caps->present)
            return bad(L, p, "duplicate key");
        if (!cJSON_IsObject(c))
            return bad(L, p, "must be an object");
        s = check_keys(L, c, p, keys, N_DTYPE_FIELDS + 2);
        for (int k = 0; k < N_DTYPE_FIELDS && !s; k++)
            s = read_field(L, c, p, &k_dtype_fields[k], caps);
        if (!s)
            s = read_accumulator(L, c, p, caps);
        if (!s)
            s = read_sources(L, c, p, keys, N_DTYPE_FIELDS + 1);
        caps->present = true;
    }
    return s;
}

/* Checks that span parameters. */
static qrun_status check_consistency(loader *L) {
    const hw_config *hw = L->hw;
    if ((int64_t)hw->banks > (int64_t)hw->grid_rows * hw->grid_cols)
        return bad(L, "chip.banks", "%d banks do not fit a %d x %d grid", hw->banks, hw->grid_rows,
                   hw->grid_cols);
    if (hw->noc_ew_links > 0 && hw->noc_ew_gb_per_s <= 0)
        return bad(L, "noc.ew_gb_per_s", "must be > 0 when noc.ew_links > 0");
    if (hw->noc_ns_links > 0 && hw->noc_ns_gb_per_s <= 0)
        return bad(L, "noc.ns_gb_per_s", "must be > 0 when noc.ns_links > 0");
    if (hw->grid_cols > 1 && hw->noc_ew_links == 0)
        return bad(L, "noc.ew_links", "must be > 0 when the grid has more than one column");
    if (hw->grid_rows > 1 && hw->noc_ns_links == 0)
        return bad(L, "noc.ns_links", "must be > 0 when the grid has more than one row");
    if (hw->offchip_bytes > 0 && hw->offchip_gb_per_s <= 0)
        return bad(L, "offchip.gb_per_s", "must be > 0 when offchip.bytes > 0");
    if (hw->static_w > hw->max_w)
        return bad(L, "power.static_w", "%.10g W exceeds power.max_w (%.10g W)", hw->static_w,
                   hw->max_w);
    return QRUN_OK;
}

/* peak_tops is derived; accepted on input (so to_json output loads back) only if it agrees. */
static qrun_status check_peak_tops(loader *L, const cJSON *root) {
    const cJSON *pt = cJSON_GetObjectItemCaseSensitive(root, "peak_tops");
    if (!pt)
        return QRUN_OK;
    if (!cJSON_IsObject(pt))
        return bad(L, "peak_tops", "must be an object");
    for (const cJSON *c = pt->child; c; c = c->next) {
        char p[256];
        join(p, sizeof p, "peak_tops", c->string);
        qrun_dtype dt = hw_dtype_from_key(c->string);
        double want = 0;
        if (!hw_peak_tops(L->hw, dt, &want))
            return bad(L, p, "datatype not listed in dtypes");
        if (!cJSON_IsNumber(c))
            return bad(L, p, "must be a number");
        /* 0.1%: a hand-written figure rounded to 4 digits still passes, a stale one does not. */
        if (fabs(c->valuedouble - want) > 1e-3 * want)
            return bad(L, p, "%.10g does not match 2 x MACs/cycle x clock = %.10g", c->valuedouble,
                       want);
    }
    return QRUN_OK;
}

static qrun_status load_root(loader *L, const cJSON *root) {
    if (!cJSON_IsObject(root))
        return qrun_errf(L->err, QRUN_E_MODEL, "%s: the top level must be a JSON object", L->label);
    qrun_status s = check_keys(L, root, "", k_top_keys, N_TOP_KEYS);
    if (!s)
        s = read_string(L, root, "name", true, L->hw->name, sizeof L->hw->name);
    if (!s)
        s = read_string(L, root, "description", true, L->hw->description,
                        sizeof L->hw->description);
    if (!s)
        s = read_string(L, root, "notes", false, L->hw->notes, sizeof L->hw->notes);
    for (int k = 0; k < N_SECTIONS && !s; k++)
        s = read_section(L, root, k_sections[k]);
    if (!s)
        s = read_dtypes(L, root);
    if (!s)
        s = check_consistency(L);
    return s ? s : check_peak_tops(L, root);
}

static void line_col(const char *text, const char *at, int *line, int *col) {
    *line = 1;
    *col = 1;
    for (const char *p = text; p < at && *p; p++) {
        if (*p == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

qrun_status hw_config_parse(const char *json,
                            size_t len,
                            const char *label,
                            const qrun_allocator *a,
                            hw_config *out,
                            qrun_err *err) {
    memset(out, 0, sizeof *out);
    out->alloc = a;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, false);
    if (!root) {
        int line, col;
        line_col(json, end ? end : json, &line, &col);
        return qrun_errf(err, QRUN_E_MODEL, "%s:%d:%d: malformed JSON", label, line, col);
    }
    for (; end && (size_t)(end - json) < len && *end; end++) {
        if (*end != ' ' && *end != '\n' && *end != '\r' && *end != '\t') {
            int line, col;
            line_col(json, end, &line, &col);
            cJSON_Delete(root);
            return qrun_errf(err, QRUN_E_MODEL, "%s:%d:%d: text after the JSON object", label, line,
                             col);
        }
    }
    loader L = {label, a, out, err, 0};
    qrun_status s = load_root(&L, root);
    cJSON_Delete(root);
    if (s)
        hw_config_release(out);
    return s;
}

void hw_config_release(hw_config *hw) {
    for (int k = 0; k < hw->n_sources; k++) {
        qrun_free(hw->alloc, hw->sources[k].section);
        qrun_free(hw->alloc, hw->sources[k].field);
        qrun_free(hw->alloc, hw->sources[k].text);
    }
    if (hw->alloc)
        qrun_free(hw->alloc, hw->sources);
    hw->sources = NULL;
    hw->n_sources = 0;
}

/* A file is at most this big: a description is a few kilobytes. */
#define HW_FILE_MAX (1u << 20)

static qrun_status
load_file(const char *path, const qrun_allocator *a, hw_config *out, qrun_err *err) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return qrun_errf(err, QRUN_E_IO, "%s: cannot open: %s", path, strerror(errno));
    char *buf = qrun_malloc(a, HW_FILE_MAX + 1);
    if (!buf) {
        fclose(f);
        return qrun_errf(err, QRUN_E_NOMEM, "%s: out of memory", path);
    }
    size_t n = fread(buf, 1, HW_FILE_MAX + 1, f);
    bool read_error = ferror(f);
    fclose(f);
    qrun_status s = QRUN_OK;
    if (read_error)
        s = qrun_errf(err, QRUN_E_IO, "%s: read error", path);
    else if (n > HW_FILE_MAX)
        s = qrun_errf(err, QRUN_E_MODEL, "%s: larger than %u bytes; not a hardware description",
                      path, HW_FILE_MAX);
    if (!s) {
        buf[n] = '\0';
        s = hw_config_parse(buf, n, path, a, out, err);
    }
    qrun_free(a, buf);
    return s;
}

static bool is_regular_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

qrun_status
hw_config_load(const char *preset_or_file, const qrun_allocator *a, hw_config *out, qrun_err *err) {
    memset(out, 0, sizeof *out);
    if (!preset_or_file || !preset_or_file[0])
        return qrun_errf(err, QRUN_E_ARG, "no hardware preset or file given");
    for (int k = 0; k < qrun_hw_preset_blob_count; k++) {
        const hw_preset_blob *b = &qrun_hw_preset_blobs[k];
        if (strcmp(b->name, preset_or_file) == 0)
            return hw_config_parse(b->text, b->len, b->label, a, out, err);
    }
    /* A path: anything with a slash or a .json ending, or an existing file. */
    const char *dot = strrchr(preset_or_file, '.');
    bool looks_like_path = strchr(preset_or_file, '/') || (dot && strcmp(dot, ".json") == 0);
    if (looks_like_path || is_regular_file(preset_or_file))
        return load_file(preset_or_file, a, out, err);
    char names[256] = "";
    for (int k = 0; k < qrun_hw_preset_blob_count; k++) {
        size_t used = strlen(names);
        snprintf(names + used, sizeof names - used, "%s%s", k ? ", " : "",
                 qrun_hw_preset_blobs[k].name);
    }
    return qrun_errf(err, QRUN_E_ARG,
                     "unknown hardware preset '%s' (presets: %s; or give a path to a .json file)",
                     preset_or_file, names);
}

/* ---- JSON output --------------------------------------------------------- */

static bool add_field(cJSON *obj, const field_desc *f, const void *base) {
    const char *src = (const char *)base + f->offset;
    switch (f->type) {
    case F_INT:
        return cJSON_AddNumberToObject(obj, f->key, *(const int *)src) != NULL;
    case F_I64:
        return cJSON_AddNumberToObject(obj, f->key, (double)*(const int64_t *)src) != NULL;
    case F_F64:
        return cJSON_AddNumberToObject(obj, f->key, *(const double *)src) != NULL;
    case F_BOOL:
        return cJSON_AddBoolToObject(obj, f->key, *(const bool *)src) != NULL;
    }
    return false;
}

static bool add_sources(cJSON *obj, const hw_config *hw, const char *sec) {
    cJSON *src = NULL;
    for (int k = 0; k < hw->n_sources; k++) {
        if (strcmp(hw->sources[k].section, sec) != 0)
            continue;
        if (!src && !(src = cJSON_AddObjectToObject(obj, "sources")))
            return false;
        if (!cJSON_AddStringToObject(src, hw->sources[k].field, hw->sources[k].text))
            return false;
    }
    return true;
}

static bool add_dtype(cJSON *dtypes, const hw_config *hw, qrun_dtype dt) {
    const hw_dtype_caps *caps = &hw->dtypes[dt];
    cJSON *o = cJSON_AddObjectToObject(dtypes, hw_dtype_key(dt));
    bool ok = o != NULL;
    for (int k = 0; k < N_DTYPE_FIELDS && ok; k++)
        ok = add_field(o, &k_dtype_fields[k], caps);
    cJSON *acc = ok ? cJSON_AddObjectToObject(o, "accumulator") : NULL;
    ok = acc && cJSON_AddStringToObject(acc, "kind", k_acc_kinds[caps->acc_kind]) &&
         cJSON_AddNumberToObject(acc, "bits", caps->acc_bits);
    char sec[64];
    join(sec, sizeof sec, "dtypes", hw_dtype_key(dt));
    return ok && add_sources(o, hw, sec);
}

static cJSON *build_json(const hw_config *hw) {
    cJSON *root = cJSON_CreateObject();
    bool ok = root && cJSON_AddStringToObject(root, "name", hw->name) &&
              cJSON_AddStringToObject(root, "description", hw->description);
    if (ok && hw->notes[0])
        ok = cJSON_AddStringToObject(root, "notes", hw->notes) != NULL;
    for (int s = 0; s < N_SECTIONS && ok; s++) {
        cJSON *obj = cJSON_AddObjectToObject(root, k_sections[s]);
        ok = obj != NULL;
        for (int k = 0; k < N_FIELDS && ok; k++) {
            if (strcmp(k_fields[k].section, k_sections[s]) == 0)
                ok = add_field(obj, &k_fields[k], hw);
        }
        ok = ok && add_sources(obj, hw, k_sections[s]);
    }
    cJSON *dtypes = ok ? cJSON_AddObjectToObject(root, "dtypes") : NULL;
    cJSON *peak = dtypes ? cJSON_AddObjectToObject(root, "peak_tops") : NULL;
    ok = peak != NULL;
    for (int k = 0; k < N_DTYPE_KEYS && ok; k++) {
        double tops;
        if (!hw_peak_tops(hw, k_dtype_keys[k].dt, &tops))
            continue;
        ok = add_dtype(dtypes, hw, k_dtype_keys[k].dt) &&
             cJSON_AddNumberToObject(peak, k_dtype_keys[k].key, tops);
    }
    if (!ok) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

static qrun_status copy_out(const hw_config *hw, const char *text, char **out, qrun_err *err) {
    *out = qrun_strdup(hw->alloc, text);
    return *out ? QRUN_OK : qrun_errf(err, QRUN_E_NOMEM, "out of memory");
}

qrun_status hw_config_to_json(const hw_config *hw, char **out, qrun_err *err) {
    *out = NULL;
    cJSON *root = build_json(hw);
    char *text = root ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text)
        return qrun_errf(err, QRUN_E_NOMEM, "out of memory");
    qrun_status s = copy_out(hw, text, out, err);
    cJSON_free(text);
    return s;
}

/* ---- text output --------------------------------------------------------- */

typedef struct text_buf {
    const qrun_allocator *alloc;
    char *s;
    size_t len, cap;
    bool failed;
} text_buf;

static void tb_printf(text_buf *tb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tb_printf(text_buf *tb, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (tb->failed || n < 0 ||
        qrun_grow(tb->alloc, (void **)&tb->s, 1, &tb->cap, tb->len + (size_t)n + 1)) {
        tb->failed = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(tb->s + tb->len, tb->cap - tb->len, fmt, ap);
    va_end(ap);
    tb->len += (size_t)n;
}

static const char *source_of(const hw_config *hw, const char *sec, const char *field) {
    for (int k = 0; k < hw->n_sources; k++) {
        if (strcmp(hw->sources[k].section, sec) == 0 && strcmp(hw->sources[k].field, field) == 0)
            return hw->sources[k].text;
    }
    return NULL;
}

static void text_field(
    text_buf *tb, const hw_config *hw, const char *sec, const field_desc *f, const void *base) {
    const char *src = (const char *)base + f->offset;
    char path[128], val[64];
    join(path, sizeof path, sec, f->key);
    if (f->type == F_INT)
        snprintf(val, sizeof val, "%d", *(const int *)src);
    else if (f->type == F_I64)
        snprintf(val, sizeof val, "%lld", (long long)*(const int64_t *)src);
    else if (f->type == F_F64)
        snprintf(val, sizeof val, "%.6g", *(const double *)src);
    else
        snprintf(val, sizeof val, "%s", *(const bool *)src ? "true" : "false");
    tb_printf(tb, "  %-36s %14s %-14s", path, val, f->unit);
    const char *cite = source_of(hw, sec, f->key);
    tb_printf(tb, "%s%s\n", cite ? "  " : "", cite ? cite : "");
}

qrun_status hw_config_to_text(const hw_config *hw, char **out, qrun_err *err) {
    *out = NULL;
    text_buf tb = {hw->alloc, NULL, 0, 0, false};
    int64_t pes = hw_total_pes(hw);
    tb_printf(&tb, "%s: %s\n", hw->name, hw->description);
    tb_printf(&tb, "  %d banks (%d x %d grid) x %d PEs (%d rows x %d) = %lld PEs at %.6g MHz\n",
              hw->banks, hw->grid_rows, hw->grid_cols, hw->pe_rows * hw->pes_per_row, hw->pe_rows,
              hw->pes_per_row, (long long)pes, hw->clock_mhz);
    tb_printf(&tb, "  SRAM %.6g MB on chip (%lld bytes per bank)\n",
              (double)hw->sram_bytes * hw->banks / 1e6, (long long)hw->sram_bytes);
    tb_printf(&tb, "peak (2 x MACs/cycle x clock):\n");
    for (int k = 0; k < N_DTYPE_KEYS; k++) {
        double tops;
        const hw_dtype_caps *c = &hw->dtypes[k_dtype_keys[k].dt];
        if (hw_peak_tops(hw, k_dtype_keys[k].dt, &tops))
            tb_printf(&tb, "  %-12s %10.1f TOPS  (%g MAC/PE/cycle, %s%d accumulator, %g pJ/MAC)\n",
                      k_dtype_keys[k].key, tops, c->macs_per_pe_per_cycle, k_acc_kinds[c->acc_kind],
                      c->acc_bits, c->mac_pj);
    }
    tb_printf(&tb, "parameters:\n");
    for (int k = 0; k < N_FIELDS; k++)
        text_field(&tb, hw, k_fields[k].section, &k_fields[k], hw);
    for (int k = 0; k < N_DTYPE_KEYS; k++) {
        const hw_dtype_caps *c = &hw->dtypes[k_dtype_keys[k].dt];
        if (!c->present)
            continue;
        char sec[64];
        join(sec, sizeof sec, "dtypes", k_dtype_keys[k].key);
        for (int f = 0; f < N_DTYPE_FIELDS; f++)
            text_field(&tb, hw, sec, &k_dtype_fields[f], c);
        const char *cite = source_of(hw, sec, "accumulator");
        char path[128], val[32];
        join(path, sizeof path, sec, "accumulator");
        snprintf(val, sizeof val, "%s%d", k_acc_kinds[c->acc_kind], c->acc_bits);
        tb_printf(&tb, "  %-36s %14s %-14s%s%s\n", path, val, "", cite ? "  " : "",
                  cite ? cite : "");
    }
    if (hw->notes[0])
        tb_printf(&tb, "notes: %s\n", hw->notes);
    if (tb.failed) {
        qrun_free(hw->alloc, tb.s);
        return qrun_errf(err, QRUN_E_NOMEM, "out of memory");
    }
    *out = tb.s;
    return QRUN_OK;
}
