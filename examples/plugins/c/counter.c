// A pikoci resource type in C: a counter kept in a file.
//
// check reads the number in `source.file`, get writes a version's number to `DIR/count`, put adds
// one to the file. The functions implement what `wit-bindgen c` declares in
// resource_type_plugin.h; files are plain stdio, which the sandbox limits to granted directories.
// Every call runs in a fresh instance that is thrown away afterwards, so the arguments this code
// owns are not freed one by one.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resource_type_plugin.h"

typedef exports_pikoci_plugin_resource_type_plugin_error_t plugin_error_t;
typedef exports_pikoci_plugin_resource_type_version_t version_t;

#define ENOTCAPABLE_WASI 76 // WASI's "not granted": a path outside every preopened directory

static bool fail(plugin_error_t *err, uint8_t tag, const char *action, const char *path, const char *why) {
    char text[1024];
    if (tag == PIKOCI_PLUGIN_TYPES_PLUGIN_ERROR_CAPABILITY_DENIED) {
        snprintf(text, sizeof text, "%s %s", action, path);
    } else {
        snprintf(text, sizeof text, "cannot %s %s: %s", action, path, why);
    }
    err->tag = tag;
    resource_type_plugin_string_dup(&err->val.failed, text); // every case holds one string
    return false;
}

static bool io_error(plugin_error_t *err, const char *action, const char *path) {
    bool denied = errno == ENOTCAPABLE_WASI || errno == EACCES || errno == EPERM || errno == EROFS;
    return fail(err, denied ? PIKOCI_PLUGIN_TYPES_PLUGIN_ERROR_CAPABILITY_DENIED : PIKOCI_PLUGIN_TYPES_PLUGIN_ERROR_FAILED,
                action, path, strerror(errno));
}

// The string value of `"file"` in a JSON object; enough JSON for this plugin's one setting
// (escapes other than \" \\ \/ are refused).
static char *json_file_field(const resource_type_plugin_string_t *json) {
    char *text = strndup((const char *)json->ptr, json->len);
    char *p = strstr(text, "\"file\"");
    if (!p || !(p = strchr(p + 6, ':'))) return NULL;
    while (*++p == ' ') {}
    if (*p != '"') return NULL;
    char *out = text, *w = out;
    for (p++; *p && *p != '"'; p++) {
        if (*p == '\\') {
            p++;
            if (*p != '"' && *p != '\\' && *p != '/') return NULL;
        }
        *w++ = *p;
    }
    *w = '\0';
    return *p == '"' ? out : NULL;
}

static bool source_file(const resource_type_plugin_string_t *source, char **path, plugin_error_t *err) {
    *path = json_file_field(source);
    if (*path) return true;
    err->tag = PIKOCI_PLUGIN_TYPES_PLUGIN_ERROR_INVALID_CONFIG;
    resource_type_plugin_string_dup(&err->val.invalid_config, "source.file: expected the path of the counter file");
    return false;
}

static bool read_count(const char *path, unsigned long *count, plugin_error_t *err) {
    FILE *f = fopen(path, "r");
    if (!f) return io_error(err, "read", path);
    int n = fscanf(f, "%lu", count);
    fclose(f);
    return n == 1 ? true : fail(err, PIKOCI_PLUGIN_TYPES_PLUGIN_ERROR_FAILED, "read", path, "it does not hold a count");
}

static bool write_text(const char *path, const char *text, plugin_error_t *err) {
    FILE *f = fopen(path, "w");
    if (!f) return io_error(err, "write", path);
    bool ok = fputs(text, f) >= 0;
    return (fclose(f) == 0 && ok) ? true : io_error(err, "write", path);
}

static void count_version(version_t *v, unsigned long count) {
    char digits[24];
    snprintf(digits, sizeof digits, "%lu", count);
    v->fields.len = 1;
    v->fields.ptr = calloc(1, sizeof *v->fields.ptr);
    resource_type_plugin_string_dup(&v->fields.ptr[0].f0, "count");
    resource_type_plugin_string_dup(&v->fields.ptr[0].f1, digits);
}

bool exports_pikoci_plugin_resource_type_check(exports_pikoci_plugin_resource_type_config_t *source, version_t *maybe_last,
                                               exports_pikoci_plugin_resource_type_list_version_t *ret, plugin_error_t *err) {
    (void)maybe_last;
    char *path;
    unsigned long count;
    if (!source_file(source, &path, err) || !read_count(path, &count, err)) return false;
    ret->len = 1;
    ret->ptr = calloc(1, sizeof *ret->ptr);
    count_version(&ret->ptr[0], count);
    return true;
}

bool exports_pikoci_plugin_resource_type_get(exports_pikoci_plugin_resource_type_config_t *source, version_t *version,
                                             exports_pikoci_plugin_resource_type_config_t *params, resource_type_plugin_string_t *dir,
                                             exports_pikoci_plugin_resource_type_fetched_t *ret, plugin_error_t *err) {
    (void)source, (void)params;
    char *count = "0";
    for (size_t i = 0; i < version->fields.len; i++) {
        resource_type_plugin_tuple2_string_string_t *f = &version->fields.ptr[i];
        if (f->f0.len == 5 && memcmp(f->f0.ptr, "count", 5) == 0) count = strndup((const char *)f->f1.ptr, f->f1.len);
    }
    char path[4096];
    snprintf(path, sizeof path, "%.*s/count", (int)dir->len, (const char *)dir->ptr);
    if (!write_text(path, count, err)) return false;
    ret->version = *version; // ownership passes back to the host
    ret->metadata.len = 1;
    ret->metadata.ptr = calloc(1, sizeof *ret->metadata.ptr);
    resource_type_plugin_string_dup(&ret->metadata.ptr[0].name, "language");
    resource_type_plugin_string_dup(&ret->metadata.ptr[0].value, "c");
    return true;
}

bool exports_pikoci_plugin_resource_type_put(exports_pikoci_plugin_resource_type_config_t *source,
                                             exports_pikoci_plugin_resource_type_config_t *params, resource_type_plugin_string_t *dir,
                                             exports_pikoci_plugin_resource_type_fetched_t *ret, plugin_error_t *err) {
    (void)params, (void)dir;
    char *path, digits[24];
    unsigned long count;
    if (!source_file(source, &path, err) || !read_count(path, &count, err)) return false;
    snprintf(digits, sizeof digits, "%lu", count + 1);
    if (!write_text(path, digits, err)) return false;
    count_version(&ret->version, count + 1);
    ret->metadata.len = 0;
    ret->metadata.ptr = NULL;
    return true;
}
