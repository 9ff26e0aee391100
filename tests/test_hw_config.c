/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the accel_sim hardware description: the shipped presets load,
 * cite every value, and give the peak TOPS computed by hand and published;
 * the calibrated energy figures reproduce the power they were fitted to;
 * bad descriptions fail with the key path; JSON output loads back unchanged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "backends/accel_sim/hw_config.h"
#include "runtime/alloc.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static qrun_context *new_ctx(void) {
    qrun_context *ctx = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    return ctx;
}

static void assert_near_rel(double got, double want, double rel) {
    if (fabs(got - want) > rel * fabs(want))
        fail_msg("got %.10g, want %.10g (relative tolerance %g)", got, want, rel);
}

static double peak(qrun_hw *hw, const char *dtype) {
    double tops = -1;
    assert_int_equal(qrun_hw_peak_tops(hw, dtype, &tops), QRUN_OK);
    return tops;
}

/* ---- presets ------------------------------------------------------------- */

static void test_presets_listed_and_load(void **state) {
    (void)state;
    static const char *const want[] = {"edge_small", "runai200", "speedai240"};
    assert_int_equal(qrun_hw_preset_count(), 3);
    qrun_context *ctx = new_ctx();
    for (int i = 0; i < 3; i++) {
        assert_string_equal(qrun_hw_preset_name(i), want[i]);
        qrun_hw *hw = NULL;
        if (qrun_hw_load(ctx, want[i], &hw) != QRUN_OK)
            fail_msg("%s: %s", want[i], qrun_context_errmsg(ctx));
        assert_string_equal(qrun_hw_name(hw), want[i]);
        assert_true(strlen(qrun_hw_description(hw)) > 10);
        qrun_hw_free(hw);
    }
    assert_null(qrun_hw_preset_name(3));
    qrun_context_free(ctx);
}

/*
 * Peak = 2 x banks x PEs per bank x MACs per PE per cycle x clock, the
 * figures typed from the preset files; and the published peaks of
 * accelerator.md §1.1, §1.2 and §5.7.
 */
static void test_peak_tops(void **state) {
    (void)state;
    qrun_context *ctx = new_ctx();
    qrun_hw *hw = NULL;

    assert_int_equal(qrun_hw_load(ctx, "runai200", &hw), QRUN_OK);
    assert_near_rel(peak(hw, "int8"), 2.0 * 511 * 8 * 64 * 1 * 960e6 / 1e12, 1e-12);
    assert_near_rel(peak(hw, "int8"), 502.0, 1e-3); /* 502 TOPS INT8, Linley MPR / eeNews */
    assert_near_rel(peak(hw, "int16"), 2.0 * 511 * 512 * 0.25 * 960e6 / 1e12, 1e-12);
    double t = 0;
    assert_int_equal(qrun_hw_peak_tops(hw, "fp8e3m4", &t), QRUN_E_UNSUPPORTED);
    assert_non_null(strstr(qrun_context_errmsg(ctx), "fp8e3m4"));
    assert_int_equal(qrun_hw_peak_tops(hw, "fp9", &t), QRUN_E_ARG);
    assert_non_null(strstr(qrun_context_errmsg(ctx), "fp9"));
    qrun_hw_free(hw);

    assert_int_equal(qrun_hw_load(ctx, "speedai240", &hw), QRUN_OK);
    double fp8 = 2.0 * 729 * 8 * 64 * 2 * 1350e6 / 1e12;
    assert_near_rel(peak(hw, "fp8e3m4"), fp8, 1e-12);
    assert_near_rel(peak(hw, "fp8e4m3"), fp8, 1e-12);
    assert_near_rel(peak(hw, "fp8e3m4"), 2000.0, 0.01); /* 2 PFLOPS FP8, nextplatform; kdszm */
    assert_near_rel(peak(hw, "int8"), fp8 / 2, 1e-12);
    assert_near_rel(peak(hw, "bf16"), fp8 / 4, 1e-12);
    /* 30 TFLOPS/W at 66 W max (nextplatform; etn.fi): the peak over max_w. */
    hw_config cfg;
    qrun_err err;
    assert_int_equal(hw_config_load("speedai240", qrun_allocator_default(), &cfg, &err), QRUN_OK);
    assert_near_rel(2000.0 / cfg.max_w, 30.0, 0.02);
    hw_config_release(&cfg);
    qrun_hw_free(hw);

    assert_int_equal(qrun_hw_load(ctx, "edge_small", &hw), QRUN_OK);
    assert_near_rel(peak(hw, "int8"), 2.0 * 16 * 4 * 64 * 1 * 800e6 / 1e12, 1e-12);
    assert_near_rel(peak(hw, "int8"), 6.6, 0.01); /* 6.6 TOPS, accelerator.md §5.7 [derived] */
    assert_near_rel(peak(hw, "fp8e3m4"), peak(hw, "int8"), 1e-12);
    qrun_hw_free(hw);
    qrun_context_free(ctx);
}

/* The NoC links are per grid row (E/W) and column (N/S): that reproduces the published
 * aggregates of speedAI240, 1.5 TB/s E/W and 1.9 TB/s N/S (expye, accelerator.md §1.2). */
static void test_noc_aggregates(void **state) {
    (void)state;
    hw_config hw;
    qrun_err err;
    assert_int_equal(hw_config_load("speedai240", qrun_allocator_default(), &hw, &err), QRUN_OK);
    assert_near_rel(hw.grid_rows * hw.noc_ew_links * hw.noc_ew_gb_per_s, 1500.0, 0.01);
    assert_near_rel(hw.grid_cols * hw.noc_ns_links * hw.noc_ns_gb_per_s, 1900.0, 0.01);
    assert_near_rel(hw_noc_aggregate_gb_per_s(&hw), 27 * 8 * 7.0 + 27 * 70.0, 1e-12);
    hw_config_release(&hw);
}

/* Power at full MAC rate when each MAC reads 2 bytes of bank SRAM (accelerator.md §2.5). */
static double power_at(const hw_config *hw, qrun_dtype dt, double clock_mhz) {
    double macs_per_s =
        (double)hw_total_pes(hw) * hw->dtypes[dt].macs_per_pe_per_cycle * clock_mhz * 1e6;
    double pj = hw->dtypes[dt].mac_pj + 2 * hw->sram_read_pj_per_byte;
    return hw->static_w + macs_per_s * pj * 1e-12;
}

/* Each calibration stated in a preset's notes reproduces the figure it was fitted to. */
static void test_energy_calibrations(void **state) {
    (void)state;
    const qrun_allocator *a = qrun_allocator_default();
    qrun_err err;
    hw_config hw;
    assert_int_equal(hw_config_load("runai200", a, &hw, &err), QRUN_OK);
    /* Eco mode: 720 MHz, 377 TOPS, 47 W (Linley MPR). */
    assert_near_rel(power_at(&hw, QRUN_DTYPE_INT8, 720), 47.0, 0.01);
    assert_near_rel(2.0 * hw_total_pes(&hw) * 720e6 / 1e12, 377.0, 0.002);
    assert_true(power_at(&hw, QRUN_DTYPE_INT8, hw.clock_mhz) < hw.max_w);
    hw_config_release(&hw);

    assert_int_equal(hw_config_load("speedai240", a, &hw, &err), QRUN_OK);
    assert_near_rel(power_at(&hw, QRUN_DTYPE_FLOAT8E3M4, hw.clock_mhz), 66.0, 0.01);
    hw_config_release(&hw);

    assert_int_equal(hw_config_load("edge_small", a, &hw, &err), QRUN_OK);
    assert_near_rel(power_at(&hw, QRUN_DTYPE_INT8, hw.clock_mhz), 2.0, 0.01);
    hw_config_release(&hw);
}

static bool has_tag(const char *s) {
    static const char *const tags[] = {
        "sourced: ", "derived: ", "calibrated: ", "estimate: ", "design: "};
    for (size_t k = 0; k < sizeof tags / sizeof tags[0]; k++) {
        if (strncmp(s, tags[k], strlen(tags[k])) == 0)
            return true;
    }
    return false;
}

/* Every parameter of obj has a tagged citation in obj.sources. */
static void check_cited(const char *preset, const char *path, const cJSON *obj) {
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(obj, "sources");
    for (const cJSON *c = obj->child; c; c = c->next) {
        if (strcmp(c->string, "sources") == 0)
            continue;
        const cJSON *cite = src ? cJSON_GetObjectItemCaseSensitive(src, c->string) : NULL;
        if (!cJSON_IsString(cite) || !has_tag(cite->valuestring))
            fail_msg("%s: %s.%s has no tagged citation", preset, path, c->string);
    }
}

/* "Every preset value is either a sourced figure or a documented calibration (or labelled an
 * estimate/design choice)": checked on the JSON the library writes, so nothing is skipped. */
static void test_presets_cite_every_value(void **state) {
    (void)state;
    qrun_context *ctx = new_ctx();
    for (int i = 0; i < qrun_hw_preset_count(); i++) {
        const char *name = qrun_hw_preset_name(i);
        qrun_hw *hw = NULL;
        const char *json = NULL;
        assert_int_equal(qrun_hw_load(ctx, name, &hw), QRUN_OK);
        assert_int_equal(qrun_hw_to_json(hw, &json), QRUN_OK);
        cJSON *root = cJSON_Parse(json);
        assert_non_null(root);
        int sections = 0;
        for (const cJSON *c = root->child; c; c = c->next) {
            if (!cJSON_IsObject(c) || strcmp(c->string, "peak_tops") == 0)
                continue;
            if (strcmp(c->string, "dtypes") != 0) {
                check_cited(name, c->string, c);
                sections++;
                continue;
            }
            for (const cJSON *d = c->child; d; d = d->next)
                check_cited(name, d->string, d);
        }
        assert_int_equal(sections, 8);
        assert_true(strlen(cJSON_GetObjectItemCaseSensitive(root, "notes")->valuestring) > 40);
        cJSON_Delete(root);
        qrun_hw_free(hw);
    }
    qrun_context_free(ctx);
}

/* ---- validation ---------------------------------------------------------- */

/* The runai200 preset as a cJSON tree to break in one place. */
static cJSON *preset_tree(const char *name) {
    hw_config hw;
    qrun_err err;
    char *json = NULL;
    assert_int_equal(hw_config_load(name, qrun_allocator_default(), &hw, &err), QRUN_OK);
    assert_int_equal(hw_config_to_json(&hw, &json, &err), QRUN_OK);
    cJSON *root = cJSON_Parse(json);
    assert_non_null(root);
    qrun_free(qrun_allocator_default(), json);
    hw_config_release(&hw);
    return root;
}

static cJSON *item(cJSON *root, const char *a, const char *b) {
    cJSON *o = cJSON_GetObjectItemCaseSensitive(root, a);
    return b ? cJSON_GetObjectItemCaseSensitive(o, b) : o;
}

/* Parse text; expect status s and a message that starts with "bad.json" and contains want. */
static void expect_text_error(const char *text, qrun_status s, const char *want) {
    hw_config hw;
    qrun_err err = {{0}};
    qrun_status got =
        hw_config_parse(text, strlen(text), "bad.json", qrun_allocator_default(), &hw, &err);
    if (got != s || strncmp(err.msg, "bad.json", 8) != 0 || !strstr(err.msg, want))
        fail_msg("status %d (want %d), message '%s' (want '%s')", got, s, err.msg, want);
    assert_null(hw.sources);
}

static void expect_tree_error(cJSON *root, const char *want) {
    char *text = cJSON_Print(root);
    expect_text_error(text, QRUN_E_MODEL, want);
    cJSON_free(text);
    cJSON_Delete(root);
}

static void test_unknown_keys(void **state) {
    (void)state;
    cJSON *r = preset_tree("runai200");
    cJSON_AddNumberToObject(item(r, "energy", NULL), "sram_read_pj_per_bytes", 1);
    expect_tree_error(r, "energy.sram_read_pj_per_bytes: unknown key");

    r = preset_tree("runai200");
    cJSON_AddStringToObject(r, "vendor", "x");
    expect_tree_error(r, ": vendor: unknown key");

    r = preset_tree("runai200");
    cJSON_AddStringToObject(item(r, "noc", "sources"), "ew_link", "estimate: x");
    expect_tree_error(r, "noc.sources.ew_link: unknown key");

    r = preset_tree("runai200");
    cJSON_AddNumberToObject(item(item(r, "dtypes", NULL), "int8", "accumulator"), "signed", 1);
    expect_tree_error(r, "dtypes.int8.accumulator.signed: unknown key");

    r = preset_tree("runai200");
    cJSON_AddItemToObject(item(r, "dtypes", NULL), "fp8e9m9",
                          cJSON_Duplicate(item(r, "dtypes", "int8"), true));
    expect_tree_error(r, "dtypes.fp8e9m9: unknown datatype");

    r = preset_tree("runai200");
    cJSON_AddNumberToObject(item(r, "chip", NULL), "banks", 511); /* a second "banks" */
    expect_tree_error(r, "chip.banks: duplicate key");
}

static void test_wrong_types(void **state) {
    (void)state;
    cJSON *r = preset_tree("runai200");
    cJSON_ReplaceItemInObject(item(r, "chip", NULL), "banks", cJSON_CreateString("511"));
    expect_tree_error(r, "chip.banks: must be an integer in [1, 16777216], got a string");

    r = preset_tree("runai200");
    cJSON_ReplaceItemInObject(item(r, "bank", NULL), "zero_detect", cJSON_CreateNumber(1));
    expect_tree_error(r, "bank.zero_detect: must be true or false, got a number");

    r = preset_tree("runai200");
    cJSON_ReplaceItemInObject(r, "energy", cJSON_CreateArray());
    expect_tree_error(r, "energy: must be an object");

    r = preset_tree("runai200");
    cJSON_ReplaceItemInObject(item(r, "chip", NULL), "grid_rows", cJSON_CreateNumber(16.5));
    expect_tree_error(r, "chip.grid_rows: must be an integer in [1, 4096], got 16.5");

    r = preset_tree("runai200");
    cJSON_ReplaceItemInObject(item(item(r, "dtypes", NULL), "int8", "accumulator"), "kind",
                              cJSON_CreateString("double"));
    expect_tree_error(r, "dtypes.int8.accumulator.kind: must be \"int\", \"float\" or \"fixed\"");

    r = preset_tree("runai200");
    cJSON_ReplaceItemInObject(item(r, "noc", "sources"), "ew_links", cJSON_CreateNumber(8));
    expect_tree_error(r, "noc.sources.ew_links: must be a string");
}

static void test_out_of_range(void **state) {
    (void)state;
    cJSON *r = preset_tree("runai200");
    cJSON_ReplaceItemInObject(item(r, "energy", NULL), "sram_read_pj_per_byte",
                              cJSON_CreateNumber(0));
    expect_tree_error(r, "energy.sram_read_pj_per_byte: must be a number > 0");

    r = preset_tree("runai200");
    cJSON_ReplaceItemInObject(item(r, "chip", NULL), "clock_mhz", cJSON_CreateNumber(-960));
    expect_tree_error(r, "chip.clock_mhz: must be a number > 0 and <= 100000, got -960");

    r = preset_tree("runai200");
    cJSON_ReplaceItemInObject(item(item(r, "dtypes", NULL), "int8", NULL), "macs_per_pe_per_cycle",
                              cJSON_CreateNumber(0));
    expect_tree_error(r, "dtypes.int8.macs_per_pe_per_cycle: must be a number > 0");

    r = preset_tree("runai200");
    cJSON_ReplaceItemInObject(item(r, "chip", NULL), "banks", cJSON_CreateNumber(513));
    expect_tree_error(r, "chip.banks: 513 banks do not fit a 16 x 32 grid");

    r = preset_tree("speedai240");
    cJSON_ReplaceItemInObject(item(r, "offchip", NULL), "gb_per_s", cJSON_CreateNumber(0));
    expect_tree_error(r, "offchip.gb_per_s: must be > 0 when offchip.bytes > 0");

    r = preset_tree("runai200");
    cJSON_ReplaceItemInObject(item(r, "power", NULL), "static_w", cJSON_CreateNumber(101));
    expect_tree_error(r, "power.static_w: 101 W exceeds power.max_w");

    /* The calibrations: a share of the closed-form rate in (0, 1], non-negative overheads. */
    r = preset_tree("speedai240");
    cJSON_ReplaceItemInObject(item(r, "bank", NULL), "mapping_efficiency", cJSON_CreateNumber(0));
    expect_tree_error(r, "bank.mapping_efficiency: must be a number > 0 and <= 1, got 0");

    r = preset_tree("speedai240");
    cJSON_ReplaceItemInObject(item(r, "bank", NULL), "mapping_efficiency", cJSON_CreateNumber(1.5));
    expect_tree_error(r, "bank.mapping_efficiency: must be a number > 0 and <= 1, got 1.5");

    r = preset_tree("speedai240");
    cJSON_ReplaceItemInObject(item(r, "host", NULL), "launch_us", cJSON_CreateNumber(-5));
    expect_tree_error(r, "host.launch_us: must be a number in [0, 1000000], got -5");

    r = preset_tree("speedai240");
    cJSON_ReplaceItemInObject(item(r, "power", NULL), "board_w", cJSON_CreateNumber(-1));
    expect_tree_error(r, "power.board_w: must be a number in [0, 100000], got -1");

    /* peak_tops is derived: a stale figure is an error, not silently replaced. */
    r = preset_tree("runai200");
    cJSON_ReplaceItemInObject(item(r, "peak_tops", NULL), "int8", cJSON_CreateNumber(600));
    expect_tree_error(r, "peak_tops.int8: 600 does not match");
}

static void test_missing_keys(void **state) {
    (void)state;
    cJSON *r = preset_tree("runai200");
    cJSON_DeleteItemFromObject(item(r, "noc", NULL), "ns_links");
    expect_tree_error(r, "noc.ns_links: missing required key");

    r = preset_tree("runai200");
    cJSON_DeleteItemFromObject(r, "energy");
    expect_tree_error(r, "energy: missing required section");

    r = preset_tree("runai200");
    cJSON_DeleteItemFromObject(r, "name");
    expect_tree_error(r, "name: missing required key");

    r = preset_tree("runai200");
    cJSON_DeleteItemFromObject(item(item(r, "dtypes", NULL), "int8", NULL), "accumulator");
    expect_tree_error(r, "dtypes.int8.accumulator: missing required key");

    r = preset_tree("runai200");
    cJSON_ReplaceItemInObject(r, "dtypes", cJSON_CreateObject());
    expect_tree_error(r, "dtypes: must list at least one datatype");
}

static void test_malformed_json(void **state) {
    (void)state;
    expect_text_error("{\"name\": \"x\",\n  \"chip\": {,}}", QRUN_E_MODEL, "bad.json:2:");
    expect_text_error("", QRUN_E_MODEL, "malformed JSON");
    expect_text_error("[1, 2]", QRUN_E_MODEL, "top level must be a JSON object");
    expect_text_error("{} x", QRUN_E_MODEL, "bad.json:1:4: text after the JSON object");
}

/* ---- round trip, files --------------------------------------------------- */

static void test_json_round_trip(void **state) {
    (void)state;
    const qrun_allocator *a = qrun_allocator_default();
    for (int i = 0; i < hw_preset_count(); i++) {
        hw_config h1, h2;
        qrun_err err;
        char *j1 = NULL, *j2 = NULL;
        assert_int_equal(hw_config_load(hw_preset_name(i), a, &h1, &err), QRUN_OK);
        assert_int_equal(hw_config_to_json(&h1, &j1, &err), QRUN_OK);
        if (hw_config_parse(j1, strlen(j1), "roundtrip.json", a, &h2, &err) != QRUN_OK)
            fail_msg("%s", err.msg);
        assert_int_equal(hw_config_to_json(&h2, &j2, &err), QRUN_OK);
        assert_string_equal(j1, j2);
        /* Spot checks on the struct itself: doubles survive exactly. */
        assert_true(h1.clock_mhz == h2.clock_mhz);
        assert_true(h1.sram_read_pj_per_byte == h2.sram_read_pj_per_byte);
        assert_true(h1.offchip_bytes == h2.offchip_bytes);
        assert_int_equal(h1.n_sources, h2.n_sources);
        assert_string_equal(h1.notes, h2.notes);
        for (int t = 0; t < QRUN_DTYPE_COUNT; t++) {
            assert_int_equal(h1.dtypes[t].present, h2.dtypes[t].present);
            assert_true(h1.dtypes[t].mac_pj == h2.dtypes[t].mac_pj);
            assert_int_equal(h1.dtypes[t].acc_kind, h2.dtypes[t].acc_kind);
            assert_int_equal(h1.dtypes[t].acc_bits, h2.dtypes[t].acc_bits);
        }
        qrun_free(a, j1);
        qrun_free(a, j2);
        hw_config_release(&h1);
        hw_config_release(&h2);
    }
}

/* A description written to a file loads through the public API by path; errors name the file. */
static void test_load_file(void **state) {
    (void)state;
    qrun_context *ctx = new_ctx();
    qrun_hw *hw = NULL;
    const char *json = NULL;
    assert_int_equal(qrun_hw_load(ctx, "edge_small", &hw), QRUN_OK);
    assert_int_equal(qrun_hw_to_json(hw, &json), QRUN_OK);
    char path[] = "/tmp/qrun_hw_XXXXXX.json";
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    cJSON *root = cJSON_Parse(json);
    cJSON_ReplaceItemInObject(item(root, "chip", NULL), "clock_mhz", cJSON_CreateNumber(400));
    cJSON_DeleteItemFromObject(root, "peak_tops"); /* now stale; optional anyway */
    char *text = cJSON_Print(root);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    cJSON_free(text);
    cJSON_Delete(root);
    qrun_hw_free(hw);

    assert_int_equal(qrun_hw_load(ctx, path, &hw), QRUN_OK);
    assert_near_rel(peak(hw, "int8"), 2.0 * 16 * 256 * 400e6 / 1e12, 1e-12);
    qrun_hw_free(hw);

    f = fopen(path, "w");
    fputs("{\"name\": 1}", f);
    fclose(f);
    assert_int_equal(qrun_hw_load(ctx, path, &hw), QRUN_E_MODEL);
    assert_null(hw);
    assert_non_null(strstr(qrun_context_errmsg(ctx), path));
    assert_non_null(strstr(qrun_context_errmsg(ctx), "name: must be a string"));
    unlink(path);

    assert_int_equal(qrun_hw_load(ctx, path, &hw), QRUN_E_IO);
    assert_non_null(strstr(qrun_context_errmsg(ctx), path));
    assert_int_equal(qrun_hw_load(ctx, "runai300", &hw), QRUN_E_ARG);
    assert_non_null(strstr(qrun_context_errmsg(ctx), "unknown hardware preset 'runai300'"));
    qrun_context_free(ctx);
}

static void test_text_listing(void **state) {
    (void)state;
    qrun_context *ctx = new_ctx();
    qrun_hw *hw = NULL;
    const char *text = NULL;
    assert_int_equal(qrun_hw_load(ctx, "speedai240", &hw), QRUN_OK);
    assert_int_equal(qrun_hw_to_text(hw, &text), QRUN_OK);
    assert_non_null(strstr(text, "373248 PEs at 1350 MHz"));
    assert_non_null(strstr(text, "fp8e3m4"));
    assert_non_null(strstr(text, "2015.5 TOPS"));
    assert_non_null(strstr(text, "noc.ew_gb_per_s"));
    assert_non_null(strstr(text, "sourced: 7 GB/s"));
    qrun_hw_free(hw);
    qrun_context_free(ctx);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_presets_listed_and_load),
        cmocka_unit_test(test_peak_tops),
        cmocka_unit_test(test_noc_aggregates),
        cmocka_unit_test(test_energy_calibrations),
        cmocka_unit_test(test_presets_cite_every_value),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_out_of_range),
        cmocka_unit_test(test_missing_keys),
        cmocka_unit_test(test_malformed_json),
        cmocka_unit_test(test_json_round_trip),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_text_listing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
